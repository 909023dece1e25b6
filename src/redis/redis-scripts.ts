import type { Redis } from 'ioredis';

/**
 * The Lua scripts behind every operation that must be atomic or one round trip. Each runs as one
 * `EVALSHA` (ioredis sends the script itself the first time on each connection).
 *
 * Messages enter queues only through `enqueue`, so a later bound on queue length (a max length and an
 * overflow policy, passed as arguments) changes one function.
 */
const ENQUEUE = `
local function enqueue(key, message)
  redis.call('RPUSH', key, message)
end
`;

const SCRIPTS = {
  // KEYS: channels, listeners, queue. ARGV: channel id, listener id, message, wake channel, wake message.
  // → 1 queued, 0 no such listener, -1 no such channel.
  ericSseDispatch: {
    keys: 3,
    lua: `${ENQUEUE}
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
  return 0
end
enqueue(KEYS[3], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`,
  },
  // KEYS: channels, listeners. ARGV: channel id, queue key prefix, message, wake channel.
  // → how many listeners the message was queued for, -1 no such channel. One PUBLISH however many listeners.
  ericSseBroadcast: {
    keys: 2,
    lua: `${ENQUEUE}
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
for i = 1, #ids do enqueue(ARGV[2] .. ids[i], ARGV[3]) end
if #ids > 0 then redis.call('PUBLISH', ARGV[4], 'b') end
return #ids`,
  },
  // KEYS: queue. ARGV: message, wake channel, wake message. A push that does not check membership.
  ericSsePush: {
    keys: 1,
    lua: `${ENQUEUE}
enqueue(KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`,
  },
  // KEYS: queue. → [oldest message or false, how many are left]. Knowing that none are left lets the
  // queue answer the next pop itself, until a wake notification says otherwise.
  ericSsePop: {
    keys: 1,
    lua: `
local message = redis.call('LPOP', KEYS[1])
return { message, redis.call('LLEN', KEYS[1]) }`,
  },
  // ARGV: how many messages to take per queue at most, then per channel: its queue key prefix, how many
  // listeners, their ids (the queues of streams waiting in this process; ids rather than whole keys keep the
  // command short). → per queue, in order: n, then n messages (oldest first), then how many are left (0
  // when fewer than the most were there: no need to ask).
  ericSseTake: {
    keys: 0,
    lua: `
local max = tonumber(ARGV[1])
local out = {}
local at = 2
while at <= #ARGV do
  local prefix = ARGV[at]
  local last = at + 1 + tonumber(ARGV[at + 1])
  for i = at + 2, last do
    local key = prefix .. ARGV[i]
    local taken = redis.call('LPOP', key, max)
    if taken then
      out[#out + 1] = #taken
      for j = 1, #taken do out[#out + 1] = taken[j] end
      out[#out + 1] = #taken < max and 0 or redis.call('LLEN', key)
    else
      out[#out + 1] = 0
      out[#out + 1] = 0
    end
  end
  at = last + 1
end
return out`,
  },
  // KEYS: channels, listeners, queue. ARGV: channel id, listener id, wake channel, wake message, then the
  // messages to put back at the head, oldest first. Messages of a listener that was removed meanwhile are
  // dropped with it; a queue outside any channel takes them back. → how many were put back.
  ericSseGiveBack: {
    keys: 3,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 and not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
for i = #ARGV, 5, -1 do redis.call('LPUSH', KEYS[3], ARGV[i]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return #ARGV - 4`,
  },
  // KEYS: channels, channel order, seq. ARGV: channel id, record. → 1 created, 0 id taken.
  ericSseCreateChannel: {
    keys: 3,
    lua: `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
return 1`,
  },
  // KEYS: channels, channel order, seq. ARGV: channel id, record. Creates or updates, keeping the order.
  ericSseUpsertChannel: {
    keys: 3,
    lua: `
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return 1`,
  },
  // KEYS: channels, channel order, listeners, listener types. ARGV: channel id, queue key prefix,
  // control channel, control message. → 1 removed (queues too), 0 no such channel.
  ericSseDeleteChannel: {
    keys: 4,
    lua: `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
for i = 1, #ids do redis.call('UNLINK', ARGV[2] .. ids[i]) end
redis.call('UNLINK', KEYS[3], KEYS[4])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`,
  },
  // KEYS: channels, listeners, listener types, seq. ARGV: channel id, listener id, type name.
  // → 'added', 'existing:<stored type>', or 'no-channel'.
  ericSseRegisterListener: {
    keys: 4,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'no-channel' end
local stored = redis.call('HGET', KEYS[3], ARGV[2])
if stored then return 'existing:' .. stored end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return 'added'`,
  },
  // KEYS: channels, listeners, listener types, queue. ARGV: channel id, listener id, control channel,
  // control message. → 1 removed with its queue, 0 no such listener, -1 no such channel.
  ericSseRemoveListener: {
    keys: 4,
    lua: `
if redis.call('ZREM', KEYS[2], ARGV[2]) == 0 then
  if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
  return 0
end
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('UNLINK', KEYS[4])
redis.call('PUBLISH', ARGV[3], ARGV[4])
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
