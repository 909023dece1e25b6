import { describe, expect, it } from '@jest/globals';
import {
  Message,
  SignedMessage,
  SimpleDistributedApplicationChannel,
  SimpleDistributedApplicationListener,
  type SSEEvent,
} from '../../src/index.js';

async function collect(stream: AsyncIterable<SSEEvent>): Promise<string[]> {
  const events: string[] = [];
  for await (const e of stream) events.push(e.event);
  return events;
}

describe('SimpleDistributedApplication reference conversation', () => {
  it('Alice yields hello, stop; Bob yields hello_ack, stop', async () => {
    const channel = new SimpleDistributedApplicationChannel();
    const alice = new SimpleDistributedApplicationListener();
    const bob = new SimpleDistributedApplicationListener();
    alice.setAction('hello', (msg) => [new Message('hello_ack', `${String(msg.payload)}!`), new Message('stop')]);
    bob.setAction('hello_ack', () => [new Message('stop')]);
    await channel.registerListener(alice);
    await channel.registerListener(bob);
    alice.start();
    bob.start();
    await bob.dispatchTo(alice, new Message('hello', 'hi'));
    await bob.dispatchTo(alice, new Message('stop'));
    const [a, b] = await Promise.all([collect(channel.messageStream(alice)), collect(channel.messageStream(bob))]);
    expect(a).toEqual(['hello', 'stop']);
    expect(b).toEqual(['hello_ack', 'stop']);
    expect(alice.isRunning()).toBe(false);
    expect(bob.isRunning()).toBe(false);
  });

  it('signs answers with the answering listener id', async () => {
    const channel = new SimpleDistributedApplicationChannel();
    const alice = new SimpleDistributedApplicationListener();
    const bob = new SimpleDistributedApplicationListener();
    alice.setAction('ping', () => [new Message('pong', 1)]);
    await channel.registerListener(alice);
    await channel.registerListener(bob);
    alice.start();
    await channel.dispatch(alice.id, new SignedMessage(bob.id, 'ping'));
    await channel.deliverNext(alice.id);
    bob.start();
    const pong = await channel.deliverNext(bob.id);
    expect(pong).toBeInstanceOf(SignedMessage);
    expect(pong).toMatchObject({ type: 'pong', payload: 1, senderId: alice.id });
  });
});
