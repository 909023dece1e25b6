import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import { ChannelContainer } from '../../servers/channel-container.js';
import { ERIC_SSE_BACKEND } from '../backend-token.js';
import type { EricSseBackend } from '../create-backend.js';
import { BIND_ERIC_SSE_TRANSPORT, isBindableTransport } from './transport-binding.js';

/**
 * Gives every `EricSocketTransport` of the application the module's `ChannelContainer`, so that
 * `new EricSocketTransport({ path })` needs no reference to the app. Nest registers each microservice
 * strategy as an RPC target when it is connected (after the providers exist, before it listens); the
 * registry replays, so strategies connected before or after this provider is created are all seen.
 */
@Injectable()
export class EricSocketTransportBinder implements OnModuleDestroy {
  private readonly subscription: Subscription;

  constructor(
    modules: ModulesContainer,
    container: ChannelContainer,
    @Inject(ERIC_SSE_BACKEND) backend: EricSseBackend,
  ) {
    // Channels of the module's backend: on Redis, a channel the socket creates is seen by every instance.
    const binding = { container, createChannel: () => backend.createChannel('sse') };
    this.subscription = modules.getRpcTargetRegistry<unknown>().subscribe((target) => {
      if (isBindableTransport(target)) target[BIND_ERIC_SSE_TRANSPORT](binding);
    });
  }

  onModuleDestroy(): void {
    this.subscription.unsubscribe();
  }
}
