// Command outbox measures the latency of the transactional outbox
// (package jobs/outbox) on PostgreSQL with jobs on Redis: the time from a
// transaction's commit (the return of COMMIT, in the goroutine that ran
// EnqueueTx) to the moment the relay has enqueued its job on Redis and
// committed the row's delete (the relay's OnRelayed hook). Each goroutine
// commits one transaction, waits for its job to be relayed, and commits
// the next: p50/p99 over -n transactions per concurrency level, with the
// relay woken by LISTEN/NOTIFY, then the same with LISTEN off (polling
// only, at the default 1 s interval) for comparison. Goal: p99 < 50 ms
// with NOTIFY.
//
// Run it with `cd bench && go run ./outbox`; it uses TEST_DATABASE_URL
// (a schema of its own, dropped at the end) and TEST_REDIS_URL (a key
// prefix of its own, deleted at the end).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/bench/internal/harness"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/outbox"
)

var (
	total     = flag.Int("n", 2000, "transactions per concurrency level, with NOTIFY")
	levels    = flag.String("c", "1,8,32", "concurrency levels (goroutines committing at once)")
	pollN     = flag.Int("poll-n", 30, "transactions per level with polling only")
	pollEvery = flag.Duration("poll", time.Second, "poll interval of the polling-only figure")
	relays    = flag.Int("relays", 1, "relays running at once")
)

// signup is the job each transaction records.
type signup struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
}

func (signup) Kind() string { return "welcome_email" }

func main() {
	flag.Parse()
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "bench/outbox:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	base := testenv.DatabaseURL()
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		return err
	}
	defer admin.Close()
	schema := "bench_outbox_" + harness.RandomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("create schema (is PostgreSQL running at %s?): %w", base, err)
	}
	defer admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sqlx.Open("pgx", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	fsys, dir, err := outbox.Migrations(string(crud.Postgres))
	if err != nil {
		return err
	}
	if _, err := crud.Migrate(ctx, db.DB, crud.Postgres, fsys, dir, crud.VersionTable(outbox.VersionTable)); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL)"); err != nil {
		return err
	}

	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	prefix := "bench:outbox:" + harness.RandomHex(6) + ":"
	defer deletePrefix(context.Background(), rdb, prefix)
	backend, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		return err
	}
	client, err := jobs.NewClient(backend, jobs.ClientConfig{})
	if err != nil {
		return err
	}

	var cs []int
	for f := range strings.SplitSeq(*levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return fmt.Errorf("-c: bad level %q", f)
		}
		cs = append(cs, c)
	}
	fmt.Printf("commit → enqueued on Redis, PostgreSQL + Redis on loopback, %d relay(s), batch 100\n\n", *relays)
	fmt.Println("| wake-up | concurrency | transactions | p50 | p99 | max | tx/s |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, mode := range []struct {
		name     string
		pollOnly bool
		poll     time.Duration
		n        int
	}{
		{"LISTEN/NOTIFY", false, time.Second, *total},
		{"polling " + pollEvery.String(), true, *pollEvery, *pollN},
	} {
		for _, c := range cs {
			if mode.n < 1 {
				break
			}
			r, err := measure(ctx, db, client, mode.pollOnly, mode.poll, c, mode.n)
			if err != nil {
				return err
			}
			fmt.Printf("| %s | %d | %d | %s | %s | %s | %.0f |\n", mode.name, c, mode.n, ms(r.p50), ms(r.p99), ms(r.max), r.perSec)
		}
	}
	return nil
}

type result struct {
	p50, p99, max time.Duration
	perSec        float64
}

// measure runs n transactions from c goroutines, each waiting for its job
// to be relayed before committing the next.
func measure(ctx context.Context, db *sqlx.DB, client *jobs.Client, pollOnly bool, poll time.Duration, c, n int) (result, error) {
	var mu sync.Mutex
	waiting := map[string]chan time.Time{}
	onRelayed := func(ids []string, _ time.Time) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if ch, ok := waiting[id]; ok {
				ch <- now
				delete(waiting, id)
			}
		}
	}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range *relays {
		r, err := outbox.NewRelay(outbox.RelayConfig{DB: db, Client: client, PollOnly: pollOnly, PollInterval: poll,
			OnRelayed: onRelayed, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			stop()
			return result{}, err
		}
		wg.Go(func() { _ = r.Run(rctx) })
	}
	defer func() { stop(); wg.Wait() }()
	time.Sleep(200 * time.Millisecond) // LISTEN in place, first pass done

	lat := make([]time.Duration, 0, n)
	var errOnce error
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	start := time.Now()
	var g sync.WaitGroup
	for range c {
		g.Go(func() {
			for i := range next {
				ch := make(chan time.Time, 1)
				var id string
				err := crud.InTx(ctx, db, func(ctx context.Context, tx *sqlx.Tx) error {
					var uid int64
					email := fmt.Sprintf("user%d@example.com", i)
					if err := tx.GetContext(ctx, &uid, "INSERT INTO users (email) VALUES ($1) RETURNING id", email); err != nil {
						return err
					}
					var err error
					id, err = outbox.EnqueueTx(ctx, tx, signup{UserID: uid, Email: email})
					if err == nil {
						mu.Lock()
						waiting[id] = ch
						mu.Unlock()
					}
					return err
				})
				committed := time.Now()
				if err != nil {
					mu.Lock()
					errOnce = err
					mu.Unlock()
					return
				}
				select {
				case at := <-ch:
					mu.Lock()
					lat = append(lat, at.Sub(committed))
					mu.Unlock()
				case <-time.After(30 * time.Second):
					mu.Lock()
					errOnce = fmt.Errorf("job %s not relayed within 30 s", id)
					mu.Unlock()
					return
				}
			}
		})
	}
	g.Wait()
	took := time.Since(start)
	if errOnce != nil {
		return result{}, errOnce
	}
	slices.Sort(lat)
	return result{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], max: lat[len(lat)-1], perSec: float64(n) / took.Seconds()}, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func deletePrefix(ctx context.Context, rdb *redis.Client, prefix string) {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}
