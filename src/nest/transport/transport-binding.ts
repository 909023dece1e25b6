import type { AbstractChannel } from '../../core/channel.js';
import type { ChannelContainer } from '../../servers/channel-container.js';

/** What `EricSseModule` hands a transport registered in its application. */
export interface EricSseTransportBinding {
  container: ChannelContainer;
  /** Makes the channel verb `c` creates, with the module's connections factory. */
  createChannel: () => AbstractChannel;
}

/**
 * The method a transport offers to be bound to the module's `ChannelContainer`. A well-known symbol, so
 * the module finds such transports without importing `@nestjs/microservices`.
 */
export const BIND_ERIC_SSE_TRANSPORT = Symbol.for('nestjs-eric-sse.bindTransport');

export interface EricSseBindableTransport {
  [BIND_ERIC_SSE_TRANSPORT](binding: EricSseTransportBinding): void;
}

export function isBindableTransport(target: unknown): target is EricSseBindableTransport {
  return (
    typeof target === 'object' &&
    target !== null &&
    typeof (target as Partial<EricSseBindableTransport>)[BIND_ERIC_SSE_TRANSPORT] === 'function'
  );
}
