// Command crud measures crud.Repository against hand-written sqlx running
// the same SQL on the same PostgreSQL, in one run: Get by primary key,
// Create (INSERT ... RETURNING id), List of 20 rows, and CreateMany of 1,000
// rows against 1,000 single Creates.
//
// Each figure interleaves short slices of the peer and of ours in quads
// (A B B A, B A A B, ...) and reports the median of the quads' ratios, since
// this machine's speed drifts; allocations are per operation, whole process. Run it with `cd bench && go run ./crud`; it uses
// TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and
// works in a schema of its own, dropped at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/gantry-dev/gantry/bench/internal/harness"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/internal/testenv"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// post is the row both sides read and write.
type post struct {
	ID        int64      `db:"id"`
	AuthorID  int64      `db:"author_id"`
	Title     string     `db:"title"`
	Body      string     `db:"body"`
	Published bool       `db:"published"`
	CreatedAt time.Time  `db:"created_at"`
	UpdatedAt time.Time  `db:"updated_at"`
	DeletedAt *time.Time `db:"deleted_at"`
	Version   int64      `db:"version"`
}

const schemaSQL = `CREATE TABLE posts (
	id BIGSERIAL PRIMARY KEY,
	author_id BIGINT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	published BOOLEAN NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	deleted_at TIMESTAMPTZ,
	version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX posts_author_id ON posts (author_id, id)`

// The hand-written SQL, written out as the repository generates it.
const (
	cols     = `"id", "author_id", "title", "body", "published", "created_at", "updated_at", "deleted_at", "version"`
	getSQL   = `SELECT ` + cols + ` FROM "posts" WHERE "id" = $1 AND "deleted_at" IS NULL`
	insSQL   = `INSERT INTO "posts" ("author_id", "title", "body", "published", "created_at", "updated_at", "deleted_at", "version") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING "id"`
	listSQL  = `SELECT ` + cols + ` FROM "posts" WHERE "deleted_at" IS NULL AND "author_id" = $1 ORDER BY "id" DESC LIMIT $2`
	seedRows = 20000
	authors  = 200 // ~100 rows each: List(20) always fills a page
)

var (
	slice   = flag.Duration("slice", 250*time.Millisecond, "length of one measurement slice")
	quads   = flag.Int("quads", 10, "ABBA slice quads per figure")
	workers = flag.Int("workers", 16, "concurrent goroutines")
	pool    = flag.Int("pool", 10, "connection pool size")
	profile = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memprof = flag.String("memprofile", "", "write an allocation profile of the run to this file")
	aa      = flag.Bool("aa", false, "calibrate: measure the peer against itself")
	only    = flag.String("only", "", "run only this figure (Get, Create, List(20), CreateMany)")
)

func main() {
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/crud:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *memprof != "" {
		runtime.MemProfileRate = 512
		defer func() {
			if f, err := os.Create(*memprof); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if err := run(context.Background()); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench/crud:", err)
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
	schema := "bench_crud_" + harness.RandomHex(6)
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
	db.SetMaxOpenConns(*pool)
	db.SetMaxIdleConns(*pool)
	if _, err := db.ExecContext(ctx, schemaSQL); err != nil {
		return err
	}
	repo, err := crud.NewRepository[post](db, crud.Config{Table: "posts", CursorKey: []byte("bench")})
	if err != nil {
		return err
	}
	seed := make([]post, seedRows)
	for i := range seed {
		seed[i] = post{AuthorID: int64(i%authors + 1), Title: fmt.Sprint("post ", i), Body: "body of the post", Published: i%2 == 0}
	}
	for i := 0; i < len(seed); i += 1000 {
		if err := repo.CreateMany(ctx, seed[i:i+1000]); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, "ANALYZE posts"); err != nil {
		return err
	}
	fmt.Printf("crud.Repository vs hand-written sqlx, pgx stdlib, PostgreSQL, %d goroutines, pool %d, %d ABBA quads of %v slices, %d CPUs\n",
		*workers, *pool, *quads, *slice, runtime.NumCPU())
	fmt.Printf("%-10s %12s %12s %8s %14s %14s\n", "op", "sqlx/s", "crud/s", "ratio", "sqlx allocs/B", "crud allocs/B")

	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	ops := []struct {
		name       string
		peer, ours func(ctx context.Context, r *rand.Rand) error
	}{
		{"Get",
			func(ctx context.Context, r *rand.Rand) error {
				var p post
				return db.GetContext(ctx, &p, getSQL, r.Int64N(seedRows)+1)
			},
			func(ctx context.Context, r *rand.Rand) error {
				_, err := repo.Get(ctx, r.Int64N(seedRows)+1)
				return err
			}},
		{"Create",
			func(ctx context.Context, r *rand.Rand) error {
				t := now()
				p := post{AuthorID: r.Int64N(authors) + 1, Title: "new post", Body: "body", CreatedAt: t, UpdatedAt: t, Version: 1}
				return db.QueryRowxContext(ctx, insSQL, p.AuthorID, p.Title, p.Body, p.Published, p.CreatedAt, p.UpdatedAt, p.DeletedAt, p.Version).Scan(&p.ID)
			},
			func(ctx context.Context, r *rand.Rand) error {
				p := post{AuthorID: r.Int64N(authors) + 1, Title: "new post", Body: "body"}
				return repo.Create(ctx, &p)
			}},
		{"List(20)",
			func(ctx context.Context, r *rand.Rand) error {
				items := make([]post, 0, 21)
				if err := db.SelectContext(ctx, &items, listSQL, r.Int64N(authors)+1, 21); err != nil {
					return err
				}
				if len(items) < 20 {
					return errors.New("short page")
				}
				return nil
			},
			func(ctx context.Context, r *rand.Rand) error {
				p, err := repo.List(ctx, crud.Query{
					Filters: []crud.Filter{{Field: "author_id", Op: crud.Eq, Value: r.Int64N(authors) + 1}},
					Sort:    []crud.Sort{{Field: "id", Desc: true}},
					Limit:   20,
				})
				if err == nil && len(p.Items) < 20 {
					return errors.New("short page")
				}
				return err
			}},
	}
	for _, op := range ops {
		if *only != "" && *only != op.name {
			continue
		}
		ours := op.ours
		if *aa {
			ours = op.peer
		}
		if err := compare(ctx, op.name, op.peer, ours); err != nil {
			return fmt.Errorf("%s: %w", op.name, err)
		}
	}
	if *only != "" && *only != "CreateMany" {
		return nil
	}
	return createMany(ctx, repo)
}

type sample struct {
	rate   float64 // ops per second
	allocs float64 // per op, whole process
	bytes  float64 // per op, whole process
}

// measure runs fn on the workers for one slice.
func measure(ctx context.Context, fn func(context.Context, *rand.Rand) error) (sample, error) {
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	rs := make([]*rand.Rand, *workers)
	for w := range rs {
		rs[w] = rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	}
	rate, n, err := harness.Throughput(*workers, *slice, func(w, _ int) error { return fn(ctx, rs[w]) })
	runtime.ReadMemStats(&ms1)
	k := float64(n)
	return sample{rate: rate, allocs: float64(ms1.Mallocs-ms0.Mallocs) / k, bytes: float64(ms1.TotalAlloc-ms0.TotalAlloc) / k}, err
}

// compare interleaves peer (A) and ours (B) in quads A B B A, then
// B A A B, ...: the ratio of each quad's sums cancels a linear drift of the
// machine's speed. It prints the medians and the median ratio.
func compare(ctx context.Context, name string, peer, ours func(context.Context, *rand.Rand) error) error {
	if _, err := measure(ctx, peer); err != nil { // warm-up
		return err
	}
	if _, err := measure(ctx, ours); err != nil {
		return err
	}
	var ratios, pr, or, pa, oa, pb, ob []float64
	for i := range *quads {
		order := []bool{false, true, true, false} // true: ours
		if i%2 == 1 {
			order = []bool{true, false, false, true}
		}
		var sumP, sumO float64
		for _, isOurs := range order {
			fn := peer
			if isOurs {
				fn = ours
			}
			smp, err := measure(ctx, fn)
			if err != nil {
				return err
			}
			if isOurs {
				sumO += smp.rate
				or, oa, ob = append(or, smp.rate), append(oa, smp.allocs), append(ob, smp.bytes)
			} else {
				sumP += smp.rate
				pr, pa, pb = append(pr, smp.rate), append(pa, smp.allocs), append(pb, smp.bytes)
			}
		}
		ratios = append(ratios, sumO/sumP)
	}
	fmt.Printf("%-10s %12.0f %12.0f %7.2fx %7.0f/%-6.0f %7.0f/%-6.0f\n", name, harness.Median(pr), harness.Median(or), harness.Median(ratios),
		harness.Median(pa), harness.Median(pb), harness.Median(oa), harness.Median(ob))
	return nil
}

// createMany times one CreateMany of 1,000 rows against 1,000 Creates from
// one goroutine, interleaved.
func createMany(ctx context.Context, repo *crud.Repository[post]) error {
	var ratios, singles, batches []float64
	batch := make([]post, 1000)
	for range 3 {
		t0 := time.Now()
		for i := range 1000 {
			p := post{AuthorID: int64(i%authors + 1), Title: "single", Body: "body"}
			if err := repo.Create(ctx, &p); err != nil {
				return err
			}
		}
		single := time.Since(t0)
		for i := range batch {
			batch[i] = post{AuthorID: int64(i%authors + 1), Title: "batch", Body: "body"}
		}
		t0 = time.Now()
		if err := repo.CreateMany(ctx, batch); err != nil {
			return err
		}
		many := time.Since(t0)
		singles, batches = append(singles, single.Seconds()*1000), append(batches, many.Seconds()*1000)
		ratios = append(ratios, single.Seconds()/many.Seconds())
	}
	fmt.Printf("CreateMany(1000) %.1f ms vs 1000×Create %.1f ms: %.1fx faster (median of 3)\n",
		harness.Median(batches), harness.Median(singles), harness.Median(ratios))
	return nil
}
