import type { Section } from './report.js';

/** One benchmark suite: `npm run bench -- <name>` runs it alone. */
export interface BenchSuite {
  name: string;
  /** One line saying what the suite measures, printed under its heading. */
  description: string;
  run(): Promise<Section[]>;
}
