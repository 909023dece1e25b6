import { describe, expect, it } from '@jest/globals';
import { Message, MessageQueueListener } from '../../src/index.js';
import { UUID_V4 } from './support.js';

describe('MessageQueueListener', () => {
  it('gets a fresh UUID v4 id by default', () => {
    const a = new MessageQueueListener();
    const b = new MessageQueueListener();
    expect(a.id).toMatch(UUID_V4);
    expect(a.id).not.toBe(b.id);
  });

  it('keeps a given id', () => {
    expect(new MessageQueueListener('bob').id).toBe('bob');
  });

  it('is not running until started, and stops', () => {
    const listener = new MessageQueueListener();
    expect(listener.isRunning()).toBe(false);
    listener.start();
    expect(listener.isRunning()).toBe(true);
    listener.start();
    expect(listener.isRunning()).toBe(true);
    listener.stop();
    expect(listener.isRunning()).toBe(false);
    listener.stop();
    expect(listener.isRunning()).toBe(false);
    listener.start();
    expect(listener.isRunning()).toBe(true);
  });

  it('has an onMessage hook that does nothing by default', () => {
    const listener = new MessageQueueListener();
    expect(listener.onMessage(new Message('x'))).toBeUndefined();
  });

  describe('onStop', () => {
    it('calls the callback once, on the next stop, after the state changed', () => {
      const listener = new MessageQueueListener();
      listener.start();
      const seen: boolean[] = [];
      listener.onStop(() => seen.push(listener.isRunning()));
      expect(seen).toEqual([]);
      listener.stop();
      expect(seen).toEqual([false]);
      listener.start();
      listener.stop();
      expect(seen).toEqual([false]);
    });

    it('calls every registered callback', () => {
      const listener = new MessageQueueListener();
      const calls: string[] = [];
      listener.onStop(() => calls.push('a'));
      listener.onStop(() => calls.push('b'));
      listener.stop();
      expect(calls).toEqual(['a', 'b']);
    });

    it('does not call a cancelled callback', () => {
      const listener = new MessageQueueListener();
      const calls: string[] = [];
      const cancel = listener.onStop(() => calls.push('a'));
      listener.onStop(() => calls.push('b'));
      cancel();
      listener.stop();
      expect(calls).toEqual(['b']);
    });

    it('tolerates cancelling after the callback fired', () => {
      const listener = new MessageQueueListener();
      let calls = 0;
      const cancel = listener.onStop(() => calls++);
      listener.stop();
      expect(() => cancel()).not.toThrow();
      const again = listener.onStop(() => calls++);
      cancel();
      listener.stop();
      expect(calls).toBe(2);
      again();
    });

    it('lets a callback register for the next stop', () => {
      const listener = new MessageQueueListener();
      let calls = 0;
      const rearm = (): void => {
        calls++;
        if (calls < 3) listener.onStop(rearm);
      };
      listener.onStop(rearm);
      listener.stop();
      expect(calls).toBe(1);
      listener.stop();
      listener.stop();
      listener.stop();
      expect(calls).toBe(3);
    });
  });
});
