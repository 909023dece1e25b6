import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Compiles src/cli/main.ts and what it imports, with the project's compiler options, into `outDir`, as
 * `npm run build` would into dist; returns the path of the compiled main.js.
 */
export async function compileCli(outDir: string): Promise<string> {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    { outDir, rootDir: ROOT, noEmit: false, declaration: false, sourceMap: false },
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]) },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram([join(ROOT, 'src/cli/main.ts')], config.options);
  const result = program.emit();
  const errors = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics].filter(
    (diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error,
  );
  if (errors.length > 0 || result.emitSkipped) fail(errors);
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return join(outDir, 'src/cli/main.js');
}

function fail(diagnostics: readonly ts.Diagnostic[]): never {
  throw new Error(
    ts.formatDiagnostics(diagnostics, {
      ...ts.sys,
      getCanonicalFileName: (f) => f,
      getNewLine: () => '\n',
      getCurrentDirectory: () => ROOT,
    }),
  );
}
