package jobs

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The registry's keys. Each set is "<prefix>{reg}:<set>" (a hash: id →
// "<stored ms> <JSON>") and "<prefix>{reg}:<set>:x" (a sorted set: id →
// expiry ms, by Redis's clock); both share one hash tag, so one slot in a
// Redis Cluster. Expired records are dropped lazily, at most regSweep of them
// per call, by every store and read of the set. A schedule's last fire is
// "<prefix>{q:<queue>}:tl:<name>" ("<tick ms> <job id>"), next to the
// schedule's last tick "…:t:<name>" that the enqueue script keeps.

// regSweep bounds the expired records one call drops.
const regSweep = 100

// regSweepLua drops expired records of KEYS[1] (hash), KEYS[2] (expiries)
// and sets now (ms, by Redis's clock).
var regSweepLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ` + strconv.Itoa(regSweep) + `)
if #old > 0 then
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
`

// regPutScript stores records. ARGV: ttl ms, then id, JSON pairs.
var regPutScript = redis.NewScript(regSweepLua + `
local exp = now + tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], now .. ' ' .. ARGV[i + 1])
  redis.call('ZADD', KEYS[2], exp, ARGV[i])
end
return 1
`)

// regListScript returns the live records as id, "<stored ms> <JSON>" pairs.
var regListScript = redis.NewScript(regSweepLua + `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf')
if #ids == 0 then return {} end
local vals = redis.call('HMGET', KEYS[1], unpack(ids))
local out = {}
for i, id in ipairs(ids) do
  if vals[i] then
    out[#out + 1] = id
    out[#out + 1] = vals[i]
  end
end
return out
`)

// regFireScript stores "<tick ms> <job id>" in KEYS[1] unless it holds a
// later tick. ARGV: tick ms, job id.
var regFireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local tick = tonumber(string.match(cur, '^(%d+)'))
  if tick and tick > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2])
return 1
`)

func (b *RedisBackend) regKeys(set string) []string {
	h := b.prefix + "{reg}:" + set
	return []string{h, h + ":x"}
}

func (b *RedisBackend) putRecords(ctx context.Context, set string, recs []regRecord, ttl time.Duration) error {
	if len(recs) == 0 {
		return nil
	}
	args := make([]any, 1, 1+2*len(recs))
	args[0] = max(ttl.Milliseconds(), 1)
	for _, r := range recs {
		args = append(args, r.id, r.data)
	}
	return regPutScript.Run(ctx, b.rdb, b.regKeys(set), args...).Err()
}

func (b *RedisBackend) delRecords(ctx context.Context, set string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	keys := b.regKeys(set)
	pipe := b.rdb.TxPipeline()
	pipe.HDel(ctx, keys[0], ids...)
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	pipe.ZRem(ctx, keys[1], members...)
	_, err := pipe.Exec(ctx)
	return err
}

func (b *RedisBackend) records(ctx context.Context, set string) ([]regRecord, error) {
	res, err := regListScript.Run(ctx, b.rdb, b.regKeys(set)).StringSlice()
	if err != nil {
		return nil, err
	}
	out := make([]regRecord, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		ms, data, ok := strings.Cut(res[i+1], " ")
		at, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, regRecord{id: res[i], data: []byte(data), at: time.UnixMilli(at)})
	}
	return out, nil
}

func (b *RedisBackend) fireKey(queue, name string) string { return b.k(queue).base + "tl:" + name }

func (b *RedisBackend) setLastFire(ctx context.Context, queue, name string, tick time.Time, jobID string) error {
	return regFireScript.Run(ctx, b.rdb, []string{b.fireKey(queue, name)}, tick.UnixMilli(), jobID).Err()
}

func (b *RedisBackend) lastFires(ctx context.Context, keys []schedKey) ([]lastFire, error) {
	out := make([]lastFire, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, k := range keys {
		// The tick key is the one lastTick reads; both keys share the
		// queue's hash tag.
		cmds[i] = pipe.MGet(ctx, b.k(k.queue).base+"t:"+k.name, b.fireKey(k.queue, k.name))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i, c := range cmds {
		v, err := c.Result()
		if err != nil {
			return nil, err
		}
		var tick int64
		if s, ok := v[0].(string); ok {
			tick, _ = strconv.ParseInt(s, 10, 64)
		}
		var fire int64
		var id string
		if s, ok := v[1].(string); ok {
			ms, rest, _ := strings.Cut(s, " ")
			fire, _ = strconv.ParseInt(ms, 10, 64)
			id = rest
		}
		// The tick key is authoritative (written with the job); the fire
		// key follows it after a successful enqueue.
		switch {
		case fire >= tick && fire > 0:
			out[i] = lastFire{tick: time.UnixMilli(fire), jobID: id}
		case tick > 0:
			out[i] = lastFire{tick: time.UnixMilli(tick)}
		}
	}
	return out, nil
}
