import { describe, expect, it } from '@jest/globals';
import { InMemoryQueue, Message, NoMessagesException, type MessageContract } from '../../src/index.js';

const m = (n: number): Message => new Message('n', n);

describe('InMemoryQueue', () => {
  it('pops in FIFO order', async () => {
    const queue = new InMemoryQueue();
    await queue.push(m(1));
    await queue.push(m(2));
    await queue.push(m(3));
    expect((await queue.pop()).payload).toBe(1);
    expect((await queue.pop()).payload).toBe(2);
    expect((await queue.pop()).payload).toBe(3);
  });

  it('returns the very message object pushed', async () => {
    const queue = new InMemoryQueue();
    const msg = m(1);
    await queue.push(msg);
    expect(await queue.pop()).toBe(msg);
  });

  it('rejects pop on an empty queue with NoMessagesException', async () => {
    const queue = new InMemoryQueue();
    await expect(queue.pop()).rejects.toBeInstanceOf(NoMessagesException);
    await queue.push(m(1));
    await queue.pop();
    await expect(queue.pop()).rejects.toThrow(NoMessagesException);
  });

  it('popNow returns undefined when empty and the oldest message otherwise', async () => {
    const queue = new InMemoryQueue();
    expect(queue.popNow()).toBeUndefined();
    await queue.push(m(1));
    await queue.push(m(2));
    expect(queue.popNow()?.payload).toBe(1);
    expect(queue.popNow()?.payload).toBe(2);
    expect(queue.popNow()).toBeUndefined();
  });

  it('starts with the given messages', async () => {
    const queue = new InMemoryQueue([m(1), m(2)]);
    expect(queue.size).toBe(2);
    expect((await queue.pop()).payload).toBe(1);
  });

  it('reports its size and peeks without removing', async () => {
    const queue = new InMemoryQueue();
    expect(queue.size).toBe(0);
    expect(queue.peekAll()).toEqual([]);
    await queue.push(m(1));
    await queue.push(m(2));
    await queue.push(m(3));
    queue.popNow();
    expect(queue.size).toBe(2);
    expect(queue.peekAll().map((x) => x.payload)).toEqual([2, 3]);
    expect(queue.size).toBe(2);
    const peeked = queue.peekAll();
    peeked.length = 0;
    expect(queue.size).toBe(2);
  });

  it('keeps FIFO order across many interleaved pushes and pops (past internal compaction)', async () => {
    const queue = new InMemoryQueue();
    const popped: number[] = [];
    let next = 0;
    // Push 3, pop 2 per round: the backlog and the consumed prefix both grow well past 2,048.
    for (let round = 0; round < 3000; round++) {
      await queue.push(m(next++));
      await queue.push(m(next++));
      await queue.push(m(next++));
      popped.push((await queue.pop()).payload as number);
      popped.push(queue.popNow()?.payload as number);
      if (round % 500 === 0) {
        expect(queue.peekAll().map((x) => x.payload)).toEqual(
          Array.from({ length: queue.size }, (_, i) => popped.length + i),
        );
      }
    }
    expect(queue.size).toBe(3000);
    while (queue.size > 0) popped.push(queue.popNow()?.payload as number);
    expect(popped).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(queue.popNow()).toBeUndefined();
  });

  it('keeps FIFO order when draining a large backlog, then refilling', async () => {
    const queue = new InMemoryQueue();
    for (let i = 0; i < 5000; i++) await queue.push(m(i));
    const first: number[] = [];
    for (let i = 0; i < 4000; i++) first.push(queue.popNow()?.payload as number);
    expect(first).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    for (let i = 5000; i < 6000; i++) await queue.push(m(i));
    expect(queue.size).toBe(2000);
    const rest: number[] = [];
    for (let msg = queue.popNow(); msg !== undefined; msg = queue.popNow()) rest.push(msg.payload as number);
    expect(rest).toEqual(Array.from({ length: 2000 }, (_, i) => 4000 + i));
  });

  describe('onReady', () => {
    it('fires once, on the next push', async () => {
      const queue = new InMemoryQueue();
      let calls = 0;
      queue.onReady(() => calls++);
      expect(calls).toBe(0);
      await queue.push(m(1));
      expect(calls).toBe(1);
      await queue.push(m(2));
      expect(calls).toBe(1);
    });

    it('fires at once when the queue is not empty', async () => {
      const queue = new InMemoryQueue([m(1)]);
      let calls = 0;
      const cancel = queue.onReady(() => calls++);
      expect(calls).toBe(1);
      cancel();
      await queue.push(m(2));
      expect(calls).toBe(1);
    });

    it('fires every waiting callback, in registration order', async () => {
      const queue = new InMemoryQueue();
      const calls: string[] = [];
      queue.onReady(() => calls.push('a'));
      queue.onReady(() => calls.push('b'));
      await queue.push(m(1));
      expect(calls).toEqual(['a', 'b']);
    });

    it('sees the pushed message from inside the callback', async () => {
      const queue = new InMemoryQueue();
      let seen: MessageContract | undefined;
      queue.onReady(() => (seen = queue.popNow()));
      await queue.push(m(7));
      expect(seen?.payload).toBe(7);
    });

    it('does not fire a cancelled callback', async () => {
      const queue = new InMemoryQueue();
      const calls: string[] = [];
      const cancel = queue.onReady(() => calls.push('a'));
      queue.onReady(() => calls.push('b'));
      cancel();
      await queue.push(m(1));
      expect(calls).toEqual(['b']);
    });

    it('tolerates cancelling after firing', async () => {
      const queue = new InMemoryQueue();
      let calls = 0;
      const cancel = queue.onReady(() => calls++);
      await queue.push(m(1));
      expect(() => cancel()).not.toThrow();
      queue.popNow();
      queue.onReady(() => calls++);
      cancel();
      await queue.push(m(2));
      expect(calls).toBe(2);
    });

    it('fires again for a new registration after the queue was drained', async () => {
      const queue = new InMemoryQueue();
      let calls = 0;
      queue.onReady(() => calls++);
      await queue.push(m(1));
      queue.popNow();
      queue.onReady(() => calls++);
      expect(calls).toBe(1);
      await queue.push(m(2));
      expect(calls).toBe(2);
    });
  });
});
