import { describe, expect, it } from '@jest/globals';
import {
  EricSseException,
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
  ItemNotFound,
  MESSAGE_TYPE_CLOSED,
  MESSAGE_TYPE_END_OF_STREAM,
  MESSAGE_TYPE_INTERNAL_ERROR,
  NoMessagesException,
  RepositoryError,
} from '../../src/index.js';

describe('errors', () => {
  const classes = [
    InvalidChannelException,
    InvalidListenerException,
    NoMessagesException,
    InvalidMessageFormat,
    RepositoryError,
    ItemNotFound,
    InvalidConfigurationException,
  ];

  it.each(classes.map((cls) => [cls.name, cls] as const))(
    '%s has its class name as name and is an EricSseException and an Error',
    (name, cls) => {
      const error = new cls('boom');
      expect(error.name).toBe(name);
      expect(error.message).toBe('boom');
      expect(error).toBeInstanceOf(cls);
      expect(error).toBeInstanceOf(EricSseException);
      expect(error).toBeInstanceOf(Error);
      expect(String(error)).toBe(`${name}: boom`);
    },
  );

  it('names the base class after itself', () => {
    expect(new EricSseException('x').name).toBe('EricSseException');
  });

  it('ItemNotFound is a RepositoryError', () => {
    const error = new ItemNotFound('missing');
    expect(error).toBeInstanceOf(RepositoryError);
    expect(error.name).toBe('ItemNotFound');
  });

  it('keeps the name of a user subclass', () => {
    class QuotaExceeded extends InvalidChannelException {}
    const error = new QuotaExceeded('full');
    expect(error.name).toBe('QuotaExceeded');
    expect(error).toBeInstanceOf(InvalidChannelException);
  });

  it('distinguishes unrelated errors', () => {
    expect(new NoMessagesException()).not.toBeInstanceOf(InvalidListenerException);
    expect(new RepositoryError()).not.toBeInstanceOf(ItemNotFound);
  });

  it('has a stack trace', () => {
    expect(new InvalidChannelException('x').stack).toContain('InvalidChannelException');
  });
});

describe('constants', () => {
  it('match the original eric_sse values', () => {
    expect(MESSAGE_TYPE_CLOSED).toBe('_eric_channel_closed');
    expect(MESSAGE_TYPE_END_OF_STREAM).toBe('_eric_channel_eof');
    expect(MESSAGE_TYPE_INTERNAL_ERROR).toBe('_eric_error');
  });
});
