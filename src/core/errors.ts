/** Base of every error this library throws; `name` is always the concrete class name. */
export class EricSseException extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidChannelException extends EricSseException {}
export class InvalidListenerException extends EricSseException {}
export class NoMessagesException extends EricSseException {}
export class InvalidMessageFormat extends EricSseException {}
export class RepositoryError extends EricSseException {}
export class ItemNotFound extends RepositoryError {}

/** A bad option or argument given at construction or configuration time. */
export class InvalidConfigurationException extends EricSseException {}

/**
 * A configured bound refused the operation (see `ChannelLimits`, `QueueLimits`, `ChannelContainerLimits`).
 * Nothing was changed: no message queued, no channel or listener added.
 */
export class LimitExceededException extends EricSseException {}

/** A listener's queue holds its maximum and its overflow policy is `reject`. */
export class QueueFullException extends LimitExceededException {
  /** The listeners whose queues are full (a broadcast names each of them). */
  readonly listenerIds: readonly string[];

  constructor(message?: string, listenerIds: readonly string[] = []) {
    super(message);
    this.listenerIds = listenerIds;
  }
}

/** A channel holds `maxListeners` listeners already. */
export class TooManyListenersException extends LimitExceededException {}

/** The application holds `maxChannels` channels already. */
export class TooManyChannelsException extends LimitExceededException {}

/** A message's payload, encoded as JSON, is larger than `maxPayloadBytes`. */
export class MessageTooLargeException extends LimitExceededException {}
