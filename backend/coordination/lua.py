"""The Lua scripts RedisCoordinator runs: each one atomic on the Redis server.

Atomic because a check and its change must not interleave with another worker's (a slot
counted free while another worker takes it; a lock deleted after it passed to a new owner).
Every expiry is computed from `TIME` inside the script, Redis's clock, the same for every host.
"""

from __future__ import annotations

# The time inside Redis, in ms: every expiry is on Redis's clock, the same for every host.
NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

# KEYS[1] the leases; ARGV limit, lease ms, member. Answers the slots taken, 0 when full.
SLOT_TAKE = (
    NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local taken = redis.call('ZCARD', KEYS[1])
if taken >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(last[2])) + 1000)
return taken + 1
"""
)
# KEYS[1] the leases; ARGV member, ms from now. Moves a live lease's expiry; 0 when it is gone.
SLOT_MOVE = (
    NOW
    + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
local ms = tonumber(ARGV[2])
if ms <= 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[1], 'XX', now + ms, ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(last[2])) + 1000)
return 1
"""
)
# KEYS[1] the lock; ARGV owner. Only the owner's value is deleted.
LOCK_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] the lock; ARGV owner, ttl ms. Only the owner renews it.
LOCK_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# KEYS[1] the hash; ARGV member, ttl ms, json. Answers 1 when the member was already there.
ANNOUNCE = (
    NOW
    + """
local known = 0
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local bar = string.find(old, '|', 1, true)
  if bar and tonumber(string.sub(old, 1, bar - 1)) > now then known = 1 end
end
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], (now + ttl) .. '|' .. ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return known
"""
)
# KEYS[1] the hash. Drops what expired; answers member, json, member, json ...
PRESENT = (
    NOW
    + """
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local value = all[i + 1]
  local bar = string.find(value, '|', 1, true)
  if bar and tonumber(string.sub(value, 1, bar - 1)) > now then
    live[#live + 1] = all[i]
    live[#live + 1] = string.sub(value, bar + 1)
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return live
"""
)
