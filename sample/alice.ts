import { Injectable } from '@nestjs/common';
import { Message, OnMessage, type SignedMessage } from '../src/index.js';
import { Transcript } from './transcript.js';

/**
 * Alice answers a `hello` with `hello_ack`, then `stop`. Her listener id is her class name, `Alice`;
 * what the action returns goes back to the sender of the `hello`.
 */
@Injectable()
export class Alice {
  constructor(private readonly transcript: Transcript) {}

  @OnMessage('hello')
  async hello(msg: SignedMessage): Promise<Message[]> {
    await this.transcript.heard('Alice', msg);
    return [new Message('hello_ack', `Hi ${msg.senderId}, I am Alice.`), new Message('stop')];
  }
}
