-- Story assign-or-create: one atomic step, so two workers handling two reports of one event at
-- the same moment can never open two stories for it: the second sees the first's story.
--
-- Layout (P = prefix, n = story number from P:next, w = window seconds, t = publication time):
--   P:next    story numbers, counted up
--   P:s:n     story n, one string: >I4 tf (publication time of its first article), >I4 t0, >I4 t1
--             (earliest and latest publication time of its articles), >I4 size, >f scale and
--             >f lead scale, >H bytes of its centroid, B bytes of its id, the id (its first
--             article's record id), its centroid, then its lead centroid. A centroid: up to C (CL)
--             entries of >I4 term, >H weight (the sum of its articles' unit vectors (lead vectors),
--             strongest first, as a share of its scale = its largest weight: 6 bytes a term)
--   P:i:k     inverted index of publication-time slice k = floor(t / w): field >I4 term, value
--             the >I4 numbers of the stories that had that term as an anchor in that slice
--             (newest MAXL kept). An article reads slices k-1, k, k+1: every story within w.
--   P:m:n     the record ids of story n's articles, in the order they joined, one per line
--   P:r:rid   the story a record is in: >I4 story number, >I4 size when it joined (0: reserved
--             for an original whose copy came first), >f similarity
-- Every key is given w seconds to live whenever it is written, so memory holds the stories
-- touched within one window; a story is a candidate only within w of publication time.
--
-- ARGV: prefix, record id, id of the original if this is a copy (""), publication time,
--       window, threshold, vector (8 bytes per term: >I4 term, >f weight; unit length),
--       anchors (>I4 terms), centroid size C, candidates verified MAXV, MAXL, lead vector (as
--       the vector), lead centroid size CL.
-- An article scores against a story the better of its lead's cosine with the story's centroid and
-- its vector's cosine with the story's lead centroid, times the time decay.
-- Returns {story id, size, its first article's publication time, similarity as text, how}: how is
-- 'created', 'joined', 'copy' (joined its original's story) or 'again' (this record was
-- assigned before: the same answer).

local P = ARGV[1]
local rid = ARGV[2]
local dup = ARGV[3]
local t = tonumber(ARGV[4])
local w = tonumber(ARGV[5])
local threshold = tonumber(ARGV[6])
local vec = ARGV[7]
local anchors = ARGV[8]
local C = tonumber(ARGV[9])
local MAXV = tonumber(ARGV[10])
local MAXL = tonumber(ARGV[11])
local CL = tonumber(ARGV[13])

-- A packed vector as {term = weight} and its terms in order.
local function unpacked(blob)
  local weights, order = {}, {}
  local e = {struct.unpack('>' .. string.rep('I4f', #blob / 8), blob)}
  for i = 1, #e - 1, 2 do
    weights[e[i]] = e[i + 1]
    order[#order + 1] = e[i]
  end
  return weights, order
end

local mine, order = unpacked(vec)
local lead, lead_order = unpacked(ARGV[12])

-- Time decay: full weight inside the story's span, half at one window from it, 0 beyond.
local function decay(t0, t1)
  local gap = math.max(0, t0 - t, t - t1)
  if gap > w then
    return nil
  end
  return 2 ^ (-(gap / w) ^ 2)
end

-- Every (term, weight) of a centroid, in one call: {term1, q1, term2, q2, ...}; a weight is
-- q / 65535 of the story's scale.
local formats = {}
local function entries(blob)
  local n = #blob / 6
  if n == 0 then
    return {}
  end
  local f = formats[n]
  if not f then
    f = '>' .. string.rep('I4H', n)
    formats[n] = f
  end
  local out = {struct.unpack(f, blob)}
  out[#out] = nil  -- struct.unpack also returns the next position
  return out
end

-- Cosine of a unit vector ({term = weight}) with a centroid.
local function cosine(vector, centroid)
  local e = entries(centroid)
  local dot, norm = 0, 0
  for i = 1, #e, 2 do
    local weight = e[i + 1]
    norm = norm + weight * weight
    local m = vector[e[i]]
    if m then
      dot = dot + m * weight
    end
  end
  if norm == 0 then
    return 0
  end
  return dot / math.sqrt(norm)
end

-- This article against story s, before time decay.
local function score(s)
  return math.max(cosine(lead, s.c), cosine(mine, s.lc))
end

local HEADER = '>I4I4I4I4ffHB'
local HEADER_BYTES = 27

local function story(n)
  local raw = redis.call('GET', P .. ':s:' .. n)
  if not raw then
    return nil
  end
  local tf, t0, t1, size, scale, lscale, clen, len = struct.unpack(HEADER, raw)
  local c0 = HEADER_BYTES + len
  return {id = string.sub(raw, HEADER_BYTES + 1, c0), tf = tf, t0 = t0, t1 = t1, size = size,
          scale = scale, lscale = lscale, c = string.sub(raw, c0 + 1, c0 + clen),
          lc = string.sub(raw, c0 + clen + 1)}
end

-- A centroid plus an article's vector ({term = weight}, its terms in order), strongest C terms
-- kept: {centroid, scale}.
local function merged(centroid, scale, mine, order, C)
  local sum, terms = {}, {}
  local e = entries(centroid)
  local unit = scale / 65535
  for i = 1, #e, 2 do
    sum[e[i]] = e[i + 1] * unit
    terms[#terms + 1] = e[i]
  end
  for _, term in ipairs(order) do
    if sum[term] then
      sum[term] = sum[term] + mine[term]
    else
      sum[term] = mine[term]
      terms[#terms + 1] = term
    end
  end
  table.sort(terms, function(a, b) return sum[a] > sum[b] end)
  local n = math.min(#terms, C)
  if n == 0 then
    return '', 0
  end
  local top = sum[terms[1]]
  local values = {}
  for i = 1, n do
    values[2 * i - 1] = terms[i]
    values[2 * i] = math.floor(sum[terms[i]] / top * 65535 + 0.5)
  end
  return struct.pack('>' .. string.rep('I4H', n), unpack(values)), top
end

local function index_anchors(n)
  local k = math.floor(t / w)
  local key = P .. ':i:' .. k
  local packed = struct.pack('>I4', n)
  local fields = {}
  for i = 1, #anchors / 4 do
    fields[i] = string.sub(anchors, (i - 1) * 4 + 1, i * 4)
  end
  if #fields == 0 then
    return
  end
  local lists = redis.call('HMGET', key, unpack(fields))
  local args = {}
  for i, field in ipairs(fields) do
    local list = lists[i] or ''
    if string.sub(list, -4) ~= packed then
      list = list .. packed
      if #list > MAXL * 4 then
        list = string.sub(list, -MAXL * 4)
      end
      args[#args + 1] = field
      args[#args + 1] = list
    end
  end
  if #args > 0 then
    redis.call('HSET', key, unpack(args))
  end
  redis.call('EXPIRE', key, w)
end

-- Article joins (or opens) story n; update its span, size and (unless a copy) centroid.
local function join(n, s, similarity, how)
  local size = s.size + 1
  local t0, t1 = math.min(s.t0, t), math.max(s.t1, t)
  local c, scale, lc, lscale = s.c, s.scale, s.lc, s.lscale
  if how ~= 'copy' then
    c, scale = merged(s.c, s.scale, mine, order, C)
    lc, lscale = merged(s.lc, s.lscale, lead, lead_order, CL)
    index_anchors(n)
  end
  redis.call('SET', P .. ':s:' .. n,
    struct.pack(HEADER, s.tf, t0, t1, size, scale, lscale, #c, #s.id) .. s.id .. c .. lc, 'EX', w)
  redis.call('APPEND', P .. ':m:' .. n, rid .. '\n')
  redis.call('EXPIRE', P .. ':m:' .. n, w)
  redis.call('SET', P .. ':r:' .. rid, struct.pack('>I4>I4>f', n, size, similarity), 'EX', w)
  return {s.id, size, s.tf, string.format('%.4f', similarity), how}
end

local function mapped(id)
  local raw = redis.call('GET', P .. ':r:' .. id)
  if not raw then
    return nil
  end
  local n, size, similarity = struct.unpack('>I4>I4>f', raw)
  local s = story(n)
  if not s then
    return nil
  end
  return n, s, size, similarity
end

-- 1. Assigned before (a retried task), or reserved by a copy that came first.
local n, s, size, similarity = mapped(rid)
if n then
  if size > 0 then
    return {s.id, size, s.tf, string.format('%.4f', similarity), 'again'}
  end
  return join(n, s, score(s) * (decay(s.t0, s.t1) or 0), 'joined')
end

-- 2. A copy joins its original's story.
if dup ~= '' then
  n, s = mapped(dup)
  if n then
    return join(n, s, score(s) * (decay(s.t0, s.t1) or 0), 'copy')
  end
end

-- 3. Candidates: stories sharing an anchor term, within the window of publication time; the
-- MAXV sharing the most anchors are scored against their centroids.
local k = math.floor(t / w)
local hits, cands = {}, {}
if #anchors > 0 then
  local fields = {}
  for i = 1, #anchors / 4 do
    fields[i] = string.sub(anchors, (i - 1) * 4 + 1, i * 4)
  end
  for slice = k - 1, k + 1 do
    local lists = redis.call('HMGET', P .. ':i:' .. slice, unpack(fields))
    for _, list in ipairs(lists) do
      if list then
        local seen = {}
        local numbers = {struct.unpack('>' .. string.rep('I4', #list / 4), list)}
        for j = 1, #numbers - 1 do
          local m = numbers[j]
          if not seen[m] then
            seen[m] = true
            if hits[m] then
              hits[m] = hits[m] + 1
            else
              hits[m] = 1
              cands[#cands + 1] = m
            end
          end
        end
      end
    end
  end
end
if #cands > MAXV then
  table.sort(cands, function(a, b)
    if hits[a] ~= hits[b] then
      return hits[a] > hits[b]
    end
    return a > b
  end)
end
local best_n, best_s, best_sim = nil, nil, -1
for i = 1, math.min(#cands, MAXV) do
  local cs = story(cands[i])
  if cs then
    local d = decay(cs.t0, cs.t1)
    if d then
      local sim = score(cs) * d
      if sim > best_sim then
        best_n, best_s, best_sim = cands[i], cs, sim
      end
    end
  end
end
local result
if best_n and best_sim >= threshold then
  result = join(best_n, best_s, best_sim, 'joined')
else
  -- 4. A new story, named by this article.
  n = redis.call('INCR', P .. ':next')
  result = join(n, {id = rid, tf = t, t0 = t, t1 = t, size = 0, scale = 0, c = '', lscale = 0, lc = ''}, 1.0, 'created')
end
-- A copy whose original has not been assigned yet: the original will join this story.
if dup ~= '' then
  local raw = struct.unpack('>I4', redis.call('GET', P .. ':r:' .. rid))
  redis.call('SET', P .. ':r:' .. dup, struct.pack('>I4>I4>f', raw, 0, 0), 'EX', w, 'NX')
end
return result
