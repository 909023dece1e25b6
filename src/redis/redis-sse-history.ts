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

// Drops the entries of a history list older than `oldest` (ms), from its head.
const PRUNE = `
local function prune(key, oldest)
  while true do
    local head = redis.call('LINDEX', key, 0)
    if not head then return end
    local stamp = tonumber(string.match(head, '^%d+:(%d+):'))
    if stamp ~= nil and stamp >= oldest then return end
    redis.call('LPOP', key)
  end
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

// KEYS: event-id, history, for each listener. ARGV: max events, max age (ms), then for each listener its
// number of events and their frames. → the id of each listener's first event. The entries of one listener
// are contiguous ids (INCRBY and RPUSH in one script), which replay relies on.
const RECORD = `${PRUNE}
local maxEvents = tonumber(ARGV[1])
local maxAge = tonumber(ARGV[2])
local out = {}
local at = 3
for k = 1, #KEYS, 2 do
  local n = tonumber(ARGV[at])
  local first = redis.call('INCRBY', KEYS[k], n) - n + 1
  out[#out + 1] = first
  if maxEvents > 0 and n > 0 then
    for i = math.max(1, n - maxEvents + 1), n do
      redis.call('RPUSH', KEYS[k + 1], string.format('%d:%d:', first + i - 1, now) .. ARGV[at + i])
    end
    redis.call('LTRIM', KEYS[k + 1], -maxEvents, -1)
    prune(KEYS[k + 1], now - maxAge)
    redis.call('PEXPIRE', KEYS[k + 1], maxAge)
  end
  at = at + n + 1
end
return out`;

// KEYS: event-id, history. ARGV: the id to resume after, max age (ms). → false when that id is beyond the
// last one given; else [the id of the first event to send, the entries from it].
const REPLAY = `${PRUNE}
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = tonumber(ARGV[1])
if after > last then return false end
prune(KEYS[2], now - tonumber(ARGV[2]))
local firstHeld = last + 1
local head = redis.call('LINDEX', KEYS[2], 0)
if head then firstHeld = tonumber(string.match(head, '^(%d+):')) end
local firstId = math.max(firstHeld, after + 1)
if firstId > last then return { firstId, {} } end
return { firstId, redis.call('LRANGE', KEYS[2], firstId - firstHeld, -1) }`;

const RECORD_COMMAND = 'ericSseHistoryRecord';
const REPLAY_COMMAND = 'ericSseHistoryReplay';

type CommandCall = (...args: (string | number)[]) => Promise<unknown>;

interface PendingRecord {
  history: RedisListenerHistory;
  frames: string[];
  resolve: (firstId: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Event ids and replay histories in Redis, shared by every instance on the same Redis and key prefix: a
 * client can resume on any instance from an id another gave. Per listener, `<p>event-id:<c>:<l>` is the
 * last id given and `<p>history:<c>:<l>` a list of the delivered frames, the most recent `maxEvents`,
 * each stamped with Redis's clock: entries past `maxAgeMilliseconds` are dropped when the list is written
 * or read, and the list expires that long after its last write. Both keys go with the listener (its
 * removal, or its channel's).
 *
 * Numbering is one script per batch of events: every stream of this process numbering in the same tick
 * (say, the local streams one broadcast woke) shares one script. A history holds each listener's copy of
 * the frames: Redis memory grows with listeners × `maxEvents` × frame size.
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
  }

  forListener(channel: AbstractChannel, connection: Connection): RedisListenerHistory {
    const { keys } = this.backend;
    const listenerId = connection.listener.id;
    return new RedisListenerHistory(
      this,
      listenerId,
      keys.eventId(channel.id, listenerId),
      keys.history(channel.id, listenerId),
    );
  }

  /** @internal Numbers `frames` with the others asked for in this tick. */
  record(history: RedisListenerHistory, frames: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ history, frames, resolve, reject });
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
      ),
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
    const keys: string[] = [];
    const args: (string | number)[] = [this.options.maxEvents, this.options.maxAgeMilliseconds];
    for (const { history, frames } of batch) {
      keys.push(history.eventIdKey, history.historyKey);
      args.push(frames.length);
      for (const frame of frames) args.push(frame);
    }
    this.command(RECORD_COMMAND)(keys.length, ...keys, ...args).then(
      (reply) => {
        const firstIds = reply as number[];
        for (let i = 0; i < batch.length; i++) batch[i].resolve(Number(firstIds[i]));
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
    readonly listenerId: string,
    readonly eventIdKey: string,
    readonly historyKey: string,
  ) {}

  record(events: readonly EncodedSseEvent[]): Promise<number> {
    return this.owner.record(
      this,
      events.map((event) => event.frame),
    );
  }

  async replay(lastEventId: number): Promise<HistoryReplay | undefined> {
    const reply = (await this.owner.replay(this, lastEventId)) as [number, string[]] | null;
    if (reply === null) return undefined;
    const firstId = Number(reply[0]);
    const events = reply[1].map((entry, index) => this.decode(entry, firstId + index));
    return { events, firstId, gap: firstId > lastEventId + 1 };
  }

  /** The frame of a stored `<id>:<ms>:<frame>` entry, which must have id `expected`. */
  private decode(entry: string, expected: number): EncodedSseEvent {
    const idEnd = entry.indexOf(':');
    const stampEnd = entry.indexOf(':', idEnd + 1);
    if (idEnd === -1 || stampEnd === -1 || Number(entry.slice(0, idEnd)) !== expected) {
      throw this.malformed(`entry ${JSON.stringify(entry.slice(0, 40))} is not event ${expected}`);
    }
    try {
      return EncodedSseEvent.fromFrame(entry.slice(stampEnd + 1));
    } catch (error) {
      throw this.malformed(error instanceof Error ? error.message : String(error));
    }
  }

  private malformed(detail: string): RepositoryError {
    return new RepositoryError(`The SSE history of listener ${this.listenerId} is malformed: ${detail}`);
  }
}
