import { randomUUID } from 'node:crypto';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Payload = JsonValue | undefined;

export interface MessageContract {
  readonly type: string;
  readonly payload?: Payload;
}

export class Message implements MessageContract {
  constructor(
    readonly type: string,
    readonly payload?: Payload,
  ) {}
}

export class SignedMessage extends Message {
  constructor(
    readonly senderId: string,
    type: string,
    payload?: Payload,
  ) {
    super(type, payload);
  }
}

/** Wraps any message with a unique id and, optionally, its sender. */
export class UniqueMessage implements MessageContract {
  readonly id: string;

  constructor(
    readonly message: MessageContract,
    readonly senderId?: string,
    messageId?: string,
  ) {
    this.id = messageId ?? randomUUID();
  }

  get type(): string {
    return this.message.type;
  }

  get payload(): Payload {
    return this.message.payload;
  }
}
