import { describe, expect, it } from '@jest/globals';
import { Message, SignedMessage, UniqueMessage, type MessageContract } from '../../src/index.js';
import { UUID_V4 } from './support.js';

describe('Message', () => {
  it('holds a type and a payload', () => {
    const msg = new Message('greet', { name: 'Ada', tags: ['a', 1, true, null] });
    expect(msg.type).toBe('greet');
    expect(msg.payload).toEqual({ name: 'Ada', tags: ['a', 1, true, null] });
  });

  it('has no payload when none is given', () => {
    const msg = new Message('ping');
    expect(msg.type).toBe('ping');
    expect(msg.payload).toBeUndefined();
  });

  it('keeps falsy payloads as given', () => {
    expect(new Message('t', 0).payload).toBe(0);
    expect(new Message('t', '').payload).toBe('');
    expect(new Message('t', false).payload).toBe(false);
    expect(new Message('t', null).payload).toBeNull();
  });
});

describe('SignedMessage', () => {
  it('adds the sender id to a message', () => {
    const msg = new SignedMessage('alice', 'hello', 'hi');
    expect(msg).toBeInstanceOf(Message);
    expect(msg.senderId).toBe('alice');
    expect(msg.type).toBe('hello');
    expect(msg.payload).toBe('hi');
  });

  it('has no payload when none is given', () => {
    expect(new SignedMessage('alice', 'stop').payload).toBeUndefined();
  });
});

describe('UniqueMessage', () => {
  it('wraps a message and exposes its type and payload', () => {
    const inner = new Message('order', { n: 3 });
    const msg = new UniqueMessage(inner);
    expect(msg.message).toBe(inner);
    expect(msg.type).toBe('order');
    expect(msg.payload).toEqual({ n: 3 });
  });

  it('generates a fresh UUID v4 id when none is given', () => {
    const a = new UniqueMessage(new Message('x'));
    const b = new UniqueMessage(new Message('x'));
    expect(a.id).toMatch(UUID_V4);
    expect(b.id).toMatch(UUID_V4);
    expect(a.id).not.toBe(b.id);
  });

  it('keeps a given id and sender', () => {
    const msg = new UniqueMessage(new Message('x', 1), 'bob', 'msg-42');
    expect(msg.id).toBe('msg-42');
    expect(msg.senderId).toBe('bob');
  });

  it('has no sender when none is given', () => {
    expect(new UniqueMessage(new Message('x')).senderId).toBeUndefined();
  });

  it('wraps any MessageContract, including a plain object', () => {
    const plain: MessageContract = { type: 'raw', payload: [1, 2] };
    const msg = new UniqueMessage(plain, undefined, 'id-1');
    expect(msg.type).toBe('raw');
    expect(msg.payload).toEqual([1, 2]);
    expect(msg.id).toBe('id-1');
  });
});
