import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Payload } from '../core/message.js';
import { defaultSocketPath } from '../servers/socket/default-socket-path.js';
import { SocketClient } from '../servers/socket/socket-client.js';
import { errorCode } from '../servers/socket/socket-path.js';
import { CLI_USAGE } from './cli-usage.js';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A mistake in the command line, reported with a pointer to `--help`. */
class UsageError extends Error {}

interface Command {
  /** The arguments after the command name, for the usage message. */
  synopsis: string;
  required: number;
  optional?: number;
  run(client: SocketClient, args: string[], out: Writable): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  create: { synopsis: '', required: 0, run: (client, _args, out) => print(out, client.createChannel()) },
  subscribe: { synopsis: '<channel>', required: 1, run: (client, [c], out) => print(out, client.register(c!)) },
  broadcast: {
    synopsis: '<channel> <type> [payloadJson]',
    required: 2,
    optional: 1,
    run: (client, [c, type, payload], out) => print(out, client.broadcastMessage(c!, type!, parsePayload(payload))),
  },
  dispatch: {
    synopsis: '<channel> <listener> <type> [payloadJson]',
    required: 3,
    optional: 1,
    run: (client, [c, l, type, payload], out) => print(out, client.dispatch(c!, l!, type!, parsePayload(payload))),
  },
  listen: {
    synopsis: '<channel> <listener>',
    required: 2,
    run: (client, [c, l], out) => pipe(client.stream(c!, l!), out),
  },
  watch: { synopsis: '<channel>', required: 1, run: (client, [c], out) => pipe(client.watch(c!), out) },
  'rm-listener': {
    synopsis: '<channel> <listener>',
    required: 2,
    run: (client, [c, l], out) => print(out, client.removeListener(c!, l!)),
  },
  'rm-channel': { synopsis: '<channel>', required: 1, run: (client, [c], out) => print(out, client.removeChannel(c!)) },
};

/** Runs one `eric-sse` command line; resolves with the exit status. Errors are one line on stderr. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let path: string;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    if (values.help === true || positionals[0] === 'help') {
      io.stdout.write(CLI_USAGE);
      return EXIT_OK;
    }
    const [name, ...args] = positionals;
    if (name === undefined) throw new UsageError('no command given');
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (command === undefined) throw new UsageError(`unknown command '${name}'`);
    if (args.length < command.required || args.length > command.required + (command.optional ?? 0)) {
      throw new UsageError(`usage: eric-sse ${name} ${command.synopsis}`.trimEnd());
    }
    path = cliSocketPath(values.socket, io.env);
    if (path === '') throw new UsageError('--socket needs a path');
    await command.run(new SocketClient(path), args, io.stdout);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError || errorCode(error)?.startsWith('ERR_PARSE_ARGS') === true) {
      io.stderr.write(`eric-sse: ${oneLine((error as Error).message)} (see eric-sse --help)\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`eric-sse: ${describeFailure(error, path!)}\n`);
    return EXIT_FAILED;
  }
}

/** `--socket`, else `$SOCKET_PATH` (the variable the sample app reads), else `defaultSocketPath()`. */
export function cliSocketPath(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return option ?? (env.SOCKET_PATH || defaultSocketPath());
}

function parsePayload(text: string | undefined): Payload {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as Payload;
  } catch (error) {
    throw new UsageError(`payload is not valid JSON: ${(error as Error).message}`);
  }
}

async function print(out: Writable, answer: Promise<string>): Promise<void> {
  await write(out, `${await answer}\n`);
}

async function pipe(lines: AsyncIterable<string>, out: Writable): Promise<void> {
  for await (const line of lines) await write(out, `${line}\n`);
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

const CONNECTION_FAILURES: Record<string, string> = {
  ENOENT: 'no eric-sse server at',
  ECONNREFUSED: 'no eric-sse server listening at',
  EACCES: 'not allowed to connect to',
  ENOTSOCK: 'not a socket:',
};

function describeFailure(error: unknown, path: string): string {
  const code = errorCode(error);
  if (code !== undefined && Object.hasOwn(CONNECTION_FAILURES, code)) {
    return `${CONNECTION_FAILURES[code]} ${path} (${code})`;
  }
  if (!(error instanceof Error)) return oneLine(String(error));
  return oneLine(error.message === '' ? error.name : `${error.name}: ${error.message}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
