import { describe, expect, it, jest } from '@jest/globals';
import {
  EncodedSseEvent,
  ERIC_SSE_OPTIONS,
  EricSseModule,
  InMemorySseHistory,
  InvalidConfigurationException,
  InvalidMessageFormat,
  lastEventIdOf,
  Message,
  MESSAGE_TYPE_HISTORY_GAP,
  parseLastEventId,
  SSEChannel,
  type ResolvedEricSseOptions,
} from '../../src/index.js';
import { bootstrapError, createApp } from '../nest/support.js';

function event(n: number): EncodedSseEvent {
  return new EncodedSseEvent({ event: 'e', data: n });
}

async function listenerHistory(history: InMemorySseHistory) {
  const channel = new SSEChannel();
  const listener = await channel.addListener();
  return { channel, connection: channel.getConnection(listener.id), of: history.forListener.bind(history) };
}

describe('InMemorySseHistory', () => {
  it('numbers events 1, 2, 3... per connection, one history per connection', async () => {
    const history = new InMemorySseHistory();
    const { channel, connection } = await listenerHistory(history);
    const other = channel.getConnection((await channel.addListener()).id);
    const mine = history.forListener(channel, connection);
    expect(history.forListener(channel, connection)).toBe(mine);
    expect(mine.recordNow(event(1))).toBe(1);
    expect(mine.record([event(2), event(3)])).toBe(2);
    expect(history.forListener(channel, other).recordNow(event(1))).toBe(1);
    expect(mine.lastId()).toBe(3);
  });

  it('replays what follows an id: nothing after the last one, undefined for an id it never gave', async () => {
    const history = new InMemorySseHistory();
    const { channel, connection } = await listenerHistory(history);
    const h = history.forListener(channel, connection);
    const events = [event(1), event(2), event(3)];
    h.record(events);
    expect(h.replay(0)).toEqual({ events, firstId: 1, gap: false });
    expect(h.replay(1)).toEqual({ events: events.slice(1), firstId: 2, gap: false });
    expect(h.replay(3)).toEqual({ events: [], firstId: 4, gap: false });
    expect(h.replay(4)).toBeUndefined();
  });

  it('opens a stream after a known id, else after the last id, else after the earliest unconfirmed start (once)', async () => {
    const history = new InMemorySseHistory();
    const { channel, connection } = await listenerHistory(history);
    const h = history.forListener(channel, connection);
    const events = [1, 2, 3, 4].map(event);
    h.record(events.slice(0, 2));
    expect(h.open(1)).toEqual({ events: events.slice(1, 2), firstId: 2, gap: false });
    expect(h.open(undefined)).toEqual({ events: [], firstId: 3, gap: false });
    expect(h.open(9)).toEqual({ events: [], firstId: 3, gap: false }); // never given: as no id
    // Two streams started after 2 and after 1 were not read by their clients: the earliest counts.
    h.markUnconfirmed(2);
    h.markUnconfirmed(1);
    h.record(events.slice(2));
    expect(h.open(undefined)).toEqual({ events: events.slice(1), firstId: 2, gap: false });
    expect(h.open(undefined)).toEqual({ events: [], firstId: 5, gap: false }); // forgotten once used
    h.markUnconfirmed(3);
    expect(h.open(4)).toEqual({ events: [], firstId: 5, gap: false }); // a known id wins, the mark stays
    expect(h.open(undefined)).toEqual({ events: events.slice(3), firstId: 4, gap: false });
  });

  it('keeps the most recent maxEvents; an older id is a gap', async () => {
    const history = new InMemorySseHistory({ maxEvents: 2 });
    const { channel, connection } = await listenerHistory(history);
    const h = history.forListener(channel, connection);
    const events = [1, 2, 3, 4].map(event);
    h.record(events);
    expect(h.size).toBe(2);
    expect(h.replay(1)).toEqual({ events: events.slice(2), firstId: 3, gap: true });
    expect(h.replay(2)).toEqual({ events: events.slice(2), firstId: 3, gap: false });
  });

  it('with maxEvents 0 keeps nothing but still numbers: any earlier id is a gap up to the next id', async () => {
    const history = new InMemorySseHistory({ maxEvents: 0 });
    const { channel, connection } = await listenerHistory(history);
    const h = history.forListener(channel, connection);
    expect(h.record([event(1), event(2)])).toBe(1);
    expect(h.size).toBe(0);
    expect(h.replay(0)).toEqual({ events: [], firstId: 3, gap: true });
    expect(h.replay(2)).toEqual({ events: [], firstId: 3, gap: false });
  });

  it('drops events past maxAgeMilliseconds on replay, on delivery and in a sweep', async () => {
    const history = new InMemorySseHistory({ maxAgeMilliseconds: 1000 });
    const { channel, connection } = await listenerHistory(history);
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'], now: 1_000_000 });
    try {
      const h = history.forListener(channel, connection);
      const second = event(2);
      // The clock is read once per run of synchronous code: each step below runs in a turn of its own.
      const later = async (ms: number) => {
        await Promise.resolve();
        jest.advanceTimersByTime(ms);
      };
      h.recordNow(event(1));
      await later(600);
      h.recordNow(second);
      await later(600); // event 1 is 1200 ms old, event 2 600 ms
      expect(h.size).toBe(2); // the sweep at 1000 ms found nothing old enough
      expect(h.replay(0)).toEqual({ events: [second], firstId: 2, gap: true });
      await later(1000); // the sweep drops event 2 without a delivery or a replay
      expect(h.size).toBe(0);
      expect(h.replay(2)).toEqual({ events: [], firstId: 3, gap: false });
      expect(jest.getTimerCount()).toBe(0); // nothing held: no sweep timer left
    } finally {
      jest.useRealTimers();
    }
  });

  it('stays bounded over many events (the arrays are compacted as they are trimmed)', async () => {
    const history = new InMemorySseHistory({ maxEvents: 10 });
    const { channel, connection } = await listenerHistory(history);
    const h = history.forListener(channel, connection);
    const shared = event(0);
    for (let i = 0; i < 10_000; i++) h.recordNow(shared);
    expect(h.size).toBe(10);
    const replay = h.replay(9_995);
    expect(replay).toMatchObject({ firstId: 9_996, gap: false });
    expect(replay?.events).toHaveLength(5);
    const internals = h as unknown as { events: unknown[] };
    expect(internals.events.length).toBeLessThanOrEqual(2 * 10 + 32);
  });

  it('rejects bad options with InvalidConfigurationException naming them', () => {
    for (const [options, name] of [
      [{ maxEvents: -1 }, 'history.maxEvents'],
      [{ maxEvents: 1.5 }, 'history.maxEvents'],
      [{ maxAgeMilliseconds: 0 }, 'history.maxAgeMilliseconds'],
      [{ maxAgeMilliseconds: Number.NaN }, 'history.maxAgeMilliseconds'],
    ] as const) {
      expect(() => new InMemorySseHistory(options)).toThrow(InvalidConfigurationException);
      expect(() => new InMemorySseHistory(options)).toThrow(name);
    }
  });
});

describe('Last-Event-ID parsing', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['9007199254740991', 9007199254740991],
    ['9007199254740992', undefined],
    ['', undefined],
    [' 1', undefined],
    ['1 ', undefined],
    ['-1', undefined],
    ['1e3', undefined],
    ['0x10', undefined],
    ['abc', undefined],
  ])('parseLastEventId(%j) is %p', (value, expected) => {
    expect(parseLastEventId(value)).toBe(expected);
  });

  it('ignores anything but a string (the first of repeated headers counts)', () => {
    expect(parseLastEventId(undefined)).toBeUndefined();
    expect(parseLastEventId(7)).toBeUndefined();
    expect(parseLastEventId(['3', '4'])).toBe(3);
  });

  it('reads the header first, else the lastEventId query parameter', () => {
    expect(lastEventIdOf({ headers: { 'last-event-id': '5' }, url: '/s?lastEventId=2' })).toBe(5);
    expect(lastEventIdOf({ headers: {}, url: '/s?a=1&lastEventId=2' })).toBe(2);
    expect(lastEventIdOf({ headers: { 'last-event-id': '' }, url: '/s?lastEventId=2' })).toBe(2);
    expect(lastEventIdOf({ headers: {}, url: '/s', originalUrl: '/api/s?lastEventId=8' })).toBe(8);
    expect(lastEventIdOf({ headers: {}, url: '/s' })).toBeUndefined();
    expect(lastEventIdOf({ headers: { 'last-event-id': 'x' }, url: '/s?lastEventId=2' })).toBeUndefined();
  });
});

describe('EncodedSseEvent.fromFrame (how a history kept as text gives its events back)', () => {
  it.each([
    { event: 'tick', data: 'one\ntwo', retry: 5 },
    { event: '', data: '' },
    { data: { nested: ['x', 1] } },
    { event: 'e', data: 'data: inside' },
  ])('gives back the event a frame encodes: %j', (fields) => {
    const encoded = new EncodedSseEvent(fields);
    const back = EncodedSseEvent.fromFrame(encoded.frame);
    expect(back).toMatchObject({
      event: encoded.event,
      retry: encoded.retry,
      data: encoded.data,
      frame: encoded.frame,
    });
  });

  it.each([
    ['no blank line', 'data: x\n'],
    ['no data line', 'event: x\n\n'],
    ['an id line', 'id: 1\ndata: x\n\n'],
    ['an unknown field', 'foo: 1\ndata: x\n\n'],
    ['a retry that is not an integer', 'retry: x\ndata: x\n\n'],
    ['fields after data', 'data: x\nevent: y\n\n'],
    ['another encoding of the same event', 'event:x\ndata: y\n\n'],
  ])('rejects a frame with %s (InvalidMessageFormat)', (_, frame) => {
    expect(() => EncodedSseEvent.fromFrame(frame)).toThrow(InvalidMessageFormat);
  });

  it('encodes messages without an id line (each stream writes its own)', () => {
    expect(new EncodedSseEvent({ event: 'x', data: 1 }).frame).toBe('event: x\ndata: 1\n\n');
    const encoded = new SSEChannel().adapt(new Message('m', 'p'));
    expect(new EncodedSseEvent(encoded).frame).toBe('event: m\nretry: 5\ndata: p\n\n');
    expect(MESSAGE_TYPE_HISTORY_GAP).toBe('_eric_history_gap');
  });
});

describe('module options history and keepAliveMilliseconds', () => {
  it('default to 1000 events, 5 minutes, 15 s; given values are kept', async () => {
    let app = await createApp({ imports: [EricSseModule.forRoot()] });
    expect(app.get<ResolvedEricSseOptions>(ERIC_SSE_OPTIONS)).toMatchObject({
      history: { maxEvents: 1000, maxAgeMilliseconds: 300_000 },
      keepAliveMilliseconds: 15_000,
    });
    await app.close();
    app = await createApp({
      imports: [EricSseModule.forRoot({ history: { maxEvents: 0 }, keepAliveMilliseconds: 0 })],
    });
    expect(app.get<ResolvedEricSseOptions>(ERIC_SSE_OPTIONS)).toMatchObject({
      history: { maxEvents: 0, maxAgeMilliseconds: 300_000 },
      keepAliveMilliseconds: 0,
    });
    await app.close();
  });

  it.each([
    ['history not an object', { history: 5 }, 'history must be false or an object, got 5'],
    ['history an array', { history: [] }, 'history must be false or an object, got []'],
    ['history true', { history: true }, 'history must be false or an object, got true'],
    [
      'an unknown history setting',
      { history: { size: 1 } },
      'history.size is not an option (known: history.maxEvents, history.maxAgeMilliseconds)',
    ],
    ['a negative maxEvents', { history: { maxEvents: -1 } }, 'history.maxEvents must be an integer >= 0, got -1'],
    ['a string maxEvents', { history: { maxEvents: '9' } }, 'history.maxEvents must be an integer >= 0, got 9'],
    [
      'a zero maxAgeMilliseconds',
      { history: { maxAgeMilliseconds: 0 } },
      'history.maxAgeMilliseconds must be an integer >= 1, got 0',
    ],
    [
      'a negative keepAliveMilliseconds',
      { keepAliveMilliseconds: -5 },
      'keepAliveMilliseconds must be a finite number >= 0, got -5',
    ],
    [
      'an infinite keepAliveMilliseconds',
      { keepAliveMilliseconds: Infinity },
      'keepAliveMilliseconds must be a finite number >= 0, got Infinity',
    ],
  ])('rejects %s at bootstrap, naming it', async (_, options, message) => {
    const error = await bootstrapError({ imports: [EricSseModule.forRoot(options as never)] });
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect(error.message).toBe(message);
  });
});
