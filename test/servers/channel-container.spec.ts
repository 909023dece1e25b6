import { describe, expect, it } from '@jest/globals';
import { ChannelContainer, InvalidChannelException, SSEChannel } from '../../src/index.js';

describe('ChannelContainer', () => {
  it('starts empty', () => {
    const container = new ChannelContainer();
    expect(container.getAllIds()).toEqual([]);
    expect(container.has('x')).toBe(false);
  });

  it('registers channels and gets them by id', () => {
    const container = new ChannelContainer();
    const a = new SSEChannel({ channelId: 'a' });
    const b = new SSEChannel();
    container.register(a);
    container.register(b);
    expect(container.get('a')).toBe(a);
    expect(container.get(b.id)).toBe(b);
    expect(container.has('a')).toBe(true);
    expect(container.getAllIds()).toEqual(['a', b.id]);
  });

  it('rejects a duplicate id with InvalidChannelException and keeps the first channel', () => {
    const container = new ChannelContainer();
    const first = new SSEChannel({ channelId: 'dup' });
    const second = new SSEChannel({ channelId: 'dup' });
    container.register(first);
    expect(() => container.register(second)).toThrow(InvalidChannelException);
    expect(() => container.register(first)).toThrow(/dup/);
    expect(container.get('dup')).toBe(first);
    expect(container.getAllIds()).toEqual(['dup']);
  });

  it('registerIterable adds new channels and skips ids already held', () => {
    const container = new ChannelContainer();
    const held = new SSEChannel({ channelId: 'held' });
    container.register(held);
    const replacement = new SSEChannel({ channelId: 'held' });
    const fresh = new SSEChannel({ channelId: 'fresh' });
    const freshTwin = new SSEChannel({ channelId: 'fresh' });
    container.registerIterable([replacement, fresh, freshTwin]);
    expect(container.get('held')).toBe(held);
    expect(container.get('fresh')).toBe(fresh);
    expect(container.getAllIds()).toEqual(['held', 'fresh']);
  });

  it('registerIterable accepts any iterable', () => {
    const container = new ChannelContainer();
    function* channels(): Generator<SSEChannel> {
      yield new SSEChannel({ channelId: 'g1' });
      yield new SSEChannel({ channelId: 'g2' });
    }
    container.registerIterable(channels());
    container.registerIterable(new Set([new SSEChannel({ channelId: 's1' })]));
    expect(container.getAllIds()).toEqual(['g1', 'g2', 's1']);
  });

  it('get of an unknown id throws InvalidChannelException naming it', () => {
    const container = new ChannelContainer();
    expect(() => container.get('ghost')).toThrow(InvalidChannelException);
    expect(() => container.get('ghost')).toThrow('No channel with id ghost');
  });

  it('rm removes a channel; removing an unknown id throws and changes nothing', () => {
    const container = new ChannelContainer();
    const a = new SSEChannel({ channelId: 'a' });
    container.register(a);
    container.register(new SSEChannel({ channelId: 'b' }));
    container.rm('b');
    expect(container.getAllIds()).toEqual(['a']);
    expect(() => container.get('b')).toThrow(InvalidChannelException);
    expect(() => container.rm('b')).toThrow(InvalidChannelException);
    expect(() => container.rm('ghost')).toThrow(/ghost/);
    expect(container.get('a')).toBe(a);
  });

  it('accepts an id again after it was removed', () => {
    const container = new ChannelContainer();
    container.register(new SSEChannel({ channelId: 'x' }));
    container.rm('x');
    const again = new SSEChannel({ channelId: 'x' });
    container.register(again);
    expect(container.get('x')).toBe(again);
  });

  it('getAllIds returns a copy', () => {
    const container = new ChannelContainer();
    container.register(new SSEChannel({ channelId: 'a' }));
    container.getAllIds().length = 0;
    expect(container.getAllIds()).toEqual(['a']);
  });
});
