/** Base of every error this library throws; `name` is always the concrete class name. */
export class EricSseException extends Error {
  constructor(message?: string) {
    super(message);
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
