import { describe, expect, it } from '@jest/globals';
import {
  ChannelContainer,
  InMemoryQueue,
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  Message,
  MessageQueueListener,
  MessageTooLargeException,
  SSEChannel,
  TooManyChannelsException,
  TooManyListenersException,
  payloadBytes,
  type AbstractChannel,
  type ChannelStore,
} from '../../src/index.js';
import { types } from './support.js';

function queued(channel: AbstractChannel, listenerId: string): string[] {
  return types((channel.getConnection(listenerId).queue as InMemoryQueue).peekAll());
}

describe('maxListeners', () => {
  it('is unbounded by default', () => {
    expect(new SSEChannel().maxListeners).toBe(Infinity);
    expect(new SSEChannel({ maxListeners: 0 }).maxListeners).toBe(Infinity);
  });

  it('refuses a listener past the maximum with TooManyListenersException, leaving the channel as it was', async () => {
    const channel = new SSEChannel({ channelId: 'room', maxListeners: 2 });
    const a = await channel.addListener();
    const b = await channel.addListener();
    await expect(channel.addListener()).rejects.toThrow(TooManyListenersException);
    await expect(channel.addListener()).rejects.toThrow(
      'Cannot add a listener to channel room: maxListeners (2) reached',
    );
    await expect(channel.registerListener(new MessageQueueListener('c'))).rejects.toThrow(TooManyListenersException);
    expect(await channel.listListenerIds()).toEqual([a.id, b.id]);
    expect(channel.hasListener('c')).toBe(false);
    // Removing one makes room again.
    await channel.removeListener(a.id);
    await channel.registerListener(new MessageQueueListener('c'));
    expect(await channel.listListenerIds()).toEqual([b.id, 'c']);
  });

  it('still answers a duplicate id with InvalidListenerException when full', async () => {
    const channel = new SSEChannel({ maxListeners: 1 });
    const listener = await channel.addListener();
    await expect(channel.registerListener(listener)).rejects.toThrow(InvalidListenerException);
  });

  it('a watch past the maximum fails before adding anything', async () => {
    const channel = new SSEChannel({ maxListeners: 1 });
    await channel.addListener();
    await expect(channel.watch()).rejects.toThrow(TooManyListenersException);
    expect((await channel.listListenerIds()).length).toBe(1);
  });

  it.each([-1, 2.5, 'many'])('refuses maxListeners %j with InvalidConfigurationException', (bad) => {
    expect(() => new SSEChannel({ maxListeners: bad as number })).toThrow(InvalidConfigurationException);
    expect(() => new SSEChannel({ maxListeners: bad as number })).toThrow('maxListeners must be an integer >= 0');
  });
});

describe('maxPayloadBytes', () => {
  it('measures the payload as UTF-8 JSON; no payload is 0 bytes', () => {
    expect(payloadBytes(new Message('t'))).toBe(0);
    expect(payloadBytes(new Message('t', 'abc'))).toBe(5); // "abc"
    expect(payloadBytes(new Message('t', 'é'))).toBe(4); // "é": 2 bytes in UTF-8
    expect(payloadBytes(new Message('t', { a: [1, null] }))).toBe(14); // {"a":[1,null]}
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(payloadBytes(new Message('t', cyclic as never))).toBe(Infinity);
  });

  it('refuses a dispatch or broadcast over the maximum with MessageTooLargeException; nothing is queued', async () => {
    const channel = new SSEChannel({ channelId: 'room', maxPayloadBytes: 10 });
    const { id } = await channel.addListener();
    const big = new Message('big', 'x'.repeat(9)); // 11 bytes as JSON
    await expect(channel.dispatch(id, big)).rejects.toThrow(MessageTooLargeException);
    await expect(channel.broadcast(big)).rejects.toThrow(MessageTooLargeException);
    await expect(channel.broadcastAndCount(big)).rejects.toThrow(
      "The payload of message 'big' is 11 bytes as JSON, over maxPayloadBytes (10) of channel room",
    );
    expect(queued(channel, id)).toEqual([]);
    // Exactly the maximum fits.
    await channel.dispatch(id, new Message('fits', 'x'.repeat(8)));
    await channel.broadcast(new Message('none'));
    expect(queued(channel, id)).toEqual(['fits', 'none']);
  });

  it('counts multi-byte characters in bytes', async () => {
    const channel = new SSEChannel({ maxPayloadBytes: 6 });
    const { id } = await channel.addListener();
    await expect(channel.dispatch(id, new Message('t', 'ééé'))).rejects.toThrow('8 bytes as JSON');
    await channel.dispatch(id, new Message('t', 'éé'));
    expect(queued(channel, id)).toEqual(['t']);
  });

  it('an unknown listener is still an InvalidListenerException', async () => {
    const channel = new SSEChannel({ maxPayloadBytes: 1 });
    await expect(channel.dispatch('nobody', new Message('t', 'long'))).rejects.toThrow(InvalidListenerException);
  });
});

describe('ChannelContainer maxChannels', () => {
  it('is unbounded by default', () => {
    expect(new ChannelContainer().maxChannels).toBe(Infinity);
  });

  it('refuses a channel past the maximum with TooManyChannelsException (register, add), leaving the container as it was', async () => {
    const container = new ChannelContainer(undefined, { maxChannels: 2 });
    container.register(new SSEChannel({ channelId: 'a' }));
    await container.add(new SSEChannel({ channelId: 'b' }));
    expect(() => container.register(new SSEChannel({ channelId: 'c' }))).toThrow(TooManyChannelsException);
    await expect(container.add(new SSEChannel({ channelId: 'c' }))).rejects.toThrow(
      'Cannot add a channel: maxChannels (2) reached',
    );
    expect(container.getAllIds()).toEqual(['a', 'b']);
    // A taken id is still an InvalidChannelException.
    expect(() => container.register(new SSEChannel({ channelId: 'a' }))).toThrow(InvalidChannelException);
    container.rm('a');
    container.register(new SSEChannel({ channelId: 'c' }));
    expect(container.getAllIds()).toEqual(['b', 'c']);
  });

  it('registerIterable registers all of them or none', () => {
    const container = new ChannelContainer(undefined, { maxChannels: 3 });
    container.register(new SSEChannel({ channelId: 'a' }));
    const ids = ['a', 'b', 'c', 'd'].map((channelId) => new SSEChannel({ channelId }));
    expect(() => container.registerIterable(ids)).toThrow(TooManyChannelsException);
    expect(container.getAllIds()).toEqual(['a']);
    container.registerIterable(ids.slice(0, 3)); // 'a' is skipped: b and c fit
    expect(container.getAllIds()).toEqual(['a', 'b', 'c']);
  });

  it('with a store, leaves the count to the store (which sees every process)', async () => {
    const stored: string[] = [];
    const store: ChannelStore = {
      add: async (channel) => void stored.push(channel.id),
      load: async () => undefined,
      remove: async () => false,
      listIds: async () => stored,
      onRemoved: () => () => undefined,
    };
    const container = new ChannelContainer(store, { maxChannels: 1 });
    expect(container.maxChannels).toBe(Infinity);
    await container.add(new SSEChannel({ channelId: 'a' }));
    await container.add(new SSEChannel({ channelId: 'b' }));
    expect(stored).toEqual(['a', 'b']);
  });

  it('refuses a bad maxChannels', () => {
    expect(() => new ChannelContainer(undefined, { maxChannels: -2 })).toThrow(
      'maxChannels must be an integer >= 0 (0: no limit), got -2',
    );
  });
});
