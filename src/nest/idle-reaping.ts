import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type Provider } from '@nestjs/common';
import { ChannelContainer } from '../servers/channel-container.js';
import { IdleListenerReaper } from '../servers/idle-listener-reaper.js';
import { ERIC_SSE_BACKEND } from './backend-token.js';
import { ERIC_SSE_OPTIONS } from './constants.js';
import type { EricSseBackend } from './create-backend.js';
import type { ResolvedEricSseOptions } from './eric-sse-module-options.js';

/** The module's `IdleListenerReaper` (injectable by its class): off unless `limits.idleListenerTimeoutMilliseconds`. */
export const IDLE_LISTENER_REAPER_PROVIDER: Provider = {
  provide: IdleListenerReaper,
  inject: [ERIC_SSE_OPTIONS, ChannelContainer, ERIC_SSE_BACKEND],
  useFactory: (options: ResolvedEricSseOptions, container: ChannelContainer, backend: EricSseBackend) =>
    new IdleListenerReaper(container, {
      idleTimeoutMilliseconds: options.limits.idleListenerTimeoutMilliseconds,
      store: backend.idleListenerStore,
    }),
};

/** Runs the reaper's timer from bootstrap until shutdown. */
@Injectable()
export class EricSseIdleReaping implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(private readonly reaper: IdleListenerReaper) {}

  onApplicationBootstrap(): void {
    this.reaper.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.reaper.stop();
  }
}
