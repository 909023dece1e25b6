import { describe, expect, it } from '@jest/globals';
import {
  ChannelContainer,
  Connection,
  InMemoryQueue,
  InvalidChannelException,
  InvalidListenerException,
  Message,
  MessageQueueListener,
  SSEChannel,
  type AbstractChannel,
  type ChannelStore,
  type ConnectionsFactory,
} from '../../src/index.js';

describe('channel async lookups (in memory)', () => {
  it('resolveConnection finds a registered listener and rejects an unknown one', async () => {
    const channel = new SSEChannel();
    const listener = await channel.addListener();
    expect(await channel.resolveConnection(listener.id)).toBe(channel.getConnection(listener.id));
    await expect(channel.resolveConnection('nope')).rejects.toBeInstanceOf(InvalidListenerException);
  });

  it('listListenerIds lists listeners in registration order', async () => {
    const channel = new SSEChannel();
    const ids = [(await channel.addListener()).id, (await channel.addListener()).id];
    expect(await channel.listListenerIds()).toEqual(ids);
  });

  it('broadcastAndCount queues for every listener and says how many', async () => {
    const channel = new SSEChannel();
    expect(await channel.broadcastAndCount(new Message('none'))).toBe(0);
    const listener = await channel.addListener();
    expect(await channel.broadcastAndCount(new Message('one'))).toBe(1);
    expect(await channel.getConnection(listener.id).queue.pop()).toEqual(new Message('one'));
  });

  it('gives the connections factory its id', async () => {
    const seen: (string | undefined)[] = [];
    const factory: ConnectionsFactory = {
      create: (listener = new MessageQueueListener(), channelId) => {
        seen.push(channelId);
        return new Connection(listener, new InMemoryQueue());
      },
    };
    const channel = new SSEChannel({ channelId: 'c', connectionsFactory: factory });
    await channel.addListener();
    await channel.registerListener(new MessageQueueListener());
    expect(seen).toEqual(['c', 'c']);
  });
});

describe('ChannelContainer async methods', () => {
  describe('without a store', () => {
    it('add registers, and refuses a taken id', async () => {
      const container = new ChannelContainer();
      const channel = new SSEChannel({ channelId: 'a' });
      await container.add(channel);
      expect(container.get('a')).toBe(channel);
      await expect(container.add(new SSEChannel({ channelId: 'a' }))).rejects.toBeInstanceOf(InvalidChannelException);
      expect(container.get('a')).toBe(channel);
    });

    it('resolve, listIds and remove act on the channels held', async () => {
      const container = new ChannelContainer();
      container.register(new SSEChannel({ channelId: 'a' }));
      container.register(new SSEChannel({ channelId: 'b' }));
      expect((await container.resolve('a')).id).toBe('a');
      await expect(container.resolve('nope')).rejects.toBeInstanceOf(InvalidChannelException);
      expect(await container.listIds()).toEqual(['a', 'b']);
      await container.remove('a');
      expect(await container.listIds()).toEqual(['b']);
      await expect(container.remove('a')).rejects.toBeInstanceOf(InvalidChannelException);
    });
  });

  describe('with a store', () => {
    /** A store shared by "processes", each with its own container. */
    class MapStore implements ChannelStore {
      readonly channels = new Map<string, AbstractChannel>();
      private readonly callbacks = new Set<(id: string) => void>();
      async add(channel: AbstractChannel): Promise<void> {
        if (this.channels.has(channel.id)) throw new InvalidChannelException(`Channel ${channel.id} already exists`);
        this.channels.set(channel.id, channel);
      }
      async load(id: string): Promise<AbstractChannel | undefined> {
        return this.channels.get(id);
      }
      async remove(id: string): Promise<boolean> {
        const removed = this.channels.delete(id);
        if (removed) for (const callback of this.callbacks) callback(id);
        return removed;
      }
      async listIds(): Promise<string[]> {
        return [...this.channels.keys()];
      }
      onRemoved(callback: (id: string) => void): () => void {
        this.callbacks.add(callback);
        return () => this.callbacks.delete(callback);
      }
    }

    it('stores added channels, which another container resolves and holds from then on', async () => {
      const store = new MapStore();
      const one = new ChannelContainer(store);
      const two = new ChannelContainer(store);
      const channel = new SSEChannel({ channelId: 'shared' });
      await one.add(channel);
      expect(two.has('shared')).toBe(false);
      expect(await two.resolve('shared')).toBe(channel);
      expect(two.get('shared')).toBe(channel);
      expect(await two.listIds()).toEqual(['shared']);
      await expect(two.add(new SSEChannel({ channelId: 'shared' }))).rejects.toThrow(/already registered/);
      await expect(new ChannelContainer(store).add(new SSEChannel({ channelId: 'shared' }))).rejects.toThrow(
        /already exists/,
      );
      await expect(two.resolve('nope')).rejects.toBeInstanceOf(InvalidChannelException);
    });

    it('remove takes the channel out of the store and every container', async () => {
      const store = new MapStore();
      const one = new ChannelContainer(store);
      const two = new ChannelContainer(store);
      await one.add(new SSEChannel({ channelId: 'x' }));
      await two.resolve('x');
      await one.remove('x');
      expect(one.has('x')).toBe(false);
      expect(two.has('x')).toBe(false);
      expect(await two.listIds()).toEqual([]);
      await expect(two.remove('x')).rejects.toBeInstanceOf(InvalidChannelException);
    });

    it('remove of a channel held only here still works (registered without the store)', async () => {
      const container = new ChannelContainer(new MapStore());
      container.register(new SSEChannel({ channelId: 'local' }));
      await container.remove('local');
      expect(container.has('local')).toBe(false);
    });
  });
});
