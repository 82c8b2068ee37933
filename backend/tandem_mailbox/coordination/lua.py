"""The Lua scripts RedisCoordinator runs: each one atomic on the Redis server.

Atomic because a check and its change must not interleave with another worker's (a slot
counted free while another worker takes it; a lock deleted after it passed to a new owner).
Every expiry is computed from `TIME` inside the script, Redis's clock, the same for every host.
"""

from __future__ import annotations

# The time inside Redis, in ms: every expiry is on Redis's clock, the same for every host.
NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

# Waiters that stopped asking (their worker died) leave the queue; run before any decision.
_FORGET = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for i = 1, #gone do redis.call('ZREM', KEYS[2], gone[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
"""
# Keeps the three keys alive as long as their last entry (plus a second).
_KEEP = """
local function keep(key)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIREAT', key, math.floor(tonumber(last[2])) + 1000) end
end
"""
# KEYS[1] the leases, KEYS[2] the queue (member -> arrival, µs), KEYS[3] the waiters' own
# leases (member -> ms); ARGV limit, lease ms, member, waiter lease ms. Answers the slots taken
# with this one, or 0 when the caller must wait: it is then queued (or stays where it is).
# First come, first served: a free slot goes to the caller only when fewer callers wait
# ahead of it than slots are free.
SLOT_TAKE = (
    NOW
    + _KEEP
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
"""
    + _FORGET
    + """
local member = ARGV[3]
if redis.call('ZSCORE', KEYS[1], member) then  -- handed over by a release meanwhile
  return redis.call('ZCARD', KEYS[1])
end
local taken = redis.call('ZCARD', KEYS[1])
local free = tonumber(ARGV[1]) - taken
local rank = redis.call('ZRANK', KEYS[2], member)
local ahead = rank or redis.call('ZCARD', KEYS[2])
if free > 0 and ahead < free then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZREM', KEYS[3], member)
  keep(KEYS[1])
  return taken + 1
end
if not rank then redis.call('ZADD', KEYS[2], t[1] * 1000000 + t[2], member) end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), member)
redis.call('PEXPIREAT', KEYS[2], now + tonumber(ARGV[4]) + 1000)
keep(KEYS[3])
return 0
"""
)
# KEYS[1..3] as SLOT_TAKE's; ARGV member, limit, lease ms, wake key prefix. Frees the
# member's lease and hands each free slot to the longest waiter: its lease is added here and
# `<prefix><waiter>` gets the slots taken, which wakes the waiter's BLPOP. Answers how many
# slots were handed over.
SLOT_RELEASE = (
    NOW
    + _KEEP
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
"""
    + _FORGET
    + """
local handed = 0
local taken = redis.call('ZCARD', KEYS[1])
while taken < tonumber(ARGV[2]) do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not head then break end
  redis.call('ZREM', KEYS[2], head)
  redis.call('ZREM', KEYS[3], head)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), head)
  taken = taken + 1
  local wake = ARGV[4] .. head
  redis.call('RPUSH', wake, taken)
  redis.call('PEXPIRE', wake, tonumber(ARGV[3]))
  handed = handed + 1
end
keep(KEYS[1])
return handed
"""
)
# KEYS[1..3] as SLOT_TAKE's; ARGV member. A waiter giving up leaves the queue; answers the
# slots taken when a release handed it one meanwhile (it is then the caller's), else 0.
SLOT_LEAVE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return redis.call('ZCARD', KEYS[1]) end
return 0
"""
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
