-- Withdraw one article's entry from the dedup index: the article was indexed as an original
-- (index.lua) and then ended as a failure, so no record will carry its id and no later copy may
-- be linked to it. One atomic step, like the insert: a look-up runs wholly before or after it.
--
-- The slot's insert time becomes 0, which index.lua reads as withdrawn; its bucket entries stay
-- (rewriting the buckets would cost a read and a write of each band's bucket) and lead to a slot
-- that is skipped, as an expired one is. Only the slot still holding this record id is touched:
-- a slice key that expired (and is gone) is not recreated, and nothing else is overwritten.
--
-- ARGV: prefix, slice number, slot number (1-based), record id, id slot size, stored signature
--       size (as index.lua's, which fix the slot size).
-- Returns 1 if the entry was withdrawn, 0 if there was none to withdraw (expired, or already).

local P = ARGV[1]
local e = ARGV[2]
local n = tonumber(ARGV[3])
local rid = ARGV[4]
local idmax = tonumber(ARGV[5])
local K = tonumber(ARGV[6])
local head = 17 + idmax
local off = (n - 1) * (head + K)
local skey = P .. ':s:' .. e
local raw = redis.call('GETRANGE', skey, off, off + head - 1)
if #raw < head or struct.unpack('>I4', raw) == 0 then
  return 0
end
local len = string.byte(raw, 17)
if string.sub(raw, 18, 17 + len) ~= rid then
  return 0
end
redis.call('SETRANGE', skey, off, '\0\0\0\0')  -- keeps the key's expiry
return 1
