import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Compiles `source` (relative to the project) and what it imports, with the project's compiler options,
 * into `outDir`, as `npm run build` would into dist. Returns the path of the compiled entry.
 */
export function compileTo(source: string, outDir: string): string {
  const path = join(ROOT, source);
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    { outDir, rootDir: ROOT, noEmit: false, declaration: false, sourceMap: false },
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]) },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram([path], config.options);
  const result = program.emit();
  const errors = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics].filter(
    (diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error,
  );
  if (errors.length > 0 || result.emitSkipped) fail(errors);
  return join(outDir, relative(ROOT, path)).replace(/\.ts$/, '.js');
}

/**
 * Compiles `source` into a fresh dir under `.build/` (inside the project, so that the compiled files find
 * `node_modules`). Returns the compiled entry and a function that removes the dir.
 */
export async function compileEntry(source: string): Promise<{ entry: string; remove: () => Promise<void> }> {
  // `.build/` is not in the repository: a clean clone has none until something makes it.
  await mkdir(join(ROOT, '.build'), { recursive: true });
  const outDir = await mkdtemp(join(ROOT, '.build', 'e2e-'));
  const remove = () => rm(outDir, { recursive: true, force: true });
  try {
    return { entry: compileTo(source, outDir), remove };
  } catch (error) {
    await remove();
    throw error;
  }
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
