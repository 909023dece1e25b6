import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setEricLogger, SocketServer } from '../../src/index.js';
import { ChannelsModel, emptyContainer } from './support/channels-model.js';
import { ANSWER_DEADLINE_MS, withDeadline } from './support/deadline.js';
import { junk, socketCommands } from './support/socket-arbitraries.js';
import { CreateChannel, Dispatch, Listen, Register, type SocketReal } from './support/socket-commands.js';
import { ourErrorName } from './support/our-errors.js';
import { replay, TIME_BOUND } from './support/replay.js';
import { exchange } from './support/socket-wire.js';

const IDLE_TIMEOUT_MS = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Thousands of random, mutated and valid commands against one real `SocketServer` on a real Unix
 * socket, checked against a model of what the accepted commands should have left (fast-check model
 * runs: a failure shrinks to a short command list, printed with its seed for replay).
 */
describe('socket protocol under fuzzing', () => {
  let dir: string;
  let server: SocketServer;
  let real: SocketReal;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eric-fuzz-'));
    const loggedErrors: string[] = [];
    setEricLogger({
      debug: () => {},
      error: (message, error) => loggedErrors.push(`${message}: ${String((error as Error)?.stack ?? error)}`),
    });
    // A 5 ms probe notices a client that left an idle stream quickly, so each stream command ends fast.
    server = await SocketServer.start(join(dir, 'eric.sock'), {
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      streamProbeIntervalMs: 5,
    });
    real = { path: server.path, container: server.container, maxCommandBytes: 1024 * 1024, loggedErrors };
  });

  afterAll(async () => {
    await server?.shutdown();
    setEricLogger();
    await rm(dir, { recursive: true, force: true });
  });

  async function freshRun(): Promise<ChannelsModel> {
    await emptyContainer(real.container);
    real.loggedErrors.length = 0;
    return new ChannelsModel();
  }

  /** Every run starts from two channels with two listeners each, so that most commands hit something. */
  async function seededRun(): Promise<ChannelsModel> {
    const model = await freshRun();
    for (const known of [0, 1]) {
      await new CreateChannel('json').run(model, real);
      for (let i = 0; i < 2; i++) await new Register({ known }, 'json').run(model, real);
    }
    return model;
  }

  it('answers every command with ack, an id, a stream or a named error, within a deadline, and keeps the state the accepted commands made', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(socketCommands(), { maxCommands: 80, size: 'max' }), async (commands) => {
        const model = await seededRun();
        await fc.asyncModelRun(() => ({ model, real }), commands);
      }),
      { numRuns: 80, ...TIME_BOUND, ...replay() },
    );
  }, 120_000);

  it('answers bursts of concurrent junk connections, all of them, and stays consistent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(junk, { minLength: 50, maxLength: 200 }), async (junks) => {
        const model = await seededRun();
        // Stream commands would stay open; a junk never names a listener that a concurrent one creates.
        const sent = junks.map((j) => j.render(model)).filter((bytes) => !isStreamCommandFor(bytes, real));
        // Settle every exchange before judging, so that no connection outlives this run into the next.
        const outcomes = await Promise.allSettled(sent.map((bytes, i) => exchange(real.path, bytes, `junk #${i}`)));
        const unanswered = outcomes.filter((outcome) => outcome.status === 'rejected');
        expect(unanswered.map((outcome) => String(outcome.reason))).toEqual([]);
        const odd = outcomes
          .map((outcome) => (outcome as PromiseFulfilledResult<string>).value)
          .filter((answer) => answer !== 'ack' && !UUID.test(answer) && ourErrorName(answer) === undefined);
        expect(odd).toEqual([]);
        expect(real.loggedErrors).toEqual([]);
        model.resyncFrom(real.container);
        await new Dispatch({ known: 0 }, { known: 0 }, { type: 'after', payload: 1 }, 'json').run(model, real);
        await new Listen({ known: 0 }, { known: 0 }, 'python').run(model, real);
      }),
      { numRuns: 6 },
    );
  }, 120_000);

  it('answers a client that never half-closes, after the idle timeout, and closes it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 20 }),
        async (prefixes) => {
          const answers = await Promise.all(
            prefixes.map((bytes) => sendWithoutHalfClose(real.path, Buffer.from(bytes))),
          );
          for (const answer of answers) {
            expect(answer).toBe(`InvalidMessageFormat('No complete command within ${IDLE_TIMEOUT_MS} ms')`);
          }
        },
      ),
      { numRuns: 3 },
    );
  }, 60_000);

  it('still serves a whole session after all of that', async () => {
    const model = await freshRun();
    await new CreateChannel('python').run(model, real);
    await new Register({ known: 0 }, 'python').run(model, real);
    await new Dispatch({ known: 0 }, { known: 0 }, { type: 'done', payload: { ok: true } }, 'python').run(model, real);
    expect(model.queued(model.channelIds[0], model.listenerIds(model.channelIds[0])[0])).toHaveLength(1);
    await new Listen({ known: 0 }, { known: 0 }, 'python').run(model, real);
  });
});

function isStreamCommandFor(bytes: Buffer, real: SocketReal): boolean {
  try {
    const { v, c } = JSON.parse(bytes.toString('utf8')) as { v?: unknown; c?: unknown };
    return (v === 'l' || v === 'w') && typeof c === 'string' && real.container.has(c);
  } catch {
    return false;
  }
}

/** Writes `bytes` and never half-closes: the server must answer once the idle timeout passes. */
function sendWithoutHalfClose(path: string, bytes: Buffer): Promise<string> {
  const socket = createConnection(path);
  const answer = new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  socket.write(bytes);
  return withDeadline(
    answer,
    'a command without half-close',
    () => socket.destroy(),
    IDLE_TIMEOUT_MS + ANSWER_DEADLINE_MS,
  );
}
