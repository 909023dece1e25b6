import { describe, expect, it } from '@jest/globals';
import { EricSseModule, InMemoryConnectionsFactory, InvalidConfigurationException } from '../../src/index.js';
import { resolveEricSseOptions, resolveModuleStructure } from '../../src/nest/resolve-options.js';
import { bootstrapError } from '../nest/support.js';

const structure = resolveModuleStructure({});

function resolveLimitsOf(options: Record<string, unknown>): unknown {
  return resolveEricSseOptions(options, structure).limits;
}

describe('module option limits', () => {
  it('fills in the defaults: queues of 10,000 dropping the oldest, everything else off', () => {
    expect(resolveLimitsOf({})).toEqual({
      maxQueueSize: 10_000,
      queueOverflow: 'drop-oldest',
      maxListenersPerChannel: Infinity,
      maxChannels: Infinity,
      maxPayloadBytes: Infinity,
      idleListenerTimeoutMilliseconds: 0,
    });
  });

  it('takes every bound, 0 meaning none', () => {
    expect(
      resolveLimitsOf({
        limits: {
          maxQueueSize: 0,
          queueOverflow: 'reject',
          maxListenersPerChannel: 5,
          maxChannels: 3,
          maxPayloadBytes: 1024,
          idleListenerTimeoutMilliseconds: 60_000,
        },
      }),
    ).toEqual({
      maxQueueSize: Infinity,
      queueOverflow: 'reject',
      maxListenersPerChannel: 5,
      maxChannels: 3,
      maxPayloadBytes: 1024,
      idleListenerTimeoutMilliseconds: 60_000,
    });
  });

  it.each([
    [{ limits: 'tight' }, 'limits must be an object, got "tight"'],
    [{ limits: { maxQueue: 1 } }, 'limits.maxQueue is not an option (known: limits.maxQueueSize,'],
    [{ limits: { maxQueueSize: -1 } }, 'limits.maxQueueSize must be an integer >= 0 (0: no limit), got -1'],
    [
      { limits: { queueOverflow: 'block' } },
      `limits.queueOverflow must be one of 'drop-oldest', 'reject', got "block"`,
    ],
    [{ limits: { maxListenersPerChannel: 1.5 } }, 'limits.maxListenersPerChannel must be an integer >= 0'],
    [{ limits: { maxPayloadBytes: '1kb' } }, 'limits.maxPayloadBytes must be an integer >= 0 (0: no limit), got "1kb"'],
    [{ limits: { idleListenerTimeoutMilliseconds: -5 } }, 'limits.idleListenerTimeoutMilliseconds must be a finite'],
    [
      { channels: [{ id: 'a' }, { id: 'b' }], limits: { maxChannels: 2 } },
      'limits.maxChannels (2) is less than the 3 channels the module makes at start',
    ],
    [
      { connectionsFactory: new InMemoryConnectionsFactory(), limits: { maxQueueSize: 5 } },
      'with connectionsFactory, give the bounds to your factory',
    ],
  ])('refuses %j with InvalidConfigurationException naming the option', (options, message) => {
    expect(() => resolveLimitsOf(options)).toThrow(InvalidConfigurationException);
    expect(() => resolveLimitsOf(options)).toThrow(message);
  });

  it('counts the @OnMessage channel once when it is among the configured channels', () => {
    expect(resolveLimitsOf({ channels: [{ id: 'eric' }, { id: 'b' }], limits: { maxChannels: 2 } })).toMatchObject({
      maxChannels: 2,
    });
  });

  it('fails the bootstrap with the bad limit', async () => {
    const error = await bootstrapError({ imports: [EricSseModule.forRoot({ limits: { maxChannels: -1 } })] });
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect(error.message).toContain('limits.maxChannels must be an integer >= 0');
  });
});
