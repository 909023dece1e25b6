import { Injectable } from '@nestjs/common';
import { EricSseMessenger, Message, OnMessage, type SignedMessage } from '../src/index.js';
import { Transcript } from './transcript.js';

/** Bob opens the conversation with a `hello` to Alice and answers her `hello_ack` with `stop`. */
@Injectable()
export class Bob {
  constructor(
    private readonly messenger: EricSseMessenger,
    private readonly transcript: Transcript,
  ) {}

  /** Sends Alice a `hello` signed by Bob, so that her answers come back to him. */
  greetAlice(): Promise<void> {
    return this.messenger.dispatchTo('Bob', 'Alice', new Message('hello', 'Hello Alice, I am Bob.'));
  }

  @OnMessage('hello_ack')
  async helloAck(msg: SignedMessage): Promise<Message[]> {
    await this.transcript.heard('Bob', msg);
    return [new Message('stop')];
  }
}
