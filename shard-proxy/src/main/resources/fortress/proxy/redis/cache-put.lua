-- Writes a cached account only if it is newer than the cached one, by journal sequence, so a
-- late writer never puts back an older balance. KEYS[1]: the entry.
-- ARGV: the account's sequence, the account (base64 protobuf), time to live in milliseconds.
-- Returns 1 if written, 0 if the cache already held this sequence or a newer one.
local current = redis.call('HGET', KEYS[1], 'seq')
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'account', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
