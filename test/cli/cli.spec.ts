import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliSocketPath } from '../../src/cli/run-cli.js';
import { defaultSocketPath } from '../../src/servers/socket/index.js';
import { tempSocketDir, until, UUID } from '../servers/socket/support.js';
import { startTransportApp, type TransportApp } from '../transport/support.js';

let buildDir: string;
let cli: string;
let dir: Awaited<ReturnType<typeof tempSocketDir>>;
let server: TransportApp;
let socket: string;

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'eric-cli-build-'));
  const { compileCli } = await import('./compile-cli.js');
  cli = await compileCli(buildDir);
}, 120_000);

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await tempSocketDir();
  socket = dir.path();
  server = await startTransportApp({ path: socket });
});

afterEach(async () => {
  await server.app.close();
  await dir.remove();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI to its end. */
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
    );
  });
}

/** Starts the CLI and hands out its stdout line by line. */
function start(args: string[]): {
  child: ChildProcess;
  nextLine: () => Promise<string>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, nextLine: async () => (await lines.next()).value as string, exited };
}

describe('eric-sse CLI (the compiled bin, as a child process)', () => {
  it('the package bin is dist/cli/main.js, and the compiled file starts with a node shebang', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ 'eric-sse': 'dist/cli/main.js' });
    expect((await readFile(cli, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('create, subscribe, broadcast, dispatch, rm-listener, rm-channel print what the server answered', async () => {
    const created = await run(['create', '--socket', socket]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const channelId = created.stdout.trim();
    expect(channelId).toMatch(UUID);
    expect(created.stdout).toBe(`${channelId}\n`);

    const subscribed = await run(['subscribe', channelId, `--socket=${socket}`]);
    const listenerId = subscribed.stdout.trim();
    expect(listenerId).toMatch(UUID);
    expect(server.container.get(channelId).hasListener(listenerId)).toBe(true);

    expect(await run(['broadcast', channelId, 'news', '{"text": "hi"}', '--socket', socket])).toEqual({
      code: 0,
      stdout: 'ack\n',
      stderr: '',
    });
    expect((await run(['dispatch', channelId, listenerId, 'ping', '--socket', socket])).stdout).toBe('ack\n');
    expect((await run(['rm-listener', channelId, listenerId, '--socket', socket])).stdout).toBe('ack\n');
    expect(server.container.get(channelId).hasListener(listenerId)).toBe(false);
    expect((await run(['rm-channel', channelId, '--socket', socket])).stdout).toBe('ack\n');
    expect(server.container.has(channelId)).toBe(false);
  });

  it('listen prints one JSON line per event and exits 0 when the listener is removed', async () => {
    const channelId = (await run(['create', '--socket', socket])).stdout.trim();
    const listenerId = (await run(['subscribe', channelId, '--socket', socket])).stdout.trim();
    await run(['broadcast', channelId, 'news', '{"text": "queued"}', '--socket', socket]);
    const listening = start(['listen', channelId, listenerId, '--socket', socket]);
    expect(await listening.nextLine()).toBe('{"event": "news", "retry": 5, "data": {"text": "queued"}}');
    await run(['dispatch', channelId, listenerId, 'count', '3', '--socket', socket]);
    expect(await listening.nextLine()).toBe('{"event": "count", "retry": 5, "data": 3}');
    await run(['rm-listener', channelId, listenerId, '--socket', socket]);
    expect(await listening.exited).toBe(0);
  });

  it('watch streams on a listener of its own, which the server removes when the CLI is stopped', async () => {
    const channelId = (await run(['create', '--socket', socket])).stdout.trim();
    const channel = server.container.get(channelId);
    const watching = start(['watch', channelId, '--socket', socket]);
    await until(() => channel.getConnections().length === 1, 'the watch listener');
    await run(['broadcast', channelId, 'news', '"hello"', '--socket', socket]);
    expect(await watching.nextLine()).toBe('{"event": "news", "retry": 5, "data": "hello"}');
    watching.child.kill('SIGINT');
    await watching.exited;
    await until(() => channel.getConnections().length === 0, 'the watch listener to be removed');
  });

  it('uses $SOCKET_PATH when no --socket is given', async () => {
    const created = await run(['create'], { SOCKET_PATH: socket });
    expect(created.code).toBe(0);
    expect(server.container.has(created.stdout.trim())).toBe(true);
  });

  it('--help prints the usage and exits 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: eric-sse <command>/);
    for (const command of [
      'create',
      'subscribe',
      'broadcast',
      'dispatch',
      'listen',
      'watch',
      'rm-listener',
      'rm-channel',
    ]) {
      expect(help.stdout).toContain(`  ${command}`);
    }
    expect((await run(['-h'])).stdout).toBe(help.stdout);
  });

  const usageErrors: [string, string[], string][] = [
    ['no command', [], 'eric-sse: no command given (see eric-sse --help)\n'],
    ['an unknown command', ['frobnicate'], "eric-sse: unknown command 'frobnicate' (see eric-sse --help)\n"],
    [
      'missing arguments',
      ['broadcast', 'c'],
      'eric-sse: usage: eric-sse broadcast <channel> <type> [payloadJson] (see eric-sse --help)\n',
    ],
    ['too many arguments', ['create', 'extra'], 'eric-sse: usage: eric-sse create (see eric-sse --help)\n'],
    ['a payload that is not JSON', ['broadcast', 'c', 't', '{oops'], 'eric-sse: payload is not valid JSON: '],
    ['an unknown option', ['create', '--verbose'], "eric-sse: Unknown option '--verbose'"],
    ['--socket without a path', ['create', '--socket'], "eric-sse: Option '--socket <value>' argument missing"],
  ];

  it.each(usageErrors)('%s: exit 2, one line on stderr', async (_what, args, message) => {
    const result = await run([...args]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(message)).toBe(true);
    expect(result.stderr.split('\n')).toHaveLength(2);
  });

  it('an error the server answers: exit 1 with its class and message on one line', async () => {
    const result = await run(['broadcast', 'nope', 'news', '--socket', socket]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'eric-sse: InvalidChannelException: No channel with id nope\n',
    });
    const channelId = (await run(['create', '--socket', socket])).stdout.trim();
    const listen = await run(['listen', channelId, 'nobody', '--socket', socket]);
    expect(listen.code).toBe(1);
    expect(listen.stderr).toMatch(/^eric-sse: InvalidListenerException: .*nobody.*\n$/);
  });

  it('no server at the path: exit 1 naming the path', async () => {
    const missing = dir.path('nobody.sock');
    expect(await run(['create', '--socket', missing])).toEqual({
      code: 1,
      stdout: '',
      stderr: `eric-sse: no eric-sse server at ${missing} (ENOENT)\n`,
    });
    const listen = await run(['watch', 'c', '--socket', missing]);
    expect(listen).toMatchObject({ code: 1, stderr: `eric-sse: no eric-sse server at ${missing} (ENOENT)\n` });
  });
});

describe('cliSocketPath', () => {
  it('is --socket, else $SOCKET_PATH, else defaultSocketPath()', () => {
    expect(cliSocketPath('/a.sock', { SOCKET_PATH: '/b.sock' })).toBe('/a.sock');
    expect(cliSocketPath(undefined, { SOCKET_PATH: '/b.sock' })).toBe('/b.sock');
    expect(cliSocketPath(undefined, { SOCKET_PATH: '' })).toBe(defaultSocketPath());
    expect(cliSocketPath(undefined, {})).toBe(defaultSocketPath());
    expect(defaultSocketPath()).toBe(join(tmpdir(), 'eric-sse.sock'));
  });
});
