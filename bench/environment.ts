import { cpus, platform, release, totalmem } from 'node:os';

/** Lines describing the machine and runtime, printed above every report. */
export function describeEnvironment(): string[] {
  const cores = cpus();
  const model = cores[0]?.model.trim() ?? 'unknown CPU';
  return [
    `- Node ${process.version} (V8 ${process.versions.v8}), ${platform()} ${release()}`,
    `- CPU: ${model} × ${cores.length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM`,
    `- Date: ${new Date().toISOString()}`,
  ];
}
