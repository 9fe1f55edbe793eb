package jobs

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A watched job's events are a Redis stream, <queue>ev:<id> (the queue's
// hash tag), written by the scripts that change the job while the queue's
// flag <queue>w exists and the stream does: a watcher opens both, with a
// TTL it refreshes, so unwatched jobs cost one EXISTS per fetch.

// watchOpenScript opens (or refreshes) a job's stream and the queue's flag.
// KEYS: stream, flag. ARGV: ttl ms, the event to resume after ("" none).
// Returns {resumed (0/1), position to read after}.
var watchOpenScript = redis.NewScript(`
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
local function less(x, y)
  local a1, a2 = string.match(x, '^(%d+)-(%d+)$')
  local b1, b2 = string.match(y, '^(%d+)-(%d+)$')
  a1, a2, b1, b2 = tonumber(a1), tonumber(a2), tonumber(b1), tonumber(b2)
  return a1 < b1 or (a1 == b1 and a2 < b2)
end
local resumed = 0
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[1]) == 1 then
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if first and last and not less(ARGV[2], first[1]) and not less(last[1], ARGV[2]) then resumed = 1 end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', 1000, '*', 't', 'o')
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if resumed == 1 then return {1, ARGV[2]} end
return {0, redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1][1]}
`)

// validEventID reports whether s looks like a stream id (ms-seq): anything
// else from a client's Last-Event-ID starts the watch afresh.
func validEventID(s string) bool {
	a, b, ok := strings.Cut(s, "-")
	if !ok || len(a) == 0 || len(a) > 20 || len(b) == 0 || len(b) > 20 {
		return false
	}
	for _, part := range []string{a, b} {
		if _, err := strconv.ParseUint(part, 10, 64); err != nil || part[0] == '+' {
			return false
		}
	}
	return true
}

func (b *RedisBackend) watchOpen(ctx context.Context, queue, id, after string, ttl time.Duration) (string, bool, error) {
	if !validEventID(after) {
		after = ""
	}
	k := b.k(queue)
	v, err := watchOpenScript.Run(ctx, b.rdb, []string{k.base + "ev:" + id, k.base + "w"}, ttl.Milliseconds(), after).Slice()
	if err != nil {
		return "", false, err
	}
	if len(v) != 2 {
		return "", false, errors.New("jobs: unexpected watch reply")
	}
	pos, _ := v[1].(string)
	return pos, v[0] == int64(1), nil
}

func (b *RedisBackend) watchRead(ctx context.Context, queue, id, after string, wait time.Duration) ([]Event, string, error) {
	k := b.k(queue)
	res, err := b.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{k.base + "ev:" + id, after}, Count: 100, Block: wait}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, after, nil
	}
	if err != nil {
		return nil, after, err
	}
	var out []Event
	for _, s := range res {
		for _, m := range s.Messages {
			after = m.ID
			if e, ok := parseEvent(m.ID, m.Values); ok {
				out = append(out, e)
			}
		}
	}
	return out, after, nil
}

func parseEvent(id string, v map[string]any) (Event, bool) {
	str := func(k string) string { s, _ := v[k].(string); return s }
	e := Event{ID: id}
	switch str("t") {
	case "s":
		e.Type, e.State = EventState, State(str("s"))
		e.Attempt, _ = strconv.Atoi(str("a"))
		if r := str("r"); r != "" {
			e.Result = []byte(r)
		}
		e.Error = str("e")
	case "p":
		cur, _ := strconv.ParseInt(str("pc"), 10, 64)
		tot, _ := strconv.ParseInt(str("pt"), 10, 64)
		e.Type, e.State = EventProgress, StateActive
		e.Progress = &Progress{Current: cur, Total: tot, Message: str("pm")}
	default:
		return Event{}, false
	}
	return e, true
}
