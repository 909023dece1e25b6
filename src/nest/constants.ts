/** Injection token of the resolved, validated `EricSseModuleOptions` (`ResolvedEricSseOptions`). */
export const ERIC_SSE_OPTIONS = 'ERIC_SSE_OPTIONS';
/** Injection token of the `ConnectionsFactory` every channel of the module uses. */
export const ERIC_SSE_CONNECTIONS_FACTORY = 'ERIC_SSE_CONNECTIONS_FACTORY';
/** Injection token of the channel repository (`SSEChannelRepository` over the configured storage). */
export const ERIC_SSE_CHANNEL_REPOSITORY = 'ERIC_SSE_CHANNEL_REPOSITORY';

/** The channel `@OnMessage` listeners join unless told otherwise. */
export const DEFAULT_ON_MESSAGE_CHANNEL = 'eric';
export const DEFAULT_REST_PATH = 'eric-sse';
/** Largest accepted REST request body, in bytes (64 KiB). */
export const DEFAULT_REST_BODY_LIMIT = 65536;
