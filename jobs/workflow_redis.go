package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A workflow's state is one hash, <prefix>{w:<id>}, laid out as
// wfDef.fields describes; each script below touches only it (one slot) and
// runs the transition of the same name in workflow_state.go.

// wfLua holds the helpers the workflow scripts share.
const wfLua = `
local h = KEYS[1]
local function split(s)
  local t = {}
  if s then for x in string.gmatch(s, '[^,]+') do t[#t + 1] = x end end
  return t
end
local function ended(s) return s == 's' or s == 'f' or s == 'c' or s == 'k' or s == 'u' end
local function ok(s) return s == 's' or s == 'u' end
local function meta()
  local m = redis.call('HGET', h, 'meta')
  if not m then return nil end
  local created, ret, n, onfail = string.match(m, '^([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31')
  return {ret = tonumber(ret), n = tonumber(n), onfail = onfail}
end
local function releases(steps)
  local out = {}
  for _, k in ipairs(steps) do
    out[#out + 1] = k
    out[#out + 1] = redis.call('HGET', h, 'm' .. k) or ''
  end
  return out
end
`

// wfDoneScript records a step's outcome.
// KEYS: the workflow. ARGV: step, outcome (s, f, c, u), result or error, now ms.
// Returns {found (0/1), ended (0/1), step, release record, ...}.
var wfDoneScript = redis.NewScript(wfLua + `
local i, out, val, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local m = meta()
local st = redis.call('HGET', h, 's' .. i)
if not m or not st then return {0, 0} end
local of = m.onfail
local cancelled = redis.call('HGET', h, 'state') == 'cancelled'
local released = {}
if ended(st) then
  if not cancelled then
    for _, k in ipairs(split(redis.call('HGET', h, 'd' .. i))) do
      if redis.call('HGET', h, 's' .. k) == 'r' then released[#released + 1] = k end
    end
    if of ~= '-1' and not ok(st) and redis.call('HGET', h, 's' .. of) == 'r' then released[#released + 1] = of end
  end
  local res = {1, 0}
  for _, v in ipairs(releases(released)) do res[#res + 1] = v end
  return res
end
local function setended(k, s)
  redis.call('HSET', h, 's' .. k, s)
  if k ~= of then redis.call('HINCRBY', h, 'open', -1) end
end
local function release(k)
  if not cancelled and redis.call('HGET', h, 's' .. k) == 'w' then
    redis.call('HSET', h, 's' .. k, 'r')
    released[#released + 1] = k
  end
end
setended(i, out)
if out == 's' then redis.call('HSET', h, 'o' .. i, val) else redis.call('HSET', h, 'e' .. i, val) end
local work, head = {}, 1
for _, k in ipairs(split(redis.call('HGET', h, 'd' .. i))) do work[#work + 1] = {k, ok(out)} end
while head <= #work do
  local k, good = work[head][1], work[head][2]
  head = head + 1
  local left = redis.call('HINCRBY', h, 'n' .. k, -1)
  if good or redis.call('HGET', h, 'p' .. k) == '1' then
    if left <= 0 then release(k) end
  elseif redis.call('HGET', h, 's' .. k) == 'w' then
    setended(k, 'k')
    for _, d in ipairs(split(redis.call('HGET', h, 'd' .. k))) do work[#work + 1] = {d, false} end
  end
end
if not ok(out) and i ~= of then
  redis.call('HSET', h, 'failed', '1')
  if of ~= '-1' then release(of) end
end
local fin = 0
if redis.call('HGET', h, 'state') == 'running' and tonumber(redis.call('HGET', h, 'open')) <= 0 then
  local ofs = nil
  if of ~= '-1' then ofs = redis.call('HGET', h, 's' .. of) end
  if ofs ~= 'r' then
    if ofs == 'w' then redis.call('HSET', h, 's' .. of, 'k') end
    local state = 'succeeded'
    if redis.call('HGET', h, 'failed') == '1' then state = 'failed' end
    redis.call('HSET', h, 'state', state, 'fin', now)
    redis.call('PEXPIRE', h, m.ret)
    fin = 1
  end
end
local res = {1, fin}
for _, v in ipairs(releases(released)) do res[#res + 1] = v end
return res
`)

// wfCancelScript cancels a running workflow.
// KEYS: the workflow. ARGV: now ms.
// Returns {found (0/1), was running (0/1), step, release record, ...}.
var wfCancelScript = redis.NewScript(wfLua + `
local m = meta()
if not m then return {0, 0} end
if redis.call('HGET', h, 'state') ~= 'running' then return {1, 0} end
local steps = {}
for k = 0, m.n - 1 do
  local s = redis.call('HGET', h, 's' .. k)
  if s == 'w' then
    redis.call('HSET', h, 's' .. k, 'k')
  elseif s == 'r' then
    redis.call('HSET', h, 's' .. k, 'c', 'e' .. k, 'workflow cancelled')
    steps[#steps + 1] = k
  end
end
redis.call('HSET', h, 'state', 'cancelled', 'open', 0, 'fin', ARGV[1])
redis.call('PEXPIRE', h, m.ret)
local res = {1, 1}
for _, v in ipairs(releases(steps)) do res[#res + 1] = v end
return res
`)

// wfInputsScript returns the outcomes a step waited for.
// KEYS: the workflow. ARGV: step.
// Returns {found (0/1), then per input: step, kind, state, result, error}.
var wfInputsScript = redis.NewScript(wfLua + `
local i = ARGV[1]
local m = meta()
if not m then return {0} end
local deps = {}
if i == m.onfail then
  for k = 0, m.n - 1 do
    local s = redis.call('HGET', h, 's' .. k)
    if tostring(k) ~= i and (s == 'f' or s == 'c') then deps[#deps + 1] = tostring(k) end
  end
else
  deps = split(redis.call('HGET', h, 'a' .. i))
end
local res = {1}
for _, k in ipairs(deps) do
  local v = redis.call('HMGET', h, 'k' .. k, 's' .. k, 'o' .. k, 'e' .. k)
  res[#res + 1] = k
  for j = 1, 4 do res[#res + 1] = v[j] or '' end
end
return res
`)

func (b *RedisBackend) wfKey(id string) string { return b.prefix + "{w:" + id + "}" }

func (b *RedisBackend) createWorkflow(ctx context.Context, w *wfDef) error {
	return b.rdb.HSet(ctx, b.wfKey(w.id), w.fields()...).Err()
}

// parseReleases reads the step/record pairs from v.
func parseReleases(v []any) []release {
	var out []release
	for i := 0; i+1 < len(v); i += 2 {
		step, err := strconv.Atoi(fmt.Sprint(v[i]))
		if err != nil {
			continue
		}
		rec, _ := v[i+1].(string)
		if r, ok := parseRelease(step, rec); ok {
			out = append(out, r)
		}
	}
	return out
}

func (b *RedisBackend) stepDone(ctx context.Context, wf string, step int, out stepOutcome, now time.Time) ([]release, error) {
	v, err := wfDoneScript.Run(ctx, b.rdb, []string{b.wfKey(wf)}, step, string(out.state), out.value, now.UnixMilli()).Slice()
	if err != nil {
		return nil, err
	}
	if len(v) < 2 || v[0] == int64(0) {
		return nil, nil // gone: past its retention
	}
	return parseReleases(v[2:]), nil
}

func (b *RedisBackend) stepInputs(ctx context.Context, wf string, step int) ([]StepResult, error) {
	v, err := wfInputsScript.Run(ctx, b.rdb, []string{b.wfKey(wf)}, step).Slice()
	if err != nil {
		return nil, err
	}
	if len(v) == 0 || v[0] == int64(0) {
		return nil, ErrNotFound
	}
	out := make([]StepResult, 0, (len(v)-1)/5)
	for i := 1; i+4 < len(v); i += 5 {
		k, _ := strconv.Atoi(fmt.Sprint(v[i]))
		s := make([]string, 4)
		for j := range s {
			s[j], _ = v[i+1+j].(string)
		}
		out = append(out, stepResult(wf, k, s[0], s[1], s[2], s[3]))
	}
	return out, nil
}

func (b *RedisBackend) workflow(ctx context.Context, id string) (*WorkflowInfo, error) {
	m, err := b.rdb.HGetAll(ctx, b.wfKey(id)).Result()
	if err != nil {
		return nil, err
	}
	wi, ok := wfHash(m).info(id)
	if !ok {
		return nil, ErrNotFound
	}
	return wi, nil
}

func (b *RedisBackend) cancelWorkflow(ctx context.Context, id string, now time.Time) ([]release, error) {
	v, err := wfCancelScript.Run(ctx, b.rdb, []string{b.wfKey(id)}, now.UnixMilli()).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	switch {
	case len(v) < 2 || v[0] == int64(0):
		return nil, ErrNotFound
	case v[1] == int64(0):
		return nil, ErrFinished
	}
	return parseReleases(v[2:]), nil
}
