import type { CanActivate, FactoryProvider, ModuleMetadata, Type } from '@nestjs/common';
import type { RedisOptions } from 'ioredis';
import type { ConnectionsFactory } from '../core/connection.js';
import type { IdempotencyOptions, ResolvedIdempotencyOptions } from '../core/idempotency.js';
import type { KvStorage } from '../persistence/kv-storage.js';
import type { ResolvedSseHistoryOptions, SseHistoryOptions } from '../sse/sse-history.js';
import type { EricSseLimitsOptions, ResolvedEricSseLimits } from './resolve-limits.js';

/** A channel the module creates at start, as an `SSEChannel` registered in the `ChannelContainer`. */
export interface EricSseChannelOptions {
  id: string;
  /** Minimum spacing between two deliveries of one stream, in seconds. Default 0. */
  streamDelaySeconds?: number;
  /** The SSE `retry` field, in milliseconds. Default 5. */
  retryTimeoutMilliseconds?: number;
}

/** The REST endpoints, mounted when `rest` is given. */
export interface EricSseRestOptions {
  /** Route prefix of the endpoints. Default `'eric-sse'`. */
  path?: string;
  /** Guards run before every endpoint (global guards apply too). */
  guards?: (CanActivate | Type<CanActivate>)[];
  /** Largest accepted request body, in bytes. Default 65536. */
  bodyLimit?: number;
}

export interface EricSseModuleOptions {
  /** Channels created at start. Ids must be unique. */
  channels?: EricSseChannelOptions[];
  /** The channel `@OnMessage` listeners join by default; created if absent. Default `'eric'`. */
  onMessageChannel?: string;
  /** Decides which queue each new listener gets. Default `InMemoryConnectionsFactory`. */
  connectionsFactory?: ConnectionsFactory;
  /** Storage behind the channel repository. Default `InMemoryStorage`. */
  storage?: KvStorage;
  /**
   * Keeps channels, listeners and queues in Redis, shared by every instance of the application given the
   * same Redis and `keyPrefix`: a `redis://` URL or ioredis options. Not with `storage` or `connectionsFactory`.
   */
  redis?: string | RedisOptions;
  /** Starts every Redis key and pub/sub channel of the module (with `redis`). Default `'eric-sse:'`. */
  keyPrefix?: string;
  /**
   * The replay history of each listener: the events its SSE streams delivered, kept so that a client
   * reconnecting with `Last-Event-ID` gets what it missed. Default `{ maxEvents: 1000,
   * maxAgeMilliseconds: 300000 }`; `maxEvents: 0` keeps none (events are still numbered). In this process,
   * or in Redis with `redis` (shared by every instance). `false`: events go without ids and nothing is
   * replayed, as from the original (on Redis this saves the per-listener numbering of every event).
   */
  history?: SseHistoryOptions | false;
  /** Spacing of the keep-alive comments written to idle SSE streams, in milliseconds; 0 sends none. Default 15000. */
  keepAliveMilliseconds?: number;
  /**
   * Bounds on queues, listeners, channels and payloads, and removal of listeners nobody streams. Default:
   * queues of at most 10,000 messages dropping their oldest when full; everything else unbounded, nothing removed.
   */
  limits?: EricSseLimitsOptions;
  /**
   * How long, and how many per channel, idempotency keys are remembered: a publish repeating a key within
   * the window (REST `Idempotency-Key`, socket `k`, `idempotencyKey` option) queues nothing and answers
   * as the first did. Default `{ windowMilliseconds: 300000, maxKeys: 100000 }`. In this process, or in
   * Redis with `redis` (shared by every instance).
   */
  idempotency?: IdempotencyOptions;
  /** REST endpoints; off unless given. */
  rest?: false | EricSseRestOptions;
  /** Registers the module globally. Default true. */
  global?: boolean;
}

/** What a `forRootAsync` factory returns. */
export type EricSseFactoryOptions = Omit<EricSseModuleOptions, 'global' | 'rest'>;

/**
 * `forRootAsync` options. `global` and `rest` shape the module itself (its scope, its routes), so they
 * are given here rather than returned by `useFactory`.
 */
export interface EricSseModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: FactoryProvider<EricSseFactoryOptions>['useFactory'];
  inject?: FactoryProvider['inject'];
  rest?: false | EricSseRestOptions;
  global?: boolean;
}

export interface ResolvedEricSseChannelOptions {
  id: string;
  streamDelaySeconds: number;
  retryTimeoutMilliseconds: number;
}

export interface ResolvedEricSseRestOptions {
  path: string;
  guards: (CanActivate | Type<CanActivate>)[];
  bodyLimit: number;
}

/** What `ERIC_SSE_OPTIONS` holds: the options validated, with defaults filled in. */
export interface ResolvedEricSseOptions {
  channels: ResolvedEricSseChannelOptions[];
  onMessageChannel: string;
  /** As given; the backend supplies the default. */
  connectionsFactory: ConnectionsFactory | undefined;
  /** As given; the backend supplies the default. */
  storage: KvStorage | undefined;
  /** Redis backend settings when `redis` is given; undefined keeps everything in memory. */
  redis: { connection: string | RedisOptions; keyPrefix: string } | undefined;
  /** False: no ids, no replay. */
  history: ResolvedSseHistoryOptions | false;
  keepAliveMilliseconds: number;
  limits: ResolvedEricSseLimits;
  idempotency: ResolvedIdempotencyOptions;
  rest: false | ResolvedEricSseRestOptions;
  global: boolean;
}
