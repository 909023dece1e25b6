import { InvalidConfigurationException } from '../core/errors.js';
import { resolveBound, resolveOverflowPolicy, type QueueOverflowPolicy } from '../core/limits.js';
import { assertNonNegativeNumber } from '../core/validate.js';

/** The module's per-listener queue bound unless `limits.maxQueueSize` says otherwise. */
export const DEFAULT_MAX_QUEUE_SIZE = 10_000;

/** The module option `limits`: every bound is optional; 0 means none. */
export interface EricSseLimitsOptions {
  /**
   * Most messages one listener's queue holds. Default 10,000 (0: unbounded). Applies to the module's own
   * connections factory (in memory or Redis), not to a `connectionsFactory` you give.
   */
  maxQueueSize?: number;
  /**
   * What a full queue does: `'drop-oldest'` (default) discards its oldest message; `'reject'` refuses the
   * new one with `QueueFullException` (a broadcast then queues for nobody).
   */
  queueOverflow?: QueueOverflowPolicy;
  /** Most listeners per channel (`TooManyListenersException`). Default 0: no limit. */
  maxListenersPerChannel?: number;
  /** Most channels (`TooManyChannelsException`), the configured and `@OnMessage` ones included. Default 0: no limit. */
  maxChannels?: number;
  /** Largest message payload, in bytes of its JSON encoding (`MessageTooLargeException`). Default 0: no limit. */
  maxPayloadBytes?: number;
  /**
   * Listeners nobody has streamed for this long (ms) are removed with their queues; checked every half of
   * it by one timer. Default 0: never.
   */
  idleListenerTimeoutMilliseconds?: number;
}

/** `limits` validated, with defaults; `Infinity` where there is no bound. */
export interface ResolvedEricSseLimits {
  maxQueueSize: number;
  queueOverflow: QueueOverflowPolicy;
  maxListenersPerChannel: number;
  maxChannels: number;
  maxPayloadBytes: number;
  idleListenerTimeoutMilliseconds: number;
}

const LIMIT_KEYS = [
  'maxQueueSize',
  'queueOverflow',
  'maxListenersPerChannel',
  'maxChannels',
  'maxPayloadBytes',
  'idleListenerTimeoutMilliseconds',
];

/**
 * Validates `limits`; throws `InvalidConfigurationException` naming the bad option. `channelCount` is how
 * many channels the module makes at start (configured plus the `@OnMessage` one), which `maxChannels` must allow.
 */
export function resolveLimits(
  limits: unknown,
  context: { channelCount: number; customConnectionsFactory: boolean },
): ResolvedEricSseLimits {
  if (limits === undefined) limits = {};
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    throw new InvalidConfigurationException(`limits must be an object, got ${JSON.stringify(limits)}`);
  }
  const given = limits as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!LIMIT_KEYS.includes(key)) {
      throw new InvalidConfigurationException(
        `limits.${key} is not an option (known: ${LIMIT_KEYS.map((k) => `limits.${k}`).join(', ')})`,
      );
    }
  }
  if (context.customConnectionsFactory && (given.maxQueueSize !== undefined || given.queueOverflow !== undefined)) {
    throw new InvalidConfigurationException(
      'limits.maxQueueSize and limits.queueOverflow bound the queues the module makes: ' +
        'with connectionsFactory, give the bounds to your factory (e.g. new InMemoryConnectionsFactory({ maxSize, overflow }))',
    );
  }
  const resolved: ResolvedEricSseLimits = {
    maxQueueSize: resolveBound(given.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE, 'limits.maxQueueSize'),
    queueOverflow: resolveOverflowPolicy(given.queueOverflow, 'limits.queueOverflow'),
    maxListenersPerChannel: resolveBound(given.maxListenersPerChannel, 'limits.maxListenersPerChannel'),
    maxChannels: resolveBound(given.maxChannels, 'limits.maxChannels'),
    maxPayloadBytes: resolveBound(given.maxPayloadBytes, 'limits.maxPayloadBytes'),
    idleListenerTimeoutMilliseconds: assertNonNegativeNumber(
      given.idleListenerTimeoutMilliseconds ?? 0,
      'limits.idleListenerTimeoutMilliseconds',
    ),
  };
  if (resolved.maxChannels < context.channelCount) {
    throw new InvalidConfigurationException(
      `limits.maxChannels (${resolved.maxChannels}) is less than the ${context.channelCount} channels the module makes at start (channels and the @OnMessage channel)`,
    );
  }
  return resolved;
}
