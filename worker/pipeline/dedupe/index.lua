-- Dedup check-and-insert: one atomic step, so whatever the interleaving of workers, exactly one
-- of several copies of an article becomes the original.
--
-- Layout (P = prefix, e = time slice number = floor(server time / slice seconds)):
--   P:g:e    number of buckets of slice e, chosen when the slice gets its first article
--            from the previous slice's volume, so that buckets stay short
--   P:s:e    string of fixed-size slots, one per indexed article, appended in order; the slot
--            number (1-based) is the article's short id within the slice. A slot holds
--            >I4 insert time, >I4 distinct shingles, 8 bytes of the exact hash, B id length,
--            the id padded to IDMAX bytes, then the stored signature (one byte per MinHash bin).
--            An insert time of 0 marks a withdrawn slot (forget.lua): no look-up returns it.
--   P:b:e    hash of buckets: field = >I4 bucket number n, value = 6-byte entries: 3 check
--            bytes of a band key (or of the exact hash), then the >I3 slot number, where
--            n = (first 4 bytes of the key) mod P:g:e. One HMGET reads every band's bucket of a
--            slice and one HSET writes them back: a call from Lua costs about as much as the
--            work it does, and a shared bucket costs 6 bytes per entry, not a key per entry.
-- Templated stories (council notices, match results) share many band keys, so their buckets and
-- candidate lists would grow with every article: a bucket keeps only its newest MAXB entries
-- (older entries of such a key say little), and of the candidates only the MAXV sharing the
-- most bands with the article are verified (a true near duplicate shares many; at J = 0.6 and
-- 3 rows, 10 of 48 bands on average). Both bound the work per article whatever the corpus.
-- Every key of slice e expires at the end of the slice plus the TTL, so an entry lives at least
-- the TTL and at most one slice longer; a candidate older than the TTL is ignored, so the window
-- itself is exact.
--
-- ARGV: prefix, record id, ttl, slice seconds, jaccard threshold, containment threshold,
--       distinct shingles, signature bytes ("" for none), keys blob (7 bytes per entry:
--       >I4 bucket selector, 3 check bytes; entry 1 is the exact hash, then one per band),
--       min shingles for containment, min jaccard for containment, id slot size,
--       first-slice bucket count, target entries per bucket, 8 bytes of the exact hash,
--       stored signature size (every slot has room for one, so slots stay fixed-size even
--       for an article too short to have a signature), number of entries before the lead
--       bands (the exact hash and the full bands; the rest of the blob are lead bands), lead
--       bands a teaser must share, min shingles of a teaser, min jaccard for a teaser's
--       containment.
-- Returns {status, id of the original, similarity as a string}; status 0 unique,
-- 1 exact duplicate, 2 near duplicate. A unique article's reply adds the slice and slot of its
-- own entry (the one just made, or, for the same record id checked again, the one it made
-- before), for forget.lua should the article end as a failure; a duplicate makes none.

local P = ARGV[1]
local rid = ARGV[2]
local ttl = tonumber(ARGV[3])
local slice = tonumber(ARGV[4])
local jt = tonumber(ARGV[5])
local ct = tonumber(ARGV[6])
local nsh = tonumber(ARGV[7])
local sig = ARGV[8]
local blob = ARGV[9]
local minc = tonumber(ARGV[10])
local minj = tonumber(ARGV[11])
local idmax = tonumber(ARGV[12])
local g0 = tonumber(ARGV[13])
local per_bucket = tonumber(ARGV[14])
local digest = ARGV[15]
local K = tonumber(ARGV[16])
local nfull = tonumber(ARGV[17])
local lead_min = tonumber(ARGV[18])
local tmin = tonumber(ARGV[19])
local tminj = tonumber(ARGV[20])
local W = 6  -- bytes per bucket entry
local MAXB = 4096  -- entries a bucket keeps (the newest; sized buckets hold about 128)
local MAXV = 48  -- candidates verified per article (those sharing the most bands)
local SLOTS = 16777216  -- slot numbers are 3 bytes: a candidate is slice * SLOTS + slot

local k = #sig
if k ~= 0 and k ~= K then
  return redis.error_reply('signature of ' .. k .. ' bytes in an index of ' .. K .. '-byte slots')
end
local head = 17 + idmax
local R = head + K
local now = tonumber(redis.call('TIME')[1])
local cur = math.floor(now / slice)
local oldest = math.floor((now - ttl) / slice)
local nkeys = #blob / 7

-- Bucket selectors and check bytes of every entry, read once.
local sels, checks = {}, {}
for j = 1, nkeys do
  sels[j] = struct.unpack('>I4', blob, (j - 1) * 7 + 1)
  checks[j] = string.sub(blob, (j - 1) * 7 + 5, j * 7)
end

-- Bucket key names of slice e (with g buckets). The bucket number is packed, not formatted:
-- number-to-text conversion costs more in Lua than the Redis call itself.
local fields_by_g = {}  -- bucket fields by bucket count: slices almost always share one
local function fields_of(g)
  local fields = fields_by_g[g]
  if not fields then
    fields = {}
    for j = 1, nkeys do
      fields[j] = struct.pack('>I4', sels[j] % g)
    end
    fields_by_g[g] = fields
  end
  return fields
end

local NONE = {}

-- The slot numbers stored under entry j in a bucket string (false: no such bucket).
local function scan(bucket, j)
  local out = NONE
  if bucket then
    local check = checks[j]
    local init = 1
    while true do
      local pos = string.find(bucket, check, init, true)
      if not pos then
        break
      end
      if (pos - 1) % W == 0 then
        local a, b, c = string.byte(bucket, pos + 3, pos + 5)
        if out == NONE then
          out = {}
        end
        out[#out + 1] = (a * 256 + b) * 256 + c
        init = pos + W
      else
        init = pos + 1
      end
    end
  end
  return out
end

-- Slot n of slice e: insert time, shingles, record id, and the signature if asked.
local function slot(e, n, with_sig)
  local off = (n - 1) * R
  local last = off + (with_sig and R or head) - 1
  local raw = redis.call('GETRANGE', P .. ':s:' .. e, off, last)
  if #raw < head then
    return nil
  end
  local t, sh = struct.unpack('>I4I4', raw)
  if t == 0 then
    return nil  -- withdrawn (forget.lua): its article ended as a failure
  end
  local len = string.byte(raw, 17)
  return t, sh, string.sub(raw, 18, 17 + len), with_sig and string.sub(raw, head + 1) or string.sub(raw, 9, 16)
end

-- How many of the k bytes of `other` equal those of `mine` (the article's signature as a
-- table): eight bytes a call and no table per candidate (this loop is the script's hot spot).
local byte = string.byte
local function same_bytes(mine, other, k)
  local equal = 0
  local b = 1
  while b + 7 <= k do
    local t1, t2, t3, t4, t5, t6, t7, t8 = byte(other, b, b + 7)
    if mine[b] == t1 then equal = equal + 1 end
    if mine[b + 1] == t2 then equal = equal + 1 end
    if mine[b + 2] == t3 then equal = equal + 1 end
    if mine[b + 3] == t4 then equal = equal + 1 end
    if mine[b + 4] == t5 then equal = equal + 1 end
    if mine[b + 5] == t6 then equal = equal + 1 end
    if mine[b + 6] == t7 then equal = equal + 1 end
    if mine[b + 7] == t8 then equal = equal + 1 end
    b = b + 8
  end
  for i = b, k do
    if mine[i] == byte(other, i) then equal = equal + 1 end
  end
  return equal
end

-- Live slices, newest first, with their bucket counts.
local slices = {}
for e = cur, oldest, -1 do
  local g = redis.call('GET', P .. ':g:' .. e)
  if g then
    slices[#slices + 1] = {e, tonumber(g), nil}
  end
end
local current = {}  -- field -> bucket value of the current slice, as read

-- 1. Exact: the same folded body within the window (this very record counts as new).
for _, s in ipairs(slices) do
  local field = fields_of(s[2])[1]
  local bucket = redis.call('HGET', P .. ':b:' .. s[1], field)
  if s[1] == cur then
    current[field] = bucket
  end
  for _, n in ipairs(scan(bucket, 1)) do
    local t, _, id, hash = slot(s[1], n, false)
    if t and now - t < ttl and hash == digest then
      if id == rid then
        return {0, rid, '1', s[1], n}
      end
      return {1, id, '1'}
    end
  end
end

-- 2. Near: candidates from the LSH bands, the ones sharing the most bands verified by their
-- estimated similarity. A candidate sharing enough lead bands opens with the same words: its
-- containment is trusted at a lower Jaccard (a teaser holding a fifth of the article).
if k > 0 and nkeys > 1 then
  local hits, leads = {}, {}
  local tags = {}
  for _, s in ipairs(slices) do
    local e = s[1]
    local fields = fields_of(s[2])
    local buckets = redis.call('HMGET', P .. ':b:' .. e, unpack(fields, 2))
    if e == cur then
      for j = 2, nkeys do
        current[fields[j]] = buckets[j - 1]
      end
    end
    for j = 2, nkeys do
      for _, n in ipairs(scan(buckets[j - 1], j)) do
        local tag = e * SLOTS + n  -- a number: formatting one as text costs more than the lookup
        local h = hits[tag]
        if h then
          hits[tag] = h + 1
        else
          hits[tag] = 1
          tags[#tags + 1] = tag
        end
        if j > nfull then
          leads[tag] = (leads[tag] or 0) + 1
        end
      end
    end
  end
  if #tags > MAXV then
    table.sort(tags, function(a, b) return hits[a] > hits[b] end)
  end
  local mine = nil
  local best_id, best_score = nil, -1
  for i = 1, math.min(#tags, MAXV) do
    if best_score >= 1 then
      break  -- no later candidate can score higher (both measures are at most 1): same answer
    end
    local tag = tags[i]
    local e, n = math.floor(tag / SLOTS), tag % SLOTS
    local t, sh, id, other = slot(e, n, true)
    if t and now - t < ttl and id ~= rid and #other == k then
      mine = mine or {string.byte(sig, 1, k)}
      local equal = same_bytes(mine, other, k)
      local jac = (equal / k - 1 / 256) / (1 - 1 / 256)
      if jac < 0 then jac = 0 end
      local small = math.min(sh, nsh)
      local guard = minj
      if small >= tmin and (leads[tag] or 0) >= lead_min then
        guard = tminj
      end
      local con = 0
      if small >= minc and jac >= guard then
        con = math.min(1, jac * (sh + nsh) / (1 + jac) / small)
      end
      local score = -1  -- the higher of the measures that pass
      if jac >= jt then
        score = jac
      end
      if con >= ct and con > score then
        score = con
      end
      if score > best_score then
        best_id, best_score = id, score
      end
    end
  end
  if best_id then
    return {2, best_id, string.format('%.4f', best_score)}
  end
end

-- 3. New: index it in the current slice.
local gkey = P .. ':g:' .. cur
local g = redis.call('GET', gkey)
if g then
  g = tonumber(g)
else
  local prev = redis.call('STRLEN', P .. ':s:' .. (cur - 1)) / R
  g = g0
  while g * per_bucket < prev * nkeys and g < 1048576 do
    g = g * 2
  end
  redis.call('SET', gkey, g)
  redis.call('EXPIREAT', gkey, (cur + 1) * slice + ttl)
end
local expire_at = (cur + 1) * slice + ttl
local skey = P .. ':s:' .. cur
local record = struct.pack('>I4I4', now, nsh) .. digest .. string.char(#rid) .. rid .. string.rep('\0', idmax - #rid) .. sig .. string.rep('\0', K - k)
local n = redis.call('APPEND', skey, record) / R
if n == 1 then
  redis.call('EXPIREAT', skey, expire_at)
end
if n >= 16777216 then  -- slot numbers are 3 bytes: a slice this full checks but indexes no more
  return {0, rid, '1', cur, n}
end
local packed = string.char(math.floor(n / 65536), math.floor(n / 256) % 256, n % 256)
-- Append this article's entries to its buckets (two bands may share one) in one HSET.
local fields = fields_of(g)
local fresh, order = {}, {}
for j = 1, nkeys do
  local f = fields[j]
  if not fresh[f] then
    order[#order + 1] = f
    fresh[f] = current[f] or ''
  end
  fresh[f] = fresh[f] .. checks[j] .. packed
end
for _, f in ipairs(order) do
  if #fresh[f] > MAXB * W then
    fresh[f] = string.sub(fresh[f], -MAXB * W)
  end
end
local args = {}
for _, f in ipairs(order) do
  args[#args + 1] = f
  args[#args + 1] = fresh[f]
end
local bkey = P .. ':b:' .. cur
redis.call('HSET', bkey, unpack(args))
if n == 1 then
  redis.call('EXPIREAT', bkey, expire_at)
end
return {0, rid, '1', cur, n}
