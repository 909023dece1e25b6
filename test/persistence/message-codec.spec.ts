import { describe, expect, it } from '@jest/globals';
import {
  decodeMessage,
  encodeMessage,
  InMemoryStorage,
  Message,
  RepositoryError,
  SignedMessage,
  UniqueMessage,
  type MessageContract,
} from '../../src/index.js';

/** Encodes, passes through JSON storage, decodes: what a reload sees. */
async function roundTrip(msg: MessageContract): Promise<MessageContract> {
  const storage = new InMemoryStorage();
  await storage.upsert('m', encodeMessage(msg));
  return decodeMessage(await storage.fetchOne('m'));
}

describe('message codec', () => {
  it('round-trips a Message with its type and payload', async () => {
    const decoded = await roundTrip(new Message('greet', { to: ['bob'], n: 1.5, ok: true, none: null }));
    expect(decoded).toBeInstanceOf(Message);
    expect(decoded).not.toBeInstanceOf(SignedMessage);
    expect(decoded.type).toBe('greet');
    expect(decoded.payload).toEqual({ to: ['bob'], n: 1.5, ok: true, none: null });
  });

  it('round-trips a message without payload as one whose payload is undefined', async () => {
    expect(encodeMessage(new Message('ping'))).toEqual({ kind: 'message', type: 'ping' });
    const decoded = await roundTrip(new Message('ping'));
    expect(decoded.payload).toBeUndefined();
    expect('payload' in encodeMessage(new SignedMessage('s', 'ping'))).toBe(false);
  });

  it('round-trips a SignedMessage with its sender', async () => {
    const decoded = await roundTrip(new SignedMessage('alice', 'hello', 'hi'));
    expect(decoded).toBeInstanceOf(SignedMessage);
    expect(decoded).toMatchObject({ senderId: 'alice', type: 'hello', payload: 'hi' });
  });

  it('stores a plain object with a string senderId as signed', async () => {
    const decoded = await roundTrip({ type: 't', payload: 0, senderId: 'x' } as MessageContract);
    expect(decoded).toBeInstanceOf(SignedMessage);
    expect(decoded).toMatchObject({ senderId: 'x', type: 't', payload: 0 });
  });

  it('round-trips a UniqueMessage with its id, sender and wrapped message class', async () => {
    const original = new UniqueMessage(new SignedMessage('bob', 'order', [1, 2]), 'carol', 'msg-1');
    const decoded = await roundTrip(original);
    expect(decoded).toBeInstanceOf(UniqueMessage);
    const unique = decoded as UniqueMessage;
    expect(unique.id).toBe('msg-1');
    expect(unique.senderId).toBe('carol');
    expect(unique.type).toBe('order');
    expect(unique.payload).toEqual([1, 2]);
    expect(unique.message).toBeInstanceOf(SignedMessage);
    expect((unique.message as SignedMessage).senderId).toBe('bob');
  });

  it('round-trips a UniqueMessage without sender, keeping its generated id', async () => {
    const original = new UniqueMessage(new Message('m', 'p'));
    const decoded = (await roundTrip(original)) as UniqueMessage;
    expect(decoded).toBeInstanceOf(UniqueMessage);
    expect(decoded.id).toBe(original.id);
    expect(decoded.senderId).toBeUndefined();
    expect(decoded.message).toBeInstanceOf(Message);
  });

  it.each([
    ['a non-object', 'hello', /not an object/],
    ['null', null, /not an object/],
    ['an array', [], /not an object/],
    ['an unknown kind', { kind: 'other', type: 't' }, /kind must be/],
    ['a missing kind', { type: 't' }, /kind must be/],
    ['a message without type', { kind: 'message' }, /type must be a string/],
    ['a message with a numeric type', { kind: 'message', type: 3 }, /type must be a string/],
    ['a signed message without sender', { kind: 'signed', type: 't' }, /senderId must be a string/],
    ['a signed message without type', { kind: 'signed', senderId: 's' }, /type must be a string/],
    ['a unique message without id', { kind: 'unique', message: { kind: 'message', type: 't' } }, /id must be/],
    ['a unique message with an empty id', { kind: 'unique', id: '', message: { kind: 'message', type: 't' } }, /id/],
    [
      'a unique message with a numeric sender',
      { kind: 'unique', id: 'i', senderId: 1, message: { kind: 'message', type: 't' } },
      /senderId must be a string/,
    ],
    ['a unique message without wrapped message', { kind: 'unique', id: 'i' }, /not an object/],
    ['a unique message wrapping a bad message', { kind: 'unique', id: 'i', message: { kind: 'x' } }, /kind must be/],
  ])('rejects %s with a RepositoryError', (_label, record, reason) => {
    expect(() => decodeMessage(record)).toThrow(RepositoryError);
    expect(() => decodeMessage(record)).toThrow(reason);
    expect(() => decodeMessage(record)).toThrow(/Malformed message record/);
  });

  it('shortens a long malformed record in the error message', () => {
    const record = { kind: 'nope', type: 'x'.repeat(1000) };
    expect(() => decodeMessage(record)).toThrow(/x{100,}…$/);
    expect(() => decodeMessage(record)).not.toThrow(/x{300}/);
  });
});
