-- One request taken from a rate-limit bucket, atomically (Redis runs a script alone): the generic cell rate
-- algorithm, as governor computes it for a bucket in one process, on Redis's own clock so that the replicas
-- sharing the bucket need no synchronised clocks.
--
-- KEYS[1]: the bucket, which holds the theoretical arrival time (TAT) of the next request, in microseconds.
-- ARGV[1]: microseconds between two requests at the sustained rate (a fraction above 1,000,000 requests a
-- second). ARGV[2]: requests allowed at once (burst).
-- Returns 0 when the request is admitted (and counted), else the microseconds until it would be (at least 1).
-- Numbers are Lua's doubles: microseconds since 1970 (1.8e15) plus the tolerance stay exact well past 2100.
if redis.replicate_commands then
  -- Redis before 5 replicates scripts whole, and then refuses TIME before a write.
  redis.replicate_commands()
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
if tat < now then
  tat = now
end
local allowed_at = tat + interval - tolerance
if allowed_at > now then
  return math.ceil(allowed_at - now)
end
local next_tat = tat + interval
-- The bucket is full again at next_tat: the key can go then, which keeps Redis free of idle keys.
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 0
