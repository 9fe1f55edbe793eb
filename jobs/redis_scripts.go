package jobs

import "github.com/redis/go-redis/v9"

// Every script touches only keys of one queue, all sharing the queue's hash
// tag (Redis Cluster safe); all of them are passed in KEYS except the job
// keys of cancelled entries that fetchScript drops and of dead jobs it
// trims, which it derives from the pending key (same hash tag, so the same
// slot). Times are Unix
// milliseconds. The scripts that lease, extend, reclaim, ack, cancel and
// count judge time by Redis's clock (TIME; effects replication, the default
// since Redis 5), so a worker whose clock runs ahead cannot reclaim another
// worker's running job; enqueue uses the client's clock for due times.
//
// Per queue: p (list of encoded messages; LPUSH new, RPOP next), s and r
// (scheduled and retry sets scored by due time) with sd (id → message),
// l (leases scored by deadline) with ld (id → "token\x1fmessage"),
// d (dead set by time), ok and x (succeeded and cancelled ids by expiry),
// ctl (paused flag and cancel markers of pending and leased jobs, deleted
// when the job is dropped at its fetch or its attempt is acked), ix (id → "kind\x1fenqueued\x1fowner"
// for every unfinished job), and per job j:<id>: a hash of progress and
// retry state while unfinished, then a string record with a TTL once
// finished: state, attempts, finished, kind, enqueued, owner, progress
// current, total, message, error, and last the result (succeeded) or the
// message (dead), separated by 0x1f. The error field holds the job's error
// list ("\30attempt\29ms\29error" entries, the last 10 failed attempts)
// or, in records written before lists existed, the last error alone. The
// unfinished job's hash keeps a (attempts), e (last error), E<attempt>
// ("ms\29error", the last 10 attempts) and pc, pt, pm (progress).
// Per queue and minute, m:<unix minute>: a hash of attempts ended that
// minute, "p:<kind>" (all) and "f:<kind>" (failed), expiring after 2 h.

// enqueueScript stores jobs.
// KEYS: pending, scheduled, scheddata, index, then one guard key per job
// (the index key when the job has no guard).
// ARGV: now, count, then per job: id, message, due, guard mode, guard arg,
// meta, once. A job with once set (JobID) is refused while its id is in the
// index (unfinished) or its job key exists (finished, within retention);
// the job key is derived from the pending key (same hash tag).
var enqueueScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local base = string.sub(KEYS[1], 1, -2)
local res, push, ix, seen = {}, {}, {}, {}
for i = 0, n - 1 do
  local a = 3 + i * 7
  local gk = KEYS[5 + i]
  local id, gm = ARGV[a], ARGV[a + 3]
  local ok = true
  if ARGV[a + 6] == '1' then
    if seen[id] or redis.call('HEXISTS', KEYS[4], id) == 1 or redis.call('EXISTS', base .. 'j:' .. id) == 1 then ok = false end
    seen[id] = true
  end
  if not ok then
  elseif gm == '1' then
    ok = redis.call('SET', gk, id, 'NX', 'PX', ARGV[a + 4])
  elseif gm == '2' then
    local last = redis.call('GET', gk)
    if last and tonumber(last) >= tonumber(ARGV[a + 4]) then ok = false else redis.call('SET', gk, ARGV[a + 4]) end
  end
  if ok then
    res[i + 1] = 1
    ix[#ix + 1] = id
    ix[#ix + 1] = ARGV[a + 5]
    local due = tonumber(ARGV[a + 2])
    if due > now then
      redis.call('ZADD', KEYS[2], due, id)
      redis.call('HSET', KEYS[3], id, ARGV[a + 1])
    else
      push[#push + 1] = ARGV[a + 1]
    end
  else
    res[i + 1] = 0
  end
end
if #ix > 0 then redis.call('HSET', KEYS[4], unpack(ix)) end
if #push > 0 then redis.call('LPUSH', KEYS[1], unpack(push)) end
return res
`)

// enqueueNowScript stores jobs that are runnable now and have no guard (the
// common case, with fewer arguments than enqueueScript).
// KEYS: pending, index. ARGV: id, message, meta for each job.
var enqueueNowScript = redis.NewScript(`
local ix, push = {}, {}
for i = 1, #ARGV, 3 do
  ix[#ix + 1] = ARGV[i]
  ix[#ix + 1] = ARGV[i + 2]
  push[#push + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[2], unpack(ix))
redis.call('LPUSH', KEYS[1], unpack(push))
return #push
`)

// fetchScript acks the previous batch, optionally does maintenance, and
// leases up to n jobs.
// KEYS: 1 pending, 2 leases, 3 leasedata, 4 scheduled, 5 retry, 6 scheddata,
// 7 dead, 8 succeeded, 9 ctl, 10 cancelled, 11 index, 12 this minute's
// counters, then one job key per ack.
// ARGV: 1 unused (the caller's clock; Redis's is used), 2 n, 3 lease ms,
// 4 token, 5 maint, 6 dead max,
// 7 dead age ms, 8 acks, 9 counters ttl ms, then per ack: id, token, kind,
// attempts, job kind ("" if unknown: the index's is used) and by
// kind: s retention ms, progress, result; r message, due, error;
// d message, error, progress; q message; c retention ms, progress.
// An ack of a job cancelled meanwhile (its marker in ctl) only counts its
// attempt in the record the cancel wrote, whatever the attempt's outcome.
// Every ack but q adds one to the minute's "p:<kind>" counter, r and d to
// "f:<kind>" too: one HINCRBY per distinct kind and outcome in the batch.
// r stores the attempt's error in the job's hash as E<attempt> ("ms\29error",
// dropping E<attempt-10>: no extra command), d and c build the record's
// error list from those fields (one HGETALL, only past a first attempt).
// After the acks: the count of workflow steps they released on this queue,
// then id, message, meta for each (pushed before the lease, so this very
// call may lease them).
// Returns {messages, paused, next due, refused}.
var fetchScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local base = string.sub(KEYS[1], 1, -2)
-- the record of a cancelled job: set its attempts, or its expiry from the
-- message's retention (the cancel of a pending job could not read it)
local function cancelrec(h, id, att, msg)
  if redis.call('TYPE', h).ok ~= 'string' then return end
  local rec = redis.call('GET', h)
  local a, fin, rest = string.match(rec, '^c\31([^\31]*)\31([^\31]*)\31(.*)$')
  if not a then return end
  if att then
    local ttl = redis.call('PTTL', h)
    if ttl > 0 then redis.call('SET', h, 'c\31' .. att .. '\31' .. fin .. '\31' .. rest, 'PX', ttl) end
  elseif msg then
    local ret = tonumber(string.match(msg, '^[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31([^\31]*)'))
    if ret and ret > 0 then
      local at = tonumber(fin) + ret
      redis.call('PEXPIREAT', h, at)
      redis.call('ZADD', KEYS[10], at, id)
    end
  end
end
local na = tonumber(ARGV[8])
local refused = 0
-- events for watched jobs (Inspector.Watch): only while the queue's flag
-- w exists, and only to a job's stream ev:<id> that a watcher opened
local watched = redis.call('EXISTS', base .. 'w') == 1
local function ev(id, ...)
  if not watched then return end
  local k = base .. 'ev:' .. id
  if redis.call('EXISTS', k) == 1 then redis.call('XADD', k, 'MAXLEN', '~', 1000, '*', ...) end
end
-- errlist builds a record's error list ("\30attempt\29ms\29error"
-- entries, the last 10 by attempt) from the E<attempt> fields of the job's
-- hash (read only past a first attempt: earlier errors exist only then)
-- and this attempt's error, if any
local function errlist(h, att, err)
  local es = {}
  if tonumber(att) > 1 then
    local f = redis.call('HGETALL', h)
    for j = 1, #f, 2 do
      local n = string.match(f[j], '^E(%d+)$')
      if n then es[#es + 1] = {tonumber(n), f[j + 1]} end
    end
  end
  if err then es[#es + 1] = {tonumber(att), now .. '\29' .. err} end
  table.sort(es, function(x, y) return x[1] < y[1] end)
  local out = {}
  for j = math.max(1, #es - 9), #es do out[#out + 1] = '\30' .. es[j][1] .. '\29' .. es[j][2] end
  return table.concat(out)
end
-- trimdead drops dead jobs past the dead set's age or size, records too
local function trimdead()
  local gone = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now - tonumber(ARGV[7]))
  local c = redis.call('ZCARD', KEYS[7]) - #gone
  local mx = tonumber(ARGV[6])
  if c > mx then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[7], #gone, #gone + c - mx - 1)) do gone[#gone + 1] = id end
  end
  for i = 1, #gone, 1000 do
    local part = {unpack(gone, i, math.min(i + 999, #gone))}
    redis.call('ZREM', KEYS[7], unpack(part))
    for j, id in ipairs(part) do part[j] = base .. 'j:' .. id end
    redis.call('DEL', unpack(part))
  end
end
if na > 0 then
  local acks, ids = {}, {}
  local c = 10
  for i = 1, na do
    local kind = ARGV[c + 2]
    acks[i] = c
    ids[i] = ARGV[c]
    if kind == 'q' then c = c + 6 elseif kind == 'c' then c = c + 7 else c = c + 8 end
  end
  local cnt = {}
  local vals = redis.call('HMGET', KEYS[3], unpack(ids))
  local scores = redis.call('ZMSCORE', KEYS[2], unpack(ids))
  local metas = redis.call('HMGET', KEYS[11], unpack(ids))
  -- cancel markers: looked up only when the queue holds any (HLEN is O(1);
  -- most batches meet an empty ctl)
  local cflags = {}
  if redis.call('HLEN', KEYS[9]) > 0 then cflags = redis.call('HMGET', KEYS[9], unpack(ids)) end
  local rm, okz, front, unix, acked = {}, {}, {}, {}, {}
  local dead = false
  for i = 1, na do
    local a = acks[i]
    local id, tok, kind, att = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
    local v = vals[i]
    if v and not acked[id] and string.byte(v, #tok + 1) == 31 and string.sub(v, 1, #tok) == tok and scores[i] and tonumber(scores[i]) >= now then
      acked[id] = true -- a second ack of the job in this batch is refused
      rm[#rm + 1] = id
      local h, meta = KEYS[12 + i], metas[i]
      if kind ~= 'q' then
        local jk = ARGV[a + 4]
        if jk == '' and meta then jk = string.match(meta, '^[^\31]*') end
        if jk ~= '' then
          cnt['p:' .. jk] = (cnt['p:' .. jk] or 0) + 1
          if kind == 'r' or kind == 'd' then cnt['f:' .. jk] = (cnt['f:' .. jk] or 0) + 1 end
        end
      end
      if cflags[i] then
        redis.call('HDEL', KEYS[9], id)
        cancelrec(h, id, att, nil) -- cancelled meanwhile: the cancel wrote the record
        ev(id, 't', 's', 's', 'cancelled', 'a', att)
      elseif kind == 's' then
        ev(id, 't', 's', 's', 'succeeded', 'a', att, 'r', ARGV[a + 7])
        if meta then
          redis.call('SET', h, 'ok\31' .. att .. '\31' .. now .. '\31' .. meta .. '\31' .. ARGV[a + 6] .. '\31\31' .. ARGV[a + 7], 'PX', ARGV[a + 5])
          unix[#unix + 1] = id
        end
        okz[#okz + 1] = now + tonumber(ARGV[a + 5])
        okz[#okz + 1] = id
      elseif kind == 'r' then
        ev(id, 't', 's', 's', 'retrying', 'a', att, 'e', ARGV[a + 7])
        redis.call('ZADD', KEYS[5], ARGV[a + 6], id)
        redis.call('HSET', KEYS[6], id, ARGV[a + 5])
        redis.call('HSET', h, 'a', att, 'e', ARGV[a + 7], 'E' .. att, now .. '\29' .. ARGV[a + 7])
        if tonumber(att) > 10 then redis.call('HDEL', h, 'E' .. (tonumber(att) - 10)) end
      elseif kind == 'd' then
        ev(id, 't', 's', 's', 'dead', 'a', att, 'e', ARGV[a + 6])
        if meta then
          local errs = errlist(h, att, ARGV[a + 6])
          redis.call('ZADD', KEYS[7], now, id)
          redis.call('SET', h, 'dead\31' .. att .. '\31' .. now .. '\31' .. meta .. '\31' .. ARGV[a + 7] .. '\31' .. errs .. '\31' .. ARGV[a + 5], 'PX', ARGV[7])
          unix[#unix + 1] = id
        end
        dead = true
      elseif kind == 'q' then
        ev(id, 't', 's', 's', 'pending')
        front[#front + 1] = ARGV[a + 5]
      else
        ev(id, 't', 's', 's', 'cancelled', 'a', att)
        local ttl = tonumber(ARGV[a + 5])
        if meta then
          local errs = errlist(h, att, nil)
          redis.call('SET', h, 'c\31' .. att .. '\31' .. now .. '\31' .. meta .. '\31' .. ARGV[a + 6] .. '\31' .. errs .. '\31', 'PX', ttl)
          unix[#unix + 1] = id
        end
        redis.call('ZADD', KEYS[10], now + ttl, id)
      end
    else
      refused = refused + 1
    end
  end
  local fresh = false
  for f, n in pairs(cnt) do
    if redis.call('HINCRBY', KEYS[12], f, n) == n then fresh = true end
  end
  if fresh then redis.call('PEXPIRE', KEYS[12], ARGV[9]) end
  if #rm > 0 then
    redis.call('ZREM', KEYS[2], unpack(rm))
    redis.call('HDEL', KEYS[3], unpack(rm))
  end
  if #unix > 0 then redis.call('HDEL', KEYS[11], unpack(unix)) end
  if #okz > 0 then redis.call('ZADD', KEYS[8], unpack(okz)) end
  if #front > 0 then redis.call('RPUSH', KEYS[1], unpack(front)) end
  if dead then trimdead() end
end
-- workflow steps released by the acked jobs, after the acks' arguments:
-- a count, then id, message, meta each; stored unless their id is known
-- (the JobID guard), so a repeated release stores nothing
local rc = 10
for i = 1, na do
  local kind = ARGV[rc + 2]
  if kind == 'q' then rc = rc + 6 elseif kind == 'c' then rc = rc + 7 else rc = rc + 8 end
end
local nrel = tonumber(ARGV[rc] or '0') or 0
if nrel > 0 then
  local push, ix, seen = {}, {}, {}
  for j = 0, nrel - 1 do
    local p = rc + 1 + j * 3
    local id = ARGV[p]
    if not seen[id] and redis.call('HEXISTS', KEYS[11], id) == 0 and redis.call('EXISTS', base .. 'j:' .. id) == 0 then
      ix[#ix + 1] = id
      ix[#ix + 1] = ARGV[p + 2]
      push[#push + 1] = ARGV[p + 1]
    end
    seen[id] = true
  end
  if #ix > 0 then
    redis.call('HSET', KEYS[11], unpack(ix))
    redis.call('LPUSH', KEYS[1], unpack(push))
  end
end
local nextdue = 0
if ARGV[5] == '1' then
  for _, z in ipairs({KEYS[4], KEYS[5]}) do
    local ids = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 1000)
    if #ids > 0 then
      local ms = redis.call('HMGET', KEYS[6], unpack(ids))
      local push = {}
      for i = #ids, 1, -1 do if ms[i] then push[#push + 1] = ms[i] end end
      if #push > 0 then redis.call('RPUSH', KEYS[1], unpack(push)) end
      redis.call('ZREM', z, unpack(ids))
      redis.call('HDEL', KEYS[6], unpack(ids))
    end
    local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
    if first[2] then
      local d = tonumber(first[2])
      if nextdue == 0 or d < nextdue then nextdue = d end
    end
  end
  local ex = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now, 'LIMIT', 0, 1000)
  if #ex > 0 then
    local vs = redis.call('HMGET', KEYS[3], unpack(ex))
    local push = {}
    for i = 1, #ex do
      local v = vs[i]
      if v then
        local m = string.sub(v, string.find(v, '\31', 1, true) + 1)
        local id, r, rest = string.match(m, '^([^\31]*)\31([^\31]*)\31(.*)$')
        if id then push[#push + 1] = id .. '\31' .. tostring((tonumber(r) or 0) + 1) .. '\31' .. rest end
      end
    end
    redis.call('ZREM', KEYS[2], unpack(ex))
    redis.call('HDEL', KEYS[3], unpack(ex))
    if #push > 0 then redis.call('RPUSH', KEYS[1], unpack(push)) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', now)
  trimdead()
end
local out = {}
local paused = 0
local n = tonumber(ARGV[2])
if n > 0 then
  local popped = redis.call('RPOP', KEYS[1], n)
  if popped then
    local ids = {}
    for i, m in ipairs(popped) do ids[i] = string.match(m, '^[^\31]*') end
    local flags = {}
    if redis.call('HLEN', KEYS[9]) > 0 then flags = redis.call('HMGET', KEYS[9], '!paused', unpack(ids)) end
    if flags[1] then
      paused = 1
      local back = {}
      for i = #popped, 1, -1 do back[#back + 1] = popped[i] end
      redis.call('RPUSH', KEYS[1], unpack(back))
    else
      local z, h, drop = {}, {}, {}
      for i, m in ipairs(popped) do
        if flags[i + 1] then
          drop[#drop + 1] = ids[i]
        else
          z[#z + 1] = now + tonumber(ARGV[3])
          z[#z + 1] = ids[i]
          h[#h + 1] = ids[i]
          h[#h + 1] = ARGV[4] .. '\31' .. m
          out[#out + 1] = m
          if watched then ev(ids[i], 't', 's', 's', 'active', 'a', (tonumber(string.match(m, '^[^\31]*\31([^\31]*)')) or 0) + 1) end
        end
      end
      if #drop > 0 then redis.call('HDEL', KEYS[9], unpack(drop)) end
      for i, m in ipairs(popped) do
        if flags[i + 1] then cancelrec(base .. 'j:' .. ids[i], ids[i], nil, m) end
      end
      if #out > 0 then
        redis.call('ZADD', KEYS[2], unpack(z))
        redis.call('HSET', KEYS[3], unpack(h))
      end
    end
  end
end
return {out, paused, nextdue, refused}
`)

// heartbeatScript extends the leases still held with the given tokens.
// KEYS: leases, leasedata, ctl. ARGV: unused (the caller's clock), lease
// ms, then id, token pairs. Returns {lost ids, cancelled ids}.
var heartbeatScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + tonumber(ARGV[2])
local ids, toks = {}, {}
for i = 3, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  toks[#toks + 1] = ARGV[i + 1]
end
local vs = redis.call('HMGET', KEYS[2], unpack(ids))
local sc = redis.call('ZMSCORE', KEYS[1], unpack(ids))
local cs = redis.call('HMGET', KEYS[3], unpack(ids))
local lost, canc, z = {}, {}, {}
for i = 1, #ids do
  local v, tok = vs[i], toks[i]
  if v and string.byte(v, #tok + 1) == 31 and string.sub(v, 1, #tok) == tok and sc[i] and tonumber(sc[i]) >= now then
    z[#z + 1] = deadline
    z[#z + 1] = ids[i]
    if cs[i] then canc[#canc + 1] = ids[i] end
  else
    lost[#lost + 1] = ids[i]
  end
end
if #z > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(z)) end
return {lost, canc}
`)

// jobScript reads what makes up one job's info.
// KEYS: job, index, leasedata, scheduled, retry, scheddata. ARGV: id.
// Returns {'f', record} for a finished job, {'u', meta, hash, lease,
// scheduled score, retry score, scheddata} for an unfinished one, or nil.
var jobScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'string' then return {'f', redis.call('GET', KEYS[1])} end
local meta = redis.call('HGET', KEYS[2], ARGV[1])
if not meta then return false end
local h = {}
if t == 'hash' then h = redis.call('HGETALL', KEYS[1]) end
return {'u', meta, h, redis.call('HGET', KEYS[3], ARGV[1]), redis.call('ZSCORE', KEYS[4], ARGV[1]),
  redis.call('ZSCORE', KEYS[5], ARGV[1]), redis.call('HGET', KEYS[6], ARGV[1])}
`)

// pendingMessageScript finds a pending job's message near either end of its
// queue's list, where jobs about to run and jobs just enqueued are, and
// never scans more than 2×ARGV[2] entries. KEYS: pending. ARGV: id, n.
var pendingMessageScript = redis.NewScript(`
local pre, n = ARGV[1] .. '\31', tonumber(ARGV[2])
for _, r in ipairs({redis.call('LRANGE', KEYS[1], -n, -1), redis.call('LRANGE', KEYS[1], 0, n - 1)}) do
  for _, m in ipairs(r) do
    if string.sub(m, 1, #pre) == pre then return m end
  end
end
return false
`)

// cancelScript cancels a job that has not finished.
// KEYS: job, scheduled, retry, scheddata, leasedata, ctl, cancelled, index.
// ARGV: id, unused (the caller's clock), default retention ms. The record
// keeps the attempts and last error of earlier attempts; an attempt still
// running is counted when it is acked. Returns 1, 0 (not found), -1 (finished).
var cancelScript = redis.NewScript(`
local id = ARGV[1]
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'string' then return -1 end
local meta = redis.call('HGET', KEYS[8], id)
if not meta then return 0 end
local ttl = tonumber(ARGV[3])
local raw = redis.call('HGET', KEYS[4], id)
if not raw then
  local v = redis.call('HGET', KEYS[5], id)
  if v then raw = string.sub(v, string.find(v, '\31', 1, true) + 1) end
end
if raw then
  local r = string.match(raw, '^[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31([^\31]*)')
  if r and tonumber(r) and tonumber(r) > 0 then ttl = tonumber(r) end
end
if redis.call('ZREM', KEYS[2], id) + redis.call('ZREM', KEYS[3], id) > 0 then
  redis.call('HDEL', KEYS[4], id)
else
  redis.call('HSET', KEYS[6], id, '1')
end
local p, es = {}, {}
if t == 'hash' then
  local f = redis.call('HGETALL', KEYS[1])
  for j = 1, #f, 2 do
    local n = string.match(f[j], '^E(%d+)$')
    if n then es[#es + 1] = {tonumber(n), f[j + 1]} else p[f[j]] = f[j + 1] end
  end
end
table.sort(es, function(x, y) return x[1] < y[1] end)
local errs = {}
for j = math.max(1, #es - 9), #es do errs[#errs + 1] = '\30' .. es[j][1] .. '\29' .. es[j][2] end
local e = table.concat(errs)
if e == '' then e = p['e'] or '' end
redis.call('SET', KEYS[1], 'c\31' .. (p['a'] or '0') .. '\31' .. now .. '\31' .. meta .. '\31' .. (p['pc'] or '') .. '\31' .. (p['pt'] or '') .. '\31' .. (p['pm'] or '') .. '\31' .. e .. '\31', 'PX', ttl)
redis.call('HDEL', KEYS[8], id)
redis.call('ZADD', KEYS[7], now + ttl, id)
local base = string.sub(KEYS[8], 1, -3)
if redis.call('EXISTS', base .. 'w') == 1 and redis.call('EXISTS', base .. 'ev:' .. id) == 1 then
  redis.call('XADD', base .. 'ev:' .. id, 'MAXLEN', '~', 1000, '*', 't', 's', 's', 'cancelled', 'a', p['a'] or '0')
end
return 1
`)

// retryDeadScript moves a dead job back to pending with attempts reset.
// KEYS: job, dead, pending, index. ARGV: id. Returns 1, 0 (not found), -1 (not dead).
var retryDeadScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' and redis.call('HEXISTS', KEYS[4], ARGV[1]) == 0 then return 0 end
if t ~= 'string' or not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return -1 end
local v = redis.call('GET', KEYS[1])
if string.sub(v, 1, 5) ~= 'dead\31' then return -1 end
local pos = {}
local p = 0
for i = 1, 10 do
  p = string.find(v, '\31', p + 1, true)
  if not p then return -1 end
  pos[i] = p
end
local meta = string.sub(v, pos[3] + 1, pos[6] - 1)
local m = string.sub(v, pos[10] + 1)
local id, r, rest = string.match(m, '^([^\31]*)\31([^\31]*)\31(.*)$')
if not id then return -1 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('LPUSH', KEYS[3], id .. '\31' .. '0' .. '\31' .. rest)
redis.call('HSET', KEYS[4], ARGV[1], meta)
return 1
`)

// deleteDeadScript deletes a dead job. KEYS: job, dead, index. ARGV: id.
var deleteDeadScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' and redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then return 0 end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return -1 end
redis.call('DEL', KEYS[1])
return 1
`)

// progressScript stores a job's progress while it has not finished; progress
// reported after the job finished (e.g. cancelled) is dropped.
// KEYS: job, index. ARGV: id, current, total, message. Returns 1 or 0.
var progressScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1]).ok == 'string' or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'pc', ARGV[2], 'pt', ARGV[3], 'pm', ARGV[4])
local base = string.sub(KEYS[2], 1, -3)
if redis.call('EXISTS', base .. 'w') == 1 and redis.call('EXISTS', base .. 'ev:' .. ARGV[1]) == 1 then
  redis.call('XADD', base .. 'ev:' .. ARGV[1], 'MAXLEN', '~', 1000, '*', 't', 'p', 'pc', ARGV[2], 'pt', ARGV[3], 'pm', ARGV[4])
end
return 1
`)

// sizesScript counts a queue's jobs by state; cancelled jobs still in the
// pending list (dropped at their fetch) count as cancelled, not pending.
// KEYS: pending, scheduled, retry, leases, dead, succeeded, ctl, cancelled.
// Returns {pending, scheduled, retrying, active, dead, succeeded, cancelled, paused}.
var sizesScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[7])) do
  if f ~= '!paused' then ids[#ids + 1] = f end
end
local dropped = 0
if #ids > 0 then
  local sc = redis.call('ZMSCORE', KEYS[4], unpack(ids))
  for i = 1, #ids do if not sc[i] then dropped = dropped + 1 end end
end
return {math.max(redis.call('LLEN', KEYS[1]) - dropped, 0), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]),
  redis.call('ZCARD', KEYS[4]), redis.call('ZCARD', KEYS[5]), redis.call('ZCOUNT', KEYS[6], now, '+inf'),
  redis.call('ZCOUNT', KEYS[8], now, '+inf'), redis.call('HEXISTS', KEYS[7], '!paused')}
`)

// windowScript reads consecutive entries of a pending list (mode l) or a
// sorted set (mode z) after an anchor.
// KEYS: list or sorted set, ctl, index.
// ARGV: 1 mode, 2 newest (1) or oldest (0) first, 3 anchor id ("" none),
// 4 anchor score, 5 anchor position (l: of the entry after it, counted from
// the end the order starts at), 6 entries, 7 kinds wanted (1), 8 drift.
// Mode l finds the anchor within drift entries of its position (else
// starts at the position) and reports the entries whose jobs carry a ctl
// marker (cancelled or deleted); mode z starts after the anchor if it still
// has its score, else at the first entry whose score is not before it.
// Kinds come from the messages (l) or the index (z: unfinished jobs only).
// Returns {start, ids, kinds, marked indexes, scores}.
var windowScript = redis.NewScript(`
local newest, aid, n = ARGV[2] == '1', ARGV[3], tonumber(ARGV[6])
local ids, kinds, marked, scores, raws = {}, {}, {}, {}, {}
local start = 0
if ARGV[1] == 'l' then
  local function rng(a, b)
    if b < a then return {} end
    if newest then return redis.call('LRANGE', KEYS[1], a, b) end
    local r = redis.call('LRANGE', KEYS[1], -(b + 1), -(a + 1))
    local out = {}
    for i = #r, 1, -1 do out[#out + 1] = r[i] end
    return out
  end
  if aid ~= '' then
    local p, drift = tonumber(ARGV[5]), tonumber(ARGV[8])
    start = p
    local lo = math.max(0, p - 1 - drift)
    local pre = aid .. '\31'
    for i, m in ipairs(rng(lo, p - 1 + drift)) do
      if string.sub(m, 1, #pre) == pre then start = lo + i; break end
    end
  end
  local part = rng(start, start + n - 1)
  for i, m in ipairs(part) do
    ids[i] = string.match(m, '^[^\31]*')
    raws[i] = m
    if ARGV[7] == '1' then kinds[i] = string.match(m, '^[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31([^\31]*)') or '' end
  end
  if #ids > 0 and redis.call('HLEN', KEYS[2]) - redis.call('HEXISTS', KEYS[2], '!paused') > 0 then
    local fl = redis.call('HMGET', KEYS[2], unpack(ids))
    for i = 1, #ids do if fl[i] then marked[#marked + 1] = i end end
  end
  return {start, ids, kinds, marked, scores, raws}
end
if aid ~= '' then
  local s = redis.call('ZSCORE', KEYS[1], aid)
  if s and tonumber(s) == tonumber(ARGV[4]) then
    if newest then start = redis.call('ZREVRANK', KEYS[1], aid) + 1 else start = redis.call('ZRANK', KEYS[1], aid) + 1 end
  elseif newest then
    start = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[4], '+inf')
  else
    start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[4])
  end
end
local r
if newest then r = redis.call('ZREVRANGE', KEYS[1], start, start + n - 1, 'WITHSCORES')
else r = redis.call('ZRANGE', KEYS[1], start, start + n - 1, 'WITHSCORES') end
for i = 1, #r, 2 do
  ids[#ids + 1] = r[i]
  scores[#scores + 1] = r[i + 1]
end
if ARGV[7] == '1' and #ids > 0 then
  local ms = redis.call('HMGET', KEYS[3], unpack(ids))
  for i = 1, #ids do kinds[i] = ms[i] and string.match(ms[i], '^[^\31]*') or '' end
end
return {start, ids, kinds, marked, scores, raws}
`)

// statsScript reads what a queue's stats need besides its sizes.
// KEYS: 1 pending, 2 ctl, 3 scheduled, 4 retry, 5 scheddata, 6 dead, then
// the minute counters, oldest first. ARGV: sample.
// Returns {enqueued ms of the next pending job (0 if none), pending kinds,
// scheduled kinds, retrying kinds, dead ids, minute hashes}, kinds as
// {kind, count, ...} over the first sample entries of each state.
var statsScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local function tally(t, k)
  if k and k ~= '' then t[k] = (t[k] or 0) + 1 end
end
local function flat(t)
  local out = {}
  for k, c in pairs(t) do out[#out + 1] = k; out[#out + 1] = c end
  return out
end
local oldest = 0
local pk = {}
local part = redis.call('LRANGE', KEYS[1], -n, -1)
if #part > 0 then
  local fl = {}
  if redis.call('HLEN', KEYS[2]) - redis.call('HEXISTS', KEYS[2], '!paused') > 0 then
    local ids = {}
    for i, m in ipairs(part) do ids[i] = string.match(m, '^[^\31]*') end
    fl = redis.call('HMGET', KEYS[2], unpack(ids))
  end
  for i = #part, 1, -1 do
    if not fl[i] then
      local m = part[i]
      local enq, kind = string.match(m, '^[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31([^\31]*)\31([^\31]*)')
      if oldest == 0 and enq then oldest = tonumber(enq) or 0 end
      tally(pk, kind)
    end
  end
end
local function zkinds(z)
  local t = {}
  local ids = redis.call('ZRANGE', z, 0, n - 1)
  if #ids > 0 then
    for _, m in ipairs(redis.call('HMGET', KEYS[5], unpack(ids))) do
      if m then tally(t, string.match(m, '^[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*\31([^\31]*)')) end
    end
  end
  return flat(t)
end
local hist = {}
for i = 7, #KEYS do hist[#hist + 1] = redis.call('HGETALL', KEYS[i]) end
return {oldest, flat(pk), zkinds(KEYS[3]), zkinds(KEYS[4]), redis.call('ZRANGE', KEYS[6], 0, n - 1), hist}
`)

// retryNowScript makes a scheduled or retrying job pending at the front
// of its queue (it runs next, as if due).
// KEYS: job, scheduled, retry, scheddata, pending, index, dead. ARGV: id.
// Returns 1, 0 (not found), 2 (dead: retry it as dead), -1 (other state).
var retryNowScript = redis.NewScript(`
local id = ARGV[1]
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'string' then
  if redis.call('ZSCORE', KEYS[7], id) then return 2 end
  return -1
end
if redis.call('HEXISTS', KEYS[6], id) == 0 then return 0 end
local raw = redis.call('HGET', KEYS[4], id)
if raw and redis.call('ZREM', KEYS[2], id) + redis.call('ZREM', KEYS[3], id) > 0 then
  redis.call('HDEL', KEYS[4], id)
  redis.call('RPUSH', KEYS[5], raw)
  return 1
end
return -1
`)

// deleteScript deletes a job that is not running. A pending job gets a
// ctl marker: its entry is dropped when a fetch reaches it (as a cancelled
// one's), so deleting never scans the list.
// KEYS: 1 job, 2 scheduled, 3 retry, 4 scheddata, 5 dead, 6 succeeded,
// 7 cancelled, 8 index, 9 ctl, 10 leasedata. ARGV: id.
// Returns 1, 0 (not found), -1 (active).
var deleteScript = redis.NewScript(`
local id = ARGV[1]
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'string' then
  redis.call('ZREM', KEYS[5], id)
  redis.call('ZREM', KEYS[6], id)
  redis.call('ZREM', KEYS[7], id)
  redis.call('DEL', KEYS[1])
  return 1
end
if redis.call('HEXISTS', KEYS[8], id) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[10], id) == 1 then return -1 end
if redis.call('ZREM', KEYS[2], id) + redis.call('ZREM', KEYS[3], id) > 0 then
  redis.call('HDEL', KEYS[4], id)
else
  redis.call('HSET', KEYS[9], id, '1')
end
redis.call('HDEL', KEYS[8], id)
redis.call('DEL', KEYS[1])
return 1
`)

// deadBatchScript retries (mode r: back to pending, attempts reset) or
// deletes (mode d) the given dead jobs still in the dead set.
// KEYS: dead, pending, index, then one job key per id. ARGV: mode, ids.
// Returns {moved, dead left}.
var deadBatchScript = redis.NewScript(`
local moved, push = 0, {}
for i = 2, #ARGV do
  local id, h = ARGV[i], KEYS[2 + i]
  if redis.call('ZREM', KEYS[1], id) == 1 then
    moved = moved + 1
    if ARGV[1] == 'r' then
      local v = redis.call('GET', h)
      if v and string.sub(v, 1, 5) == 'dead\31' then
        local pos, p, ok = {}, 0, true
        for j = 1, 10 do
          p = string.find(v, '\31', p + 1, true)
          if not p then ok = false; break end
          pos[j] = p
        end
        if ok then
          local mid, r, rest = string.match(string.sub(v, pos[10] + 1), '^([^\31]*)\31([^\31]*)\31(.*)$')
          if mid then
            push[#push + 1] = mid .. '\31' .. '0' .. '\31' .. rest
            redis.call('HSET', KEYS[3], id, string.sub(v, pos[3] + 1, pos[6] - 1))
          end
        end
      end
    end
    redis.call('DEL', h)
  end
end
if #push > 0 then redis.call('LPUSH', KEYS[2], unpack(push)) end
return {moved, redis.call('ZCARD', KEYS[1])}
`)

// jobsScript reads many jobs of one queue at once, each as jobScript does.
// KEYS: index, leasedata, scheduled, retry, scheddata, then one job key
// per id. ARGV: ids. Returns one jobScript reply per id (false: none).
var jobsScript = redis.NewScript(`
local out = {}
for i, id in ipairs(ARGV) do
  local k = KEYS[5 + i]
  local t = redis.call('TYPE', k).ok
  if t == 'string' then
    out[i] = {'f', redis.call('GET', k)}
  else
    local meta = redis.call('HGET', KEYS[1], id)
    if not meta then
      out[i] = false
    else
      local h = {}
      if t == 'hash' then h = redis.call('HGETALL', k) end
      out[i] = {'u', meta, h, redis.call('HGET', KEYS[2], id), redis.call('ZSCORE', KEYS[3], id),
        redis.call('ZSCORE', KEYS[4], id), redis.call('HGET', KEYS[5], id)}
    end
  end
end
return out
`)
