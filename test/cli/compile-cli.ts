import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileTo } from '../support/compile-entry.js';

/**
 * Compiles src/cli/main.ts and what it imports into `outDir` (marked as ESM, as the package is), as
 * `npm run build` would into dist; returns the path of the compiled main.js.
 */
export async function compileCli(outDir: string): Promise<string> {
  const main = compileTo('src/cli/main.ts', outDir);
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return main;
}
