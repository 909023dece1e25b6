/**
 * Every Redis key and pub/sub channel the backend uses, under one prefix (default `eric-sse:`), so that
 * several applications (or tests) can share one Redis.
 *
 * - `<p>seq`: a counter that orders channels and listeners by creation.
 * - `<p>channels`: hash, channel id → `{ kind, data }` (JSON); `<p>channel-order`: sorted set of channel ids.
 * - `<p>listeners:<c>`: sorted set of the channel's listener ids, in registration order;
 *   `<p>listener-types:<c>`: hash, listener id → the type name its class is registered under.
 * - `<p>queue:<c>:<listener id>`: list, the listener's pending messages (encoded by `message-codec`).
 * - `<p>event-id:<c>:<listener id>`: the id of the last SSE event delivered to the listener;
 *   `<p>history:<c>:<listener id>`: list, its replay history (`<id>:<ms>:<frame sha1>`, oldest first,
 *   capped, expiring); both removed with the listener. `<p>frame:<sha1>`: an SSE frame the histories
 *   refer to, stored once however many listeners it went to, expiring (see `RedisSseHistory`).
 * - `<p>idle-listeners`: sorted set, `JSON [channel id, listener id]` → when it was last streamed (Redis
 *   clock, ms), with `trackIdleListeners`; `<p>idle-reaper`: the lock of the process reaping this round
 *   (see `RedisIdleListeners`).
 * - `<p>idem:<c>:<key>`: the answer of the first publish (dispatch or broadcast) that carried that
 *   idempotency key on the channel, expiring with the idempotency window; `<p>idem-keys:<c>`: sorted set
 *   of those keys by when they expire (Redis clock, ms), which bounds their count and lets the channel's
 *   removal delete them.
 * - `<p>unconfirmed:<c>:<listener id>`: where the earliest stream of the listener whose client did not
 *   read it started, for the next stream without `Last-Event-ID`; expires with the history's reach.
 * - `<p>taking:<origin>:<n>`: what one take script took for a process's streams (JSON), until that process
 *   has the reply; a take whose reply was lost is given back from it (see `RedisTaker`). Expires.
 * - `<p>wake:<c>`: pub/sub, "a message may be waiting" (`d:<listener id>` after a dispatch, `b` after a broadcast).
 * - `<p>control`: pub/sub, removals every process must act on (JSON `{ rc }` / `{ rl }`).
 * - `<p>kv:<namespace>:data` / `:order`: the `RedisStorage` of that namespace.
 *
 * `<c>` is the channel id with `%` and `:` escaped (`%25`, `%3A`), so that the first `:` after it always
 * ends it: channel `a:b` and listener `c` never share a key with channel `a` and listener `b:c`.
 */
export class RedisKeys {
  readonly seq: string;
  readonly channels: string;
  readonly channelOrder: string;
  readonly control: string;

  constructor(readonly prefix: string) {
    this.seq = `${prefix}seq`;
    this.channels = `${prefix}channels`;
    this.channelOrder = `${prefix}channel-order`;
    this.control = `${prefix}control`;
  }

  listeners(channelId: string): string {
    return `${this.prefix}listeners:${escapeChannelId(channelId)}`;
  }

  listenerTypes(channelId: string): string {
    return `${this.prefix}listener-types:${escapeChannelId(channelId)}`;
  }

  /** The queue keys of a channel all start with this; the listener id follows. */
  queuePrefix(channelId: string): string {
    return `${this.prefix}queue:${escapeChannelId(channelId)}:`;
  }

  queue(channelId: string, listenerId: string): string {
    return this.queuePrefix(channelId) + listenerId;
  }

  /** The event-id keys of a channel all start with this; the listener id follows. */
  eventIdPrefix(channelId: string): string {
    return `${this.prefix}event-id:${escapeChannelId(channelId)}:`;
  }

  eventId(channelId: string, listenerId: string): string {
    return this.eventIdPrefix(channelId) + listenerId;
  }

  /** The history keys of a channel all start with this; the listener id follows. */
  historyPrefix(channelId: string): string {
    return `${this.prefix}history:${escapeChannelId(channelId)}:`;
  }

  history(channelId: string, listenerId: string): string {
    return this.historyPrefix(channelId) + listenerId;
  }

  /** The frame keys all start with this; the SHA-1 of the frame follows. */
  get framePrefix(): string {
    return `${this.prefix}frame:`;
  }

  /** The idempotency keys of a channel all start with this; the key follows. */
  idempotencyPrefix(channelId: string): string {
    return `${this.prefix}idem:${escapeChannelId(channelId)}:`;
  }

  idempotency(channelId: string, key: string): string {
    return this.idempotencyPrefix(channelId) + key;
  }

  idempotencyIndex(channelId: string): string {
    return `${this.prefix}idem-keys:${escapeChannelId(channelId)}`;
  }

  /** Where the earliest unconfirmed stream of the listener started (see `ListenerHistory.markUnconfirmed`). */
  unconfirmedStart(channelId: string, listenerId: string): string {
    return `${this.prefix}unconfirmed:${escapeChannelId(channelId)}:${listenerId}`;
  }

  /** What one take script of process `origin` took, until that process has the reply (see `RedisTaker`). */
  taking(origin: string, sequence: number): string {
    return `${this.prefix}taking:${origin}:${sequence}`;
  }

  wake(channelId: string): string {
    return `${this.prefix}wake:${escapeChannelId(channelId)}`;
  }

  storageData(namespace: string): string {
    return `${this.prefix}kv:${namespace}:data`;
  }

  storageOrder(namespace: string): string {
    return `${this.prefix}kv:${namespace}:order`;
  }
}

function escapeChannelId(channelId: string): string {
  return channelId.replaceAll('%', '%25').replaceAll(':', '%3A');
}
