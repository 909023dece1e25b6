export * from './core/errors.js';
export * from './core/constants.js';
export * from './core/message.js';
export * from './core/listener.js';
export * from './core/queue.js';
export * from './core/connection.js';
export * from './core/channel.js';
export {
  DEFAULT_IDEMPOTENCY_WINDOW_MILLISECONDS,
  DEFAULT_MAX_IDEMPOTENCY_KEYS,
  MAX_IDEMPOTENCY_KEY_BYTES,
  assertIdempotencyKey,
  resolveIdempotencyOptions,
  type IdempotencyOptions,
  type PublishOptions,
  type ResolvedIdempotencyOptions,
} from './core/idempotency.js';
export * from './core/logger.js';
export * from './prefabs/sse-channel.js';
export * from './prefabs/simple-distributed-application.js';
export * from './servers/channel-container.js';
export * from './prefabs/message-executor.js';
export * from './prefabs/worker-pool-executor.js';
export * from './prefabs/data-processing-channel.js';
export * from './persistence/kv-storage.js';
export * from './persistence/in-memory-storage.js';
export * from './persistence/prefixed-storage.js';
export * from './persistence/message-codec.js';
export * from './persistence/listener-registry.js';
export * from './persistence/repositories.js';
export * from './persistence/kv-listener-repository.js';
export * from './persistence/kv-queue-repository.js';
export * from './persistence/connection-repository.js';
export * from './persistence/channel-repository.js';
export * from './persistence/sse-channel-repository.js';
export * from './nest/constants.js';
export * from './nest/eric-sse-module-options.js';
export * from './nest/eric-sse.module.js';
export * from './nest/eric-sse-messenger.js';
export { OnMessage, type OnMessageOptions, type OnMessageMetadata } from './nest/on-message/on-message.decorator.js';
export * from './servers/socket/index.js';
export * from './sse/sse-frame.js';
export * from './sse/encoded-sse-event.js';
export * from './sse/sse-frame-cache.js';
export * from './sse/listener-pump.js';
export * from './sse/sse-response.js';
export * from './sse/sse-history.js';
export * from './sse/in-memory-sse-history.js';
export type { ResumeFrom } from './nest/streaming/streaming-settings.js';
export * from './nest/streaming/eric-sse-streams.js';
export type { RestErrorBody } from './nest/rest/rest-exception.filter.js';
export type { RestAck, RestCreated, RestIds } from './nest/rest/rest-operations.js';
export type { RestChannelSettings } from './nest/rest/rest-body-validation.js';
export * from './nest/transport/eric-socket-transport.js';
export * from './nest/transport/eric-socket-context.js';
export * from './nest/transport/eric-socket-client.js';
export * from './servers/channel-store.js';
export * from './redis/index.js';
export * from './core/payload-depth.js';
export * from './core/limits.js';
export * from './servers/idle-listener-reaper.js';
export {
  DEFAULT_MAX_QUEUE_SIZE,
  type EricSseLimitsOptions,
  type ResolvedEricSseLimits,
} from './nest/resolve-limits.js';
