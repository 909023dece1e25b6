import { createHash } from 'node:crypto';
import type { AbstractChannel } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import { RepositoryError } from '../core/errors.js';
import { EncodedSseEvent } from '../sse/encoded-sse-event.js';
import {
  resolveSseHistoryOptions,
  type HistoryReplay,
  type ListenerHistory,
  type ResolvedSseHistoryOptions,
  type SseHistory,
  type SseHistoryOptions,
} from '../sse/sse-history.js';
import type { RedisBackend } from './redis-backend.js';
import { redisCall, repositoryError } from './redis-errors.js';

/** Listeners numbered in one script at most; more are split across several. */
const MAX_LISTENERS_PER_SCRIPT = 500;

/** A frame outlives, by this much, the history entries that refer to it (they are read against the same clock). */
const FRAME_TTL_SLACK_MS = 1000;

// Redis's clock, in ms, for the age of history entries.
const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

// KEYS: the frame keys (F of them). ARGV: max events, max age (ms), F, the F frames, then per channel: its
// event-id key prefix, its history key prefix, its number of listeners and, per listener, its id, its
// number of events and, for each, the index (1..F) of its frame. → the id of each listener's first event,
// in order. A listener's entries are contiguous ids (INCRBY and RPUSH in one script), which replay relies
// on. Frames are stored once per script, however many listeners they went to, and outlive the entries
// that refer to them. Ages are enforced when a history is read; the count here (the list is trimmed once
// over it). A list expires between max age and twice that after its last write: its expiry is pushed back
// only once it is under max age, as doing it on every write would cost more than the rest.
const RECORD = `${NOW}
local maxEvents = tonumber(ARGV[1])
local maxAge = tonumber(ARGV[2])
local frames = tonumber(ARGV[3])
local refs = {}
if maxEvents > 0 then
  for f = 1, frames do
    redis.call('SET', KEYS[f], ARGV[3 + f], 'PX', maxAge + ${FRAME_TTL_SLACK_MS})
    refs[f] = string.sub(KEYS[f], -40)
  end
end
local out = {}
local at = 4 + frames
while at <= #ARGV do
  local eventIds, histories, listeners = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  at = at + 3
  for l = 1, listeners do
    local id, n = ARGV[at], tonumber(ARGV[at + 1])
    local first = redis.call('INCRBY', eventIds .. id, n) - n + 1
    out[#out + 1] = first
    if maxEvents > 0 and n > 0 then
      local key = histories .. id
      local length = 0
      for i = math.max(1, n - maxEvents + 1), n do
        length = redis.call('RPUSH', key, (first + i - 1) .. ':' .. now .. ':' .. refs[tonumber(ARGV[at + 1 + i])])
      end
      if length > maxEvents then redis.call('LTRIM', key, -maxEvents, -1) end
      if redis.call('PTTL', key) < maxAge then redis.call('PEXPIRE', key, 2 * maxAge) end
    end
    at = at + n + 2
  end
end
return out`;

// The end of REPLAY and OPEN, once 'after' and 'last' are known: drops entries past max age (ARGV[2]), and
// sets firstId (the id of the first event to send) and frames (the frames from it; frame key prefix ARGV[3]).
const REPLAY_FROM_AFTER = `
local oldest = now - tonumber(ARGV[2])
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head then break end
  local stamp = tonumber(string.match(head, '^%d+:(%d+):'))
  if stamp ~= nil and stamp >= oldest then break end
  redis.call('LPOP', KEYS[2])
end
local firstHeld = last + 1
local head = redis.call('LINDEX', KEYS[2], 0)
if head then firstHeld = tonumber(string.match(head, '^(%d+):')) end
local firstId = math.max(firstHeld, after + 1)
local frames = {}
if firstId <= last then
  local entries = redis.call('LRANGE', KEYS[2], firstId - firstHeld, -1)
  for i = 1, #entries do
    local id, ref = string.match(entries[i], '^(%d+):%d+:(%x+)$')
    if tonumber(id) ~= firstId + i - 1 then return redis.error_reply('history entry ' .. i .. ' is not event ' .. (firstId + i - 1)) end
    local frame = redis.call('GET', ARGV[3] .. ref)
    if not frame then return redis.error_reply('the frame of event ' .. id .. ' is gone') end
    frames[i] = frame
  end
end
`;

// KEYS: event-id, history. ARGV: the id to resume after, max age (ms), frame key prefix. → false when that
// id is beyond the last one given; else [the id of the first event to send, the frames from it].
const REPLAY = `${NOW}
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = tonumber(ARGV[1])
if after > last then return false end
${REPLAY_FROM_AFTER}
return { firstId, frames }`;

// KEYS: event-id, history, unconfirmed start. ARGV: the id to resume after ('' for none), max age (ms),
// frame key prefix. Where a stream starting now resumes (see ListenerHistory.open). → [the id of the first
// event to send, the frames from it, the id it resumes after].
const OPEN = `${NOW}
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = tonumber(ARGV[1])
if after == nil or after > last then
  after = tonumber(redis.call('GET', KEYS[3]) or '') or last
  if after > last then after = last end
  redis.call('DEL', KEYS[3])
end
${REPLAY_FROM_AFTER}
return { firstId, frames, after }`;

// KEYS: unconfirmed start. ARGV: the start of a stream whose client did not read it, how long it is kept
// (ms). Keeps the earliest.
const MARK_UNCONFIRMED = `
local held = tonumber(redis.call('GET', KEYS[1]) or '')
if held == nil or tonumber(ARGV[1]) < held then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

const RECORD_COMMAND = 'ericSseHistoryRecord';
const REPLAY_COMMAND = 'ericSseHistoryReplay';
const OPEN_COMMAND = 'ericSseHistoryOpen';
const MARK_UNCONFIRMED_COMMAND = 'ericSseHistoryMarkUnconfirmed';

type CommandCall = (...args: (string | number)[]) => Promise<unknown>;

interface PendingRecord {
  history: RedisListenerHistory;
  events: readonly EncodedSseEvent[];
  resolve: (firstId: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Event ids and replay histories in Redis, shared by every instance on the same Redis and key prefix: a
 * client can resume on any instance from an id another gave. Per listener, `<p>event-id:<c>:<l>` is the
 * last id given and `<p>history:<c>:<l>` a list of small entries (id, Redis clock time, the SHA-1 of the
 * frame), the most recent `maxEvents`; the frames themselves are stored once (`<p>frame:<sha1>`), however
 * many listeners they went to. Entries past `maxAgeMilliseconds` are dropped when the history is read; a
 * list expires between that and twice that after its last write, a frame after the entries referring to it.
 * The listener's keys go with the listener (its removal, or its channel's).
 *
 * Numbering is one script per tick: every stream of this process numbering in the same tick (say, the
 * local streams one broadcast woke) shares it, and each distinct frame is sent and stored once. Redis
 * memory grows with listeners × `maxEvents` × ~50 bytes, plus each distinct frame once.
 */
export class RedisSseHistory implements SseHistory {
  readonly options: ResolvedSseHistoryOptions;
  private pending: PendingRecord[] = [];
  private scheduled = false;

  constructor(
    readonly backend: RedisBackend,
    options: SseHistoryOptions = {},
  ) {
    this.options = resolveSseHistoryOptions(options);
    backend.client.defineCommand(RECORD_COMMAND, { lua: RECORD });
    backend.client.defineCommand(REPLAY_COMMAND, { numberOfKeys: 2, lua: REPLAY });
    backend.client.defineCommand(OPEN_COMMAND, { numberOfKeys: 3, lua: OPEN });
    backend.client.defineCommand(MARK_UNCONFIRMED_COMMAND, { numberOfKeys: 1, lua: MARK_UNCONFIRMED });
  }

  forListener(channel: AbstractChannel, connection: Connection): RedisListenerHistory {
    const { keys } = this.backend;
    const listenerId = connection.listener.id;
    return new RedisListenerHistory(
      this,
      channel.id,
      listenerId,
      keys.eventId(channel.id, listenerId),
      keys.history(channel.id, listenerId),
      keys.unconfirmedStart(channel.id, listenerId),
    );
  }

  /** @internal Numbers `events` with the others asked for in this tick. */
  record(history: RedisListenerHistory, events: readonly EncodedSseEvent[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ history, events, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      process.nextTick(this.flush);
    });
  }

  /** @internal */
  replay(history: RedisListenerHistory, lastEventId: number): Promise<unknown> {
    return redisCall(`read the SSE history of listener ${history.listenerId}`, () =>
      this.command(REPLAY_COMMAND)(
        history.eventIdKey,
        history.historyKey,
        lastEventId,
        this.options.maxAgeMilliseconds,
        this.backend.keys.framePrefix,
      ),
    );
  }

  /** @internal */
  open(history: RedisListenerHistory, lastEventId: number | undefined): Promise<unknown> {
    return redisCall(`open the SSE history of listener ${history.listenerId}`, () =>
      this.command(OPEN_COMMAND)(
        history.eventIdKey,
        history.historyKey,
        history.unconfirmedKey,
        lastEventId ?? '',
        this.options.maxAgeMilliseconds,
        this.backend.keys.framePrefix,
      ),
    );
  }

  /** @internal Kept as long as the history reaches back. */
  markUnconfirmed(history: RedisListenerHistory, start: number): Promise<unknown> {
    return redisCall(`mark a stream of listener ${history.listenerId} unconfirmed`, () =>
      this.command(MARK_UNCONFIRMED_COMMAND)(history.unconfirmedKey, start, this.options.maxAgeMilliseconds),
    );
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let start = 0; start < all.length; start += MAX_LISTENERS_PER_SCRIPT) {
      this.run(all.slice(start, start + MAX_LISTENERS_PER_SCRIPT));
    }
  };

  private run(batch: PendingRecord[]): void {
    // Each distinct frame goes once: a broadcast streamed by many listeners of this process is one frame.
    const frameIndex = new Map<EncodedSseEvent, number>();
    const frameKeys: string[] = [];
    const frames: string[] = [];
    // Listeners grouped by channel, whose key prefixes go once; replies come back in this order.
    const byChannel = new Map<string, PendingRecord[]>();
    for (const pending of batch) {
      const group = byChannel.get(pending.history.channelId);
      if (group === undefined) byChannel.set(pending.history.channelId, [pending]);
      else group.push(pending);
    }
    const ordered: PendingRecord[] = [];
    const perChannel: (string | number)[] = [];
    const { keys } = this.backend;
    for (const [channelId, group] of byChannel) {
      perChannel.push(keys.eventIdPrefix(channelId), keys.historyPrefix(channelId), group.length);
      for (const pending of group) {
        ordered.push(pending);
        const { history, events } = pending;
        perChannel.push(history.listenerId, events.length);
        for (const event of events) {
          let index = frameIndex.get(event);
          if (index === undefined) {
            frames.push(event.frame);
            frameKeys.push(keys.framePrefix + createHash('sha1').update(event.frame).digest('hex'));
            index = frames.length;
            frameIndex.set(event, index);
          }
          perChannel.push(index);
        }
      }
    }
    const { maxEvents, maxAgeMilliseconds } = this.options;
    const args = [maxEvents, maxAgeMilliseconds, frames.length, ...frames, ...perChannel];
    this.command(RECORD_COMMAND)(frameKeys.length, ...frameKeys, ...args).then(
      (reply) => {
        const firstIds = reply as number[];
        for (let i = 0; i < ordered.length; i++) ordered[i].resolve(Number(firstIds[i]));
      },
      (error: unknown) => {
        for (const { history, reject } of batch) {
          reject(repositoryError(`number the SSE events of listener ${history.listenerId}`, error));
        }
      },
    );
  }

  private command(name: string): CommandCall {
    const client = this.backend.client;
    const call = (client as unknown as Record<string, CommandCall>)[name];
    return (...args) => call.apply(client, args);
  }
}

/** One listener's ids and history in Redis. */
export class RedisListenerHistory implements ListenerHistory {
  constructor(
    private readonly owner: RedisSseHistory,
    readonly channelId: string,
    readonly listenerId: string,
    readonly eventIdKey: string,
    readonly historyKey: string,
    readonly unconfirmedKey: string,
  ) {}

  record(events: readonly EncodedSseEvent[]): Promise<number> {
    return this.owner.record(this, events);
  }

  async open(lastEventId: number | undefined): Promise<HistoryReplay> {
    const [first, frames, after] = (await this.owner.open(this, lastEventId)) as [number, string[], number];
    const firstId = Number(first);
    return { events: frames.map((frame) => this.decode(frame)), firstId, gap: firstId > Number(after) + 1 };
  }

  async markUnconfirmed(start: number): Promise<void> {
    await this.owner.markUnconfirmed(this, start);
  }

  async replay(lastEventId: number): Promise<HistoryReplay | undefined> {
    const reply = (await this.owner.replay(this, lastEventId)) as [number, string[]] | null;
    if (reply === null) return undefined;
    const firstId = Number(reply[0]);
    const events = reply[1].map((frame) => this.decode(frame));
    return { events, firstId, gap: firstId > lastEventId + 1 };
  }

  private decode(frame: string): EncodedSseEvent {
    try {
      return EncodedSseEvent.fromFrame(frame);
    } catch (error) {
      throw this.malformed(error instanceof Error ? error.message : String(error));
    }
  }

  private malformed(detail: string): RepositoryError {
    return new RepositoryError(`The SSE history of listener ${this.listenerId} is malformed: ${detail}`);
  }
}
