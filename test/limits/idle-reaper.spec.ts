import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  ChannelContainer,
  IdleListenerReaper,
  InvalidConfigurationException,
  InvalidListenerException,
  Message,
  SSEChannel,
  type ListenerRef,
} from '../../src/index.js';

/** Resolves with the next listener the reaper removes. */
function nextReaped(reaper: IdleListenerReaper): Promise<ListenerRef> {
  return new Promise((resolve) => {
    const cancel = reaper.onReaped((listener) => {
      cancel();
      resolve(listener);
    });
  });
}

describe('IdleListenerReaper in memory', () => {
  let container: ChannelContainer;
  let channel: SSEChannel;
  let reaper: IdleListenerReaper | undefined;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    container = new ChannelContainer();
    channel = new SSEChannel({ channelId: 'room' });
    container.register(channel);
  });

  afterEach(async () => {
    await reaper?.stop();
    reaper = undefined;
    jest.useRealTimers();
  });

  it('is off with a timeout of 0: no timer, nothing removed', async () => {
    reaper = new IdleListenerReaper(container, { idleTimeoutMilliseconds: 0 });
    await channel.addListener();
    reaper.start();
    expect(reaper.enabled).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(1e9);
    await expect(reaper.sweep()).resolves.toEqual([]);
    expect((await channel.listListenerIds()).length).toBe(1);
  });

  it('removes a listener never streamed, with its queue, once the timeout has passed', async () => {
    reaper = new IdleListenerReaper(container, { idleTimeoutMilliseconds: 1000 });
    expect(reaper.sweepIntervalMilliseconds).toBe(500);
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('waiting'));
    reaper.start();
    const reaped = nextReaped(reaper);
    await jest.advanceTimersByTimeAsync(500);
    expect(channel.hasListener(listener.id)).toBe(true); // idle for 500 ms only
    await jest.advanceTimersByTimeAsync(500);
    await expect(reaped).resolves.toEqual({ channelId: 'room', listenerId: listener.id });
    expect(channel.hasListener(listener.id)).toBe(false);
    await expect(channel.dispatch(listener.id, new Message('late'))).rejects.toThrow(InvalidListenerException);
  });

  it('keeps a listener while it is streamed, and removes it a timeout after its stream ended', async () => {
    reaper = new IdleListenerReaper(container, { idleTimeoutMilliseconds: 1000 });
    const streamed = await channel.addListener();
    const idle = await channel.addListener();
    reaper.start();
    streamed.start(); // what a stream does when it opens
    const first = nextReaped(reaper);
    await jest.advanceTimersByTimeAsync(1000);
    await expect(first).resolves.toEqual({ channelId: 'room', listenerId: idle.id });
    await jest.advanceTimersByTimeAsync(10_000);
    expect(channel.hasListener(streamed.id)).toBe(true);
    streamed.stop(); // the client went away
    await jest.advanceTimersByTimeAsync(500);
    expect(channel.hasListener(streamed.id)).toBe(true);
    const second = nextReaped(reaper);
    await jest.advanceTimersByTimeAsync(1000);
    await expect(second).resolves.toEqual({ channelId: 'room', listenerId: streamed.id });
  });

  it('a stream that opens again resets the clock', async () => {
    reaper = new IdleListenerReaper(container, { idleTimeoutMilliseconds: 1000 });
    const listener = await channel.addListener();
    reaper.start();
    await jest.advanceTimersByTimeAsync(800);
    listener.start();
    listener.stop();
    await jest.advanceTimersByTimeAsync(800);
    expect(channel.hasListener(listener.id)).toBe(true);
    await jest.advanceTimersByTimeAsync(500);
    expect(channel.hasListener(listener.id)).toBe(false);
  });

  it('uses one timer whatever the number of listeners and channels', async () => {
    reaper = new IdleListenerReaper(container, { idleTimeoutMilliseconds: 1000 });
    const other = new SSEChannel({ channelId: 'other' });
    container.register(other);
    for (let i = 0; i < 200; i++) await (i % 2 === 0 ? channel : other).addListener();
    reaper.start();
    reaper.start();
    expect(jest.getTimerCount()).toBe(1);
    const removed: ListenerRef[] = [];
    reaper.onReaped((listener) => removed.push(listener));
    await jest.advanceTimersByTimeAsync(1000);
    expect(removed.length).toBe(200);
    expect(await channel.listListenerIds()).toEqual([]);
    expect(await other.listListenerIds()).toEqual([]);
    expect(jest.getTimerCount()).toBe(1);
  });

  it('sweep() removes what is idle now; stop() ends the timer', async () => {
    reaper = new IdleListenerReaper(container, { idleTimeoutMilliseconds: 1000, sweepIntervalMilliseconds: 100 });
    const listener = await channel.addListener();
    reaper.start();
    await reaper.stop();
    expect(jest.getTimerCount()).toBe(0);
    jest.setSystemTime(Date.now() + 999);
    await expect(reaper.sweep()).resolves.toEqual([]);
    jest.setSystemTime(Date.now() + 1);
    await expect(reaper.sweep()).resolves.toEqual([{ channelId: 'room', listenerId: listener.id }]);
  });

  it('skips a listener and a channel removed while it sweeps', async () => {
    reaper = new IdleListenerReaper(container, { idleTimeoutMilliseconds: 1000 });
    const later = new SSEChannel({ channelId: 'later' });
    container.register(later);
    const first = await channel.addListener();
    const second = await channel.addListener();
    const elsewhere = await later.addListener();
    jest.setSystemTime(Date.now() + 1000);
    const sweep = reaper.sweep(); // removing `first` now; the rest waits for that
    expect(reaper.sweep()).toBe(sweep); // one sweep at a time
    container.rm('later');
    const removing = channel.removeListener(second.id); // removed at once, before the sweep gets to it
    await expect(sweep).resolves.toEqual([{ channelId: 'room', listenerId: first.id }]);
    await removing;
    expect(later.hasListener(elsewhere.id)).toBe(true);
  });

  it.each([
    [{ idleTimeoutMilliseconds: -1 }, 'idleTimeoutMilliseconds must be a finite number >= 0'],
    [{ idleTimeoutMilliseconds: 1000, sweepIntervalMilliseconds: 0 }, 'sweepIntervalMilliseconds must be more than 0'],
    [{ idleTimeoutMilliseconds: 1000, sweepIntervalMilliseconds: 501 }, 'at most half of idleTimeoutMilliseconds'],
  ])('refuses %j with InvalidConfigurationException', (options, message) => {
    expect(() => new IdleListenerReaper(container, options)).toThrow(InvalidConfigurationException);
    expect(() => new IdleListenerReaper(container, options)).toThrow(message);
  });
});
