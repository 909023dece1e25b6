import { afterAll, beforeAll, describe, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import fc from 'fast-check';
import { startRestApp, type RestApp } from '../rest/support.js';
import { ChannelsModel, emptyContainer } from './support/channels-model.js';
import { agent } from './support/http-wire.js';
import { replay, TIME_BOUND } from './support/replay.js';
import { restCommands } from './support/rest-arbitraries.js';
import { NO_BODY } from './support/rest-bodies.js';
import { CreateChannel, Dispatch, Stream, Subscribe, type RestReal } from './support/rest-commands.js';

/** Records what the app logs as errors (the core's logger goes through Nest's while the module lives). */
function recordingLogger(errors: string[]): LoggerService {
  return {
    log: () => {},
    warn: () => {},
    debug: () => {},
    verbose: () => {},
    error: (message: unknown, ...rest: unknown[]) => errors.push([message, ...rest].map(String).join(' ')),
  };
}

/**
 * Random bodies, ids and paths at the REST endpoints of one real listening Nest app, checked against
 * the README's contract and a model of what the accepted calls should have left (fast-check model
 * runs: a failure shrinks to a short call list, printed with its seed for replay).
 */
describe('REST endpoints under fuzzing', () => {
  let app: RestApp;
  let real: RestReal;

  beforeAll(async () => {
    const loggedErrors: string[] = [];
    app = await startRestApp({ module: { rest: {} }, logger: recordingLogger(loggedErrors) });
    real = {
      origin: app.origin,
      base: new URL(app.baseUrl).pathname,
      container: app.container,
      bodyLimit: 65536,
      loggedErrors,
    };
  });

  afterAll(async () => {
    agent.destroy();
    await app?.close();
  });

  async function freshRun(): Promise<ChannelsModel> {
    await emptyContainer(real.container);
    real.loggedErrors.length = 0;
    return new ChannelsModel();
  }

  /** Every run starts from two channels with two listeners each, so that most calls hit something. */
  async function seededRun(): Promise<ChannelsModel> {
    const model = await freshRun();
    for (const known of [0, 1]) {
      await new CreateChannel(NO_BODY).run(model, real);
      for (let i = 0; i < 2; i++) await new Subscribe({ known }, NO_BODY).run(model, real);
    }
    return model;
  }

  it('answers every call with a documented 2xx or a JSON 4xx, within a deadline, and keeps the state the accepted calls made', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(restCommands(), { maxCommands: 60, size: 'max' }), async (commands) => {
        const model = await seededRun();
        await fc.asyncModelRun(() => ({ model, real }), commands);
      }),
      { numRuns: 80, ...TIME_BOUND, ...replay() },
    );
  }, 120_000);

  it('still serves a whole session after all of that', async () => {
    const model = await freshRun();
    await new CreateChannel(NO_BODY).run(model, real);
    await new Subscribe({ known: 0 }, NO_BODY).run(model, real);
    const body = {
      label: 'done',
      render: () => ({ bytes: Buffer.from('{"type":"done","payload":{"ok":true}}'), headers: {} }),
    };
    await new Dispatch({ known: 0 }, { known: 0 }, body).run(model, real);
    await new Stream({ known: 0 }, { known: 0 }).run(model, real);
  });
});
