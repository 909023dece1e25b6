import type { Redis } from 'ioredis';

/**
 * The Lua scripts behind every operation that must be atomic or one round trip. Each runs as one
 * `EVALSHA` (ioredis sends the script itself the first time on each connection).
 *
 * Messages enter queues only through `enqueue`, bounded by what the script set with `bound` (the backend's
 * `limits.maxQueueSize` and `queueOverflow`, passed as arguments): a full queue drops its oldest messages
 * (counted in `dropped`), or, with 'reject', refuses (`refuses` is asked first, for every queue a message
 * goes to, so that a broadcast queues for all or none).
 */
/** How long a take's ledger outlives its script when its process never confirms it (it died). */
export const TAKING_LEDGER_TTL_MS = 10 * 60_000;
/** How long a give-back is remembered, so that sending it again (its outcome unknown) does not repeat it. */
const GIVE_BACK_MARKER_TTL_MS = 60_000;

const ENQUEUE = `
local maxQueue, rejectFull, dropped = 0, false, 0
local function bound(max, overflow)
  maxQueue = tonumber(max) or 0
  rejectFull = overflow == 'reject'
end
local function refuses(key)
  return rejectFull and maxQueue > 0 and redis.call('LLEN', key) >= maxQueue
end
local function enqueue(key, message)
  local length = redis.call('RPUSH', key, message)
  if maxQueue > 0 and length > maxQueue and not rejectFull then
    redis.call('LTRIM', key, length - maxQueue, -1)
    dropped = dropped + length - maxQueue
  end
end
`;

/**
 * Takes, for the streams waiting in this process, up to `max` messages from each queue `prefix .. id`, ids
 * given as one string, each preceded by its length in bytes and ':' (one argument rather than one per
 * listener keeps commands cheap to build). Each distinct message is listed once in `texts` (a broadcast is
 * the same text in every queue); `index` gets, per queue in order, 'n,left,t1,...,tn': n messages taken,
 * by position in `texts`, and how many are left (0 when fewer than the most were taken). A script ends
 * with `taken(texts, index)`, which puts the index first, and, after `useLedger(key)`, keeps what was taken
 * under that key as JSON `[[queue key, [texts...]], ...]` (see `RedisTaker`).
 */
const TAKE = `${ENQUEUE}
local ledgerKey, ledgerEntries = nil, nil
-- Keeps what this script takes under 'key' (see RedisTaker), when the caller gives one.
local function useLedger(key)
  if key and key ~= '' then ledgerKey, ledgerEntries = key, {} end
end
local function note(key, got)
  if ledgerEntries then ledgerEntries[#ledgerEntries + 1] = { key, got } end
end
local function parseIds(ids)
  local list, pos = {}, 1
  while pos <= #ids do
    local colon = string.find(ids, ':', pos, true)
    local last = colon + tonumber(string.sub(ids, pos, colon - 1))
    list[#list + 1] = string.sub(ids, colon + 1, last)
    pos = last + 1
  end
  return list
end
local function takeKey(max, key, texts, positions, index)
  local got = redis.call('LPOP', key, max)
  if not got then
    index[#index + 1] = '0,0'
    return
  end
  note(key, got)
  local entry = { #got, #got < max and 0 or redis.call('LLEN', key) }
  for j = 1, #got do
    local text = got[j]
    local position = positions[text]
    if not position then
      texts[#texts + 1] = text
      position = #texts
      positions[text] = position
    end
    entry[#entry + 1] = position
  end
  index[#index + 1] = table.concat(entry, ',')
end
local function takeFor(max, prefix, ids, texts, positions, index)
  local list = parseIds(ids)
  for i = 1, #list do takeKey(max, prefix .. list[i], texts, positions, index) end
end
local function taken(texts, index)
  if ledgerEntries and #ledgerEntries > 0 then
    redis.call('SET', ledgerKey, cjson.encode(ledgerEntries), 'PX', ${TAKING_LEDGER_TTL_MS})
  end
  table.insert(texts, 1, table.concat(index, ';'))
  return texts
end
-- Queues a message for 'ids' (listeners of the channel) and takes for this process's waiting streams
-- ('waiting', a TAKE ids string). A waiting listener whose list is empty gets the message straight from
-- here: pushing it and popping it back would be two calls for nothing. → texts (the message first), index.
local function queueAndTake(max, prefix, ids, message, waiting)
  local list = parseIds(waiting)
  local member = {}
  for i = 1, #ids do member[ids[i]] = true end
  local direct = {}
  for i = 1, #list do
    local id = list[i]
    if member[id] and not direct[id] and redis.call('LLEN', prefix .. id) == 0 then direct[id] = true end
  end
  for i = 1, #ids do
    if not direct[ids[i]] then enqueue(prefix .. ids[i], message) end
  end
  local texts, positions, index = { message }, { [message] = 1 }, {}
  for i = 1, #list do
    local id = list[i]
    if direct[id] then
      direct[id] = nil
      note(prefix .. id, { message })
      index[#index + 1] = '1,0,1'
    else
      takeKey(max, prefix .. id, texts, positions, index)
    end
  end
  return texts, index
end
`;

/**
 * Idempotent publishing: a dispatch or broadcast given an idempotency key (five arguments from `at`: the
 * key, the channel's key prefix for them, its index, the window in ms, the most keys per channel) answers
 * a key stored within the window with the stored answer (`replayed`), queueing and taking nothing; else it
 * runs, and once it has queued, `remember` stores its answer under the key. Checked and stored in the
 * script that queues, so that two calls with one key, from any processes, queue once.
 */
const IDEMPOTENCY = `
local function idempotencyOf(at)
  if not ARGV[at] then return nil end
  return {
    key = ARGV[at + 1] .. ARGV[at], member = ARGV[at], prefix = ARGV[at + 1], index = ARGV[at + 2],
    window = tonumber(ARGV[at + 3]), max = tonumber(ARGV[at + 4]),
  }
end
local function replayed(idem)
  if not idem then return nil end
  local answer = redis.call('GET', idem.key)
  if answer then return tonumber(answer) end
  return nil
end
local function remember(idem, answer)
  if not idem then return end
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  redis.call('ZREMRANGEBYSCORE', idem.index, '-inf', now)
  -- Room for this key first, so that the oldest go, never this one (its score may tie theirs).
  local excess = redis.call('ZCARD', idem.index) - idem.max + 1
  if excess > 0 then
    local oldest = redis.call('ZPOPMIN', idem.index, excess)
    for i = 1, #oldest, 2 do redis.call('UNLINK', idem.prefix .. oldest[i]) end
  end
  redis.call('SET', idem.key, answer, 'PX', idem.window)
  redis.call('ZADD', idem.index, now + idem.window, idem.member)
  redis.call('PEXPIRE', idem.index, idem.window)
end
`;

// Redis's clock in ms, as `now`.
const REDIS_NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

const SCRIPTS = {
  // KEYS: channels, listeners, queue, the take's ledger ('' for none; see TAKE). ARGV: channel id, listener
  // id, message, wake channel, wake message, then a take for this process's waiting streams (max, queue key prefix, ids; see TAKE), so that a stream
  // of the dispatching process gets the message in the same round trip, then the queue bound (max, overflow),
  // then, optionally, an idempotency key (see IDEMPOTENCY).
  // → { 1 queued | 0 no such listener | -1 no such channel | -2 queue full, oldest messages dropped, index, texts... },
  // or, for a key seen within the window, { the stored answer, -1, '' }: nothing queued, nothing taken.
  ericSseDispatch: {
    keys: 4,
    lua: `${TAKE}${IDEMPOTENCY}
useLedger(KEYS[4])
bound(ARGV[9], ARGV[10])
local idem = idempotencyOf(11)
local first = replayed(idem)
if first then return { first, -1, '' } end
local status, texts, index = 1, {}, {}
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  status = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and -1 or 0
  takeFor(tonumber(ARGV[6]), ARGV[7], ARGV[8], texts, {}, index)
elseif refuses(KEYS[3]) then
  status = -2
  takeFor(tonumber(ARGV[6]), ARGV[7], ARGV[8], texts, {}, index)
else
  texts, index = queueAndTake(tonumber(ARGV[6]), ARGV[7], { ARGV[2] }, ARGV[3], ARGV[8])
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  remember(idem, 1)
end
local out = taken(texts, index)
table.insert(out, 1, dropped)
table.insert(out, 1, status)
return out`,
  },
  // KEYS: channels, listeners, the take's ledger ('' for none; see TAKE). ARGV: channel id, queue key
  // prefix, message, wake channel, wake message,
  // then a take for this process's waiting streams (max, ids; see TAKE), then the queue bound (max, overflow),
  // then, optionally, an idempotency key (see IDEMPOTENCY).
  // → { how many listeners the message was queued for (-1: no such channel), oldest messages dropped,
  // index, texts... }, or { -2, JSON array of the listeners whose full queues refused it (none was queued
  // for), index, texts... }, or, for a key seen within the window, { the stored answer, -1, '' }. One
  // PUBLISH however many listeners.
  ericSseBroadcast: {
    keys: 3,
    lua: `${TAKE}${IDEMPOTENCY}
useLedger(KEYS[3])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return { -1, 0, '' } end
bound(ARGV[8], ARGV[9])
local idem = idempotencyOf(10)
local first = replayed(idem)
if first then return { first, -1, '' } end
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
if rejectFull and maxQueue > 0 then
  local full = {}
  for i = 1, #ids do
    if refuses(ARGV[2] .. ids[i]) then full[#full + 1] = ids[i] end
  end
  if #full > 0 then
    local texts, index = {}, {}
    takeFor(tonumber(ARGV[6]), ARGV[2], ARGV[7], texts, {}, index)
    local out = taken(texts, index)
    table.insert(out, 1, cjson.encode(full))
    table.insert(out, 1, -2)
    return out
  end
end
local texts, index = queueAndTake(tonumber(ARGV[6]), ARGV[2], ids, ARGV[3], ARGV[7])
if #ids > 0 then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
remember(idem, #ids)
local out = taken(texts, index)
table.insert(out, 1, dropped)
table.insert(out, 1, #ids)
return out`,
  },
  // KEYS: queue. ARGV: message, wake channel, wake message, queue bound (max, overflow). A push that does
  // not check membership. → oldest messages dropped, or -1 when the full queue refused it.
  ericSsePush: {
    keys: 1,
    lua: `${ENQUEUE}
bound(ARGV[4], ARGV[5])
if refuses(KEYS[1]) then return -1 end
enqueue(KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return dropped`,
  },
  // KEYS: queue. → [oldest message or false, how many are left]. Knowing that none are left lets the
  // queue answer the next pop itself, until a wake notification says otherwise.
  ericSsePop: {
    keys: 1,
    lua: `
local message = redis.call('LPOP', KEYS[1])
return { message, redis.call('LLEN', KEYS[1]) }`,
  },
  // KEYS: the take's ledger (see TAKE). ARGV: how many messages to take per queue at most, then per channel:
  // its queue key prefix and the ids of its listeners whose streams wait in this process (see TAKE).
  // → { index, texts... }.
  ericSseTake: {
    keys: 1,
    lua: `${TAKE}
useLedger(KEYS[1])
local max = tonumber(ARGV[1])
local texts, positions, index = {}, {}, {}
for at = 2, #ARGV, 2 do takeFor(max, ARGV[at], ARGV[at + 1], texts, positions, index) end
return taken(texts, index)`,
  },
  // KEYS: a take's ledger (see TAKE). ARGV: the key prefix. Gives back to the head of their queues what that
  // take took, when its process never got the reply (the ledger is still there), for the listeners still
  // registered; idempotent (the ledger goes with the first run). → how many messages were given back.
  ericSseRecoverTake: {
    keys: 1,
    lua: `
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
redis.call('DEL', KEYS[1])
local prefix, restored = ARGV[1], 0
local entries = cjson.decode(record)
for e = 1, #entries do
  local key, texts = entries[e][1], entries[e][2]
  local rest = string.sub(key, #prefix + 7)
  local colon = string.find(rest, ':', 1, true)
  if colon and redis.call('ZSCORE', prefix .. 'listeners:' .. string.sub(rest, 1, colon - 1), string.sub(rest, colon + 1)) then
    for i = #texts, 1, -1 do redis.call('LPUSH', key, texts[i]) end
    restored = restored + #texts
  end
end
return restored`,
  },
  // KEYS: channels, listeners, queue, a key naming this give-back (it runs once, however often it is sent:
  // a give-back whose outcome is unknown is sent again). ARGV: channel id, listener id, wake channel, wake
  // message, then the messages to put back at the head, oldest first. Messages of a listener that was removed meanwhile are
  // dropped with it; a queue outside any channel takes them back. → how many were put back.
  ericSseGiveBack: {
    keys: 4,
    lua: `
if not redis.call('SET', KEYS[4], 1, 'NX', 'PX', ${GIVE_BACK_MARKER_TTL_MS}) then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 and not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
for i = #ARGV, 5, -1 do redis.call('LPUSH', KEYS[3], ARGV[i]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return #ARGV - 4`,
  },
  // KEYS: channels, channel order, seq. ARGV: channel id, record, most channels (0: no bound).
  // → 1 created, 0 id taken, -1 as many channels as the bound allows exist.
  ericSseCreateChannel: {
    keys: 3,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local max = tonumber(ARGV[3]) or 0
if max > 0 and redis.call('ZCARD', KEYS[2]) >= max then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
return 1`,
  },
  // KEYS: channels, channel order, seq. ARGV: channel id, record, most channels (0: no bound). Creates or
  // updates, keeping the order. → 1, or -1 when creating it would pass the bound.
  ericSseUpsertChannel: {
    keys: 3,
    lua: `
local max = tonumber(ARGV[3]) or 0
if max > 0 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('ZCARD', KEYS[2]) >= max then
  return -1
end
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return 1`,
  },
  // KEYS: channels, channel order, listeners, listener types, idempotency index. ARGV: channel id, queue
  // key prefix, control channel, control message, event-id key prefix, history key prefix, idempotency key
  // prefix. → 1 removed (queues, SSE histories and idempotency keys too), 0 no such channel.
  ericSseDeleteChannel: {
    keys: 5,
    lua: `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
for i = 1, #ids do redis.call('UNLINK', ARGV[2] .. ids[i], ARGV[5] .. ids[i], ARGV[6] .. ids[i]) end
local idem = redis.call('ZRANGE', KEYS[5], 0, -1)
for i = 1, #idem do redis.call('UNLINK', ARGV[7] .. idem[i]) end
redis.call('UNLINK', KEYS[3], KEYS[4], KEYS[5])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`,
  },
  // KEYS: channels, listeners, listener types, seq. ARGV: channel id, listener id, type name, most
  // listeners per channel (0: no bound). → 'added', 'existing:<stored type>', 'full', or 'no-channel'.
  ericSseRegisterListener: {
    keys: 4,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'no-channel' end
local stored = redis.call('HGET', KEYS[3], ARGV[2])
if stored then return 'existing:' .. stored end
local max = tonumber(ARGV[4]) or 0
if max > 0 and redis.call('ZCARD', KEYS[2]) >= max then return 'full' end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return 'added'`,
  },
  // KEYS: channels, listeners, listener types, queue, event id, history. ARGV: channel id, listener id,
  // control channel, control message. → 1 removed with its queue and SSE history, 0 no such listener,
  // -1 no such channel.
  ericSseRemoveListener: {
    keys: 6,
    lua: `
if redis.call('ZREM', KEYS[2], ARGV[2]) == 0 then
  if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
  return 0
end
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('UNLINK', KEYS[4], KEYS[5], KEYS[6])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`,
  },
  // Idle listeners (see RedisIdleListeners): a sorted set of listeners by when they were last streamed, in
  // Redis's clock (ms), so that processes with skewed clocks agree.
  // KEYS: idle set. ARGV: how many members follow that are streamed now, those members, then members held
  // somewhere but not streamed (added with the time now unless already there). → members written.
  ericSseIdleTouch: {
    keys: 1,
    lua: `${REDIS_NOW}
local streaming = tonumber(ARGV[1])
for i = 2, #ARGV do
  if i <= streaming + 1 then
    redis.call('ZADD', KEYS[1], now, ARGV[i])
  else
    redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i])
  end
end
return #ARGV - 1`,
  },
  // KEYS: idle set, reaper lock. ARGV: idle ms, lock ms, owner, most members. → the members idle for at
  // least idle ms (oldest first), or nil when another process holds the lock (it reaps this round).
  ericSseIdleCandidates: {
    keys: 2,
    lua: `${REDIS_NOW}
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[4]))`,
  },
  // KEYS: idle set, channels, listeners, listener types, queue, event id, history (those of
  // ericSseRemoveListener). ARGV: member, channel id, listener id, idle ms, control channel, control message.
  // Removes the listener as ericSseRemoveListener does, if it is still idle for idle ms now (not streamed
  // since the candidates were read). → 1 removed, 0 kept (or already gone; its member is dropped).
  ericSseReapListener: {
    keys: 7,
    lua: `${REDIS_NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > now - tonumber(ARGV[4]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZREM', KEYS[3], ARGV[3]) == 0 then return 0 end
redis.call('HDEL', KEYS[4], ARGV[3])
redis.call('UNLINK', KEYS[5], KEYS[6], KEYS[7])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`,
  },
  // KEYS: channels, listener types. ARGV: channel id, listener id. → the type name, 0 no such listener,
  // -1 no such channel.
  ericSseLoadListener: {
    keys: 2,
    lua: `
local stored = redis.call('HGET', KEYS[2], ARGV[2])
if stored then return stored end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
return 0`,
  },
  // KEYS: channels, listeners. ARGV: channel id. → listener ids in order, or nil (no such channel).
  ericSseListListeners: {
    keys: 2,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('ZRANGE', KEYS[2], 0, -1)`,
  },
  // KEYS: channels, channel order. → [id1, record1, id2, record2, ...] in creation order.
  ericSseLoadChannels: {
    keys: 2,
    lua: `
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local out = {}
for i = 1, #ids do
  local record = redis.call('HGET', KEYS[1], ids[i])
  if record then
    out[#out + 1] = ids[i]
    out[#out + 1] = record
  end
end
return out`,
  },
  // KEYS: storage data, storage order, seq. ARGV: key, value. Keeps a replaced key's place.
  ericSseStorageUpsert: {
    keys: 3,
    lua: `
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return 1`,
  },
  // KEYS: storage data, storage order. ARGV: key prefix. → values of the keys with that prefix, in order.
  ericSseStorageFetchByPrefix: {
    keys: 2,
    lua: `
local keys = redis.call('ZRANGE', KEYS[2], 0, -1)
local prefix = ARGV[1]
local out = {}
for i = 1, #keys do
  if string.sub(keys[i], 1, #prefix) == prefix then
    local value = redis.call('HGET', KEYS[1], keys[i])
    if value then out[#out + 1] = value end
  end
end
return out`,
  },
  // KEYS: storage data, storage order. ARGV: key.
  ericSseStorageDelete: {
    keys: 2,
    lua: `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`,
  },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type ScriptCall = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

/** Runs the backend's scripts on one ioredis client; `run` gives the keys first, then the arguments. */
export class RedisScripts {
  constructor(private readonly client: Redis) {
    for (const [name, { keys, lua }] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: keys, lua });
    }
  }

  run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    const call = (this.client as unknown as Record<ScriptName, ScriptCall>)[name];
    return call.call(this.client, ...keys, ...args);
  }
}
