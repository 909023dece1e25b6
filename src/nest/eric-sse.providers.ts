import type { Provider } from '@nestjs/common';
import { ChannelContainer } from '../servers/channel-container.js';
import { ERIC_SSE_BACKEND } from './backend-token.js';
import { ERIC_SSE_CHANNEL_REPOSITORY, ERIC_SSE_CONNECTIONS_FACTORY, ERIC_SSE_OPTIONS } from './constants.js';
import { createChannelContainer } from './create-channel-container.js';
import { createEricSseBackend, type EricSseBackend } from './create-backend.js';
import type { ResolvedEricSseOptions } from './eric-sse-module-options.js';
import { EricSseLifecycle } from './eric-sse-lifecycle.js';
import { EricSseMessenger } from './eric-sse-messenger.js';
import { EricSseIdleReaping, IDLE_LISTENER_REAPER_PROVIDER } from './idle-reaping.js';
import { IdleListenerReaper } from '../servers/idle-listener-reaper.js';
import { OnMessageListeners } from './on-message/on-message-listeners.js';
import { OnMessageMetadataAccessor } from './on-message/on-message-metadata.accessor.js';
import { OnMessageExplorer } from './on-message/on-message.explorer.js';
import { EricSseStreams } from './streaming/eric-sse-streams.js';
import { ERIC_SSE_STREAMING, type EricSseStreamingSettings } from './streaming/streaming-settings.js';
import { EricSocketTransportBinder } from './transport/eric-socket-transport-binder.js';

/** Everything the module provides except `ERIC_SSE_OPTIONS`, which `forRoot`/`forRootAsync` provide. */
export const ERIC_SSE_PROVIDERS: Provider[] = [
  {
    provide: ERIC_SSE_BACKEND,
    inject: [ERIC_SSE_OPTIONS],
    useFactory: (options: ResolvedEricSseOptions) => createEricSseBackend(options),
  },
  {
    provide: ERIC_SSE_CONNECTIONS_FACTORY,
    inject: [ERIC_SSE_BACKEND],
    useFactory: (backend: EricSseBackend) => backend.connectionsFactory,
  },
  {
    provide: ERIC_SSE_CHANNEL_REPOSITORY,
    inject: [ERIC_SSE_BACKEND],
    useFactory: (backend: EricSseBackend) => backend.channelRepository,
  },
  {
    provide: ChannelContainer,
    inject: [ERIC_SSE_OPTIONS, ERIC_SSE_BACKEND],
    useFactory: (options: ResolvedEricSseOptions, backend: EricSseBackend) => createChannelContainer(options, backend),
  },
  {
    provide: ERIC_SSE_STREAMING,
    inject: [ERIC_SSE_OPTIONS, ERIC_SSE_BACKEND],
    useFactory: (options: ResolvedEricSseOptions, backend: EricSseBackend): EricSseStreamingSettings => ({
      history: backend.history,
      keepAliveMilliseconds: options.keepAliveMilliseconds,
    }),
  },
  OnMessageMetadataAccessor,
  OnMessageListeners,
  OnMessageExplorer,
  EricSseMessenger,
  EricSseStreams,
  EricSseLifecycle,
  EricSocketTransportBinder,
  IDLE_LISTENER_REAPER_PROVIDER,
  EricSseIdleReaping,
];

export const ERIC_SSE_EXPORTS = [
  ERIC_SSE_OPTIONS,
  ERIC_SSE_CONNECTIONS_FACTORY,
  ERIC_SSE_CHANNEL_REPOSITORY,
  ChannelContainer,
  EricSseMessenger,
  EricSseStreams,
  IdleListenerReaper,
];
