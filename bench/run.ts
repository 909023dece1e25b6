/**
 * `npm run bench [-- suite...]`: runs the named suites (all by default) one after another and prints a
 * markdown report on stdout; progress goes to stderr. A new suite is one file exporting a `BenchSuite`,
 * added to `SUITES` below.
 */
import { describeEnvironment } from './environment.js';
import { fanout } from './fanout/suite.js';
import { idle } from './idle/suite.js';
import { inProcess } from './in-process.js';
import { redis } from './redis/suite.js';
import { progress, renderSection } from './report.js';
import { socket } from './socket.js';
import type { BenchSuite } from './suite.js';

const SUITES: BenchSuite[] = [inProcess, fanout, socket, idle, redis];

async function main(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log('Usage: npm run bench [-- <suite>...]\n\nSuites:');
    for (const suite of SUITES) console.log(`  ${suite.name.padEnd(12)} ${suite.description}`);
    return;
  }
  const unknown = args.filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    console.error(`Unknown bench suite: ${unknown.join(', ')}. Available: ${SUITES.map((s) => s.name).join(', ')}`);
    process.exitCode = 1;
    return;
  }
  const suites = args.length === 0 ? SUITES : SUITES.filter((suite) => args.includes(suite.name));
  console.log(
    [
      '## Benchmarks',
      '',
      ...describeEnvironment(),
      '',
      'Absolute figures are noisy (they move with the machine and its other load); the ratios against the baseline',
      'measured in the same run are the point. Each figure is a median over several rounds run after warm-up rounds;',
      'ours and the baseline take turns within a round, and a ratio is the median of the per-round ratios.',
      '',
    ].join('\n'),
  );
  for (const suite of suites) {
    const started = performance.now();
    progress(`suite ${suite.name}`);
    const sections = await suite.run();
    console.log(`### Suite \`${suite.name}\`\n\n${suite.description}\n`);
    for (const section of sections) console.log(`${renderSection(section)}\n`);
    progress(`suite ${suite.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

await main(process.argv.slice(2));
