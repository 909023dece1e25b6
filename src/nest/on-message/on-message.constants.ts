/** Reflect-metadata key under which `@OnMessage` stores its `OnMessageMetadata[]` on the method. */
export const ON_MESSAGE_METADATA = 'eric-sse:on-message';
