import { describe, expect, it } from '@jest/globals';
import { Connection, InMemoryConnectionsFactory, InMemoryQueue, MessageQueueListener } from '../../src/index.js';
import { UUID_V4 } from './support.js';

describe('Connection', () => {
  it('pairs a listener with its queue under a fresh UUID', () => {
    const listener = new MessageQueueListener();
    const queue = new InMemoryQueue();
    const connection = new Connection(listener, queue);
    expect(connection.listener).toBe(listener);
    expect(connection.queue).toBe(queue);
    expect(connection.id).toMatch(UUID_V4);
    expect(new Connection(listener, queue).id).not.toBe(connection.id);
  });

  it('keeps a given id', () => {
    expect(new Connection(new MessageQueueListener(), new InMemoryQueue(), 'c-1').id).toBe('c-1');
  });
});

describe('InMemoryConnectionsFactory', () => {
  it('creates a connection with a new stopped listener and an empty in-memory queue', () => {
    const connection = new InMemoryConnectionsFactory().create();
    expect(connection.listener).toBeInstanceOf(MessageQueueListener);
    expect(connection.listener.id).toMatch(UUID_V4);
    expect(connection.listener.isRunning()).toBe(false);
    expect(connection.queue).toBeInstanceOf(InMemoryQueue);
    expect((connection.queue as InMemoryQueue).size).toBe(0);
  });

  it('creates a connection for a given listener', () => {
    const listener = new MessageQueueListener('given');
    const connection = new InMemoryConnectionsFactory().create(listener);
    expect(connection.listener).toBe(listener);
  });

  it('gives every connection its own queue', () => {
    const factory = new InMemoryConnectionsFactory();
    expect(factory.create().queue).not.toBe(factory.create().queue);
  });
});
