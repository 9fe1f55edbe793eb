package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // SQLite driver "sqlite"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/examples/app/internal/imageops"
	"github.com/gantry-dev/gantry/examples/app/internal/mail"
	"github.com/gantry-dev/gantry/examples/app/internal/storage"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsmetrics"
	"github.com/gantry-dev/gantry/jobs/jobsotel"
	"github.com/gantry-dev/gantry/jobs/outbox"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/report/sentryreport"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/tracing"
	"github.com/gantry-dev/gantry/tracing/otlp"
)

//go:embed migrations
var migrations embed.FS

// app holds the service's dependencies. Each role (serve, worker,
// scheduler, migrate) builds one with newApp; what it opened closes through
// lifespan hooks when the role returns. Nothing is global.
type app struct {
	drained  <-chan struct{} // closed when the server starts to drain (routes.go)
	cfg      *settings
	log      *slog.Logger
	db       *sqlx.DB
	dialect  crud.Dialect
	rdb      redis.UniversalClient // nil on the embedded defaults
	registry *prometheus.Registry
	tracer   trace.TracerProvider // nil unless TRACING_ENABLED

	users crud.Store[User]
	posts crud.Store[Post]
	files crud.Store[File]

	hasher     *auth.Hasher
	tokens     *auth.Tokens
	logins     *auth.LoginLimiter
	limits     middleware.Store // rate-limit counters
	backend    jobs.Backend
	jobMetrics *jobsmetrics.Metrics
	jobs       jobs.Enqueuer
	flows      jobs.WorkflowEnqueuer // starts the tasks that are workflows (bulk e-mail, image processing)
	client     *jobs.Client
	inspect    *jobs.Inspector
	storage    *storage.Dir
	upload     openapi.UploadPolicy // MAX_FILE_SIZE and ALLOWED_EXTENSIONS, checked on every upload
	mailer     mail.Sender
	images     *imageops.Processor
	zone       *time.Location
	reporter   *sentryreport.Reporter // SENTRY_DSN's; nil when unset

	adminMu sync.Mutex // serializes guardSuperusers when there is no database (fakes)

	// hooks close what newApp opened (the database, Redis), one lifespan
	// hook per resource in the order they were opened. serve registers them
	// on the server, which runs their Stop in reverse after the drain; the
	// other roles run them through lifespan.
	hooks []server.Hook
	// closers collects the close functions of the resource being opened;
	// open turns them into its hook.
	closers []func() error
}

// newApp opens the database (SQLite under DATA_DIR unless DATABASE_URL is
// set), Redis (when REDIS_URL is set) and everything built on them.
func newApp(ctx context.Context, cfg *settings, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	if err := a.open(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) open(ctx context.Context) (err error) {
	cfg := a.cfg
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.zone, err = time.LoadLocation(cfg.Timezone); err != nil {
		return fmt.Errorf("TIMEZONE: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	for _, step := range []struct {
		name string
		open func() error
	}{
		{"reporter", a.openReporter},
		{"tracing", func() error { return a.openTracing(ctx) }},
		{"database", func() error { return a.openDB(ctx) }},
		{"redis", func() error { return a.openRedis(ctx) }},
		{"repositories", a.openRepositories},
		{"auth", a.openAuth},
		{"jobs", a.openJobs},
		{"files", a.openFiles},
		{"mail", a.openMail},
	} {
		err := step.open()
		for _, c := range a.closers {
			a.hooks = append(a.hooks, a.closeHook(step.name, c))
		}
		a.closers = nil
		if err != nil {
			return err
		}
	}
	return nil
}

// closeHook is the lifespan hook of a resource newApp opened: its Stop
// closes it and logs that it did.
func (a *app) closeHook(name string, close func() error) server.Hook {
	return server.Hook{Name: name, Stop: func(ctx context.Context) error {
		err := close()
		a.log.LogAttrs(ctx, slog.LevelInfo, "closed", slog.String("hook", name), slog.Any("error", err))
		return err
	}}
}

// openTracing builds the tracer provider when TRACING_ENABLED is set
// (exporter, sampler and service name from the OTEL_* variables); its
// hook, the first opened, shuts it down last, flushing the spans of the
// drain.
func (a *app) openTracing(ctx context.Context) error {
	pc, on := a.cfg.TracingConfig()
	if !on {
		return nil
	}
	tp, err := otlp.NewProvider(ctx, pc)
	if err != nil {
		return err
	}
	a.tracer = tp
	a.closers = append(a.closers, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tp.Shutdown(sctx)
	})
	return nil
}

// jobTracing is the jobs' tracing: the enqueue's trace context in the
// job's headers, a span per attempt linked to it.
func (a *app) jobTracing() jobsotel.Config {
	return jobsotel.Config{TracerProvider: a.tracer}
}

// openDB opens the pool from the settings (config.Settings.DatabaseConfig:
// pool size and overflow, DATABASE_POOL_TIMEOUT as the wait for a free
// connection, a ping, DEBUG's statement log) with crud.Open.
func (a *app) openDB(ctx context.Context) error {
	cfg := a.cfg
	dbc := cfg.DatabaseConfig()
	dbc.URL = databaseURL(cfg.DatabaseURL, cfg.DataDir)
	dbc.Logger = a.log
	if a.tracer != nil {
		d, _, _ := crud.DataSource(dbc.URL)
		dbc.Driver = tracing.SQLDriver(a.tracer, string(d))
	}
	db, err := crud.Open(ctx, dbc)
	if err != nil {
		return fmt.Errorf("database %s: %w", config.Redacted(dbc.URL), err)
	}
	a.closers = append(a.closers, db.Close)
	a.db = db
	// go_sql_{open,in_use,idle}_connections, go_sql_wait_{count,duration_seconds}_total, ...
	a.registry.MustRegister(collectors.NewDBStatsCollector(db.DB, "main"))
	a.dialect, err = crud.DialectOf(db.DriverName())
	return err
}

// databaseURL is DATABASE_URL, or when it is empty the embedded default:
// SQLite in app.db under dataDir. crud.Open takes the sqlite:, sqlite3:
// and file: schemes config accepts (sqlite:///abs/path.db,
// sqlite://rel.db, file:path.db) and PostgreSQL URLs.
func databaseURL(url, dataDir string) string {
	if url == "" {
		return "sqlite://" + filepath.Join(dataDir, "app.db")
	}
	return url
}

// openRedis opens REDIS_URL (one server, Sentinel or Cluster; see
// config.ParseRedisURL) when it is set.
func (a *app) openRedis(ctx context.Context) error {
	if a.cfg.RedisURL == "" {
		return nil
	}
	rdb, err := config.OpenRedis(ctx, &a.cfg.Settings, config.TraceRedis(a.tracer))
	if err != nil {
		return err
	}
	a.closers = append(a.closers, rdb.Close)
	a.rdb = rdb
	a.registry.MustRegister(config.NewRedisPoolCollector(rdb, "main")) // gantry_redis_pool_*
	return nil
}

func (a *app) openRepositories() error {
	key := []byte(a.cfg.SecretKey) // signs list cursors
	users, err := crud.NewRepository[User](a.db, crud.Config{Table: "users", CursorKey: key, VersionColumn: "-"})
	if err != nil {
		return err
	}
	posts, err := crud.NewRepository[Post](a.db, crud.Config{Table: "posts", CursorKey: key})
	if err != nil {
		return err
	}
	files, err := crud.NewRepository[File](a.db, crud.Config{Table: "files", UpdatedAtColumn: "-", DeletedAtColumn: "-", VersionColumn: "-", CursorKey: key})
	if err != nil {
		return err
	}
	a.users, a.posts, a.files = users, posts, files
	return nil
}

func (a *app) openAuth() error {
	var err error
	if a.hasher, err = auth.NewHasher(auth.HasherConfig{BcryptCost: a.cfg.PasswordHashCost}); err != nil {
		return err
	}
	var store auth.Store = auth.NewMemoryStore()
	if a.rdb != nil {
		if store, err = auth.NewRedisStore(auth.RedisStoreConfig{Client: a.rdb, Prefix: a.cfg.RedisKeyPrefix + "auth:"}); err != nil {
			return err
		}
	}
	a.tokens, err = auth.NewTokens(auth.TokensConfig{
		SecretKey:  a.cfg.SecretKey,
		Issuer:     a.cfg.ProjectName,
		Audience:   a.cfg.ProjectName,
		AccessTTL:  a.cfg.AccessTokenTTL(),
		RefreshTTL: a.cfg.RefreshTokenTTL(),
		Store:      store,
		Users:      auth.UserLoaderFunc(a.loadUser),
	})
	if err != nil {
		return err
	}
	if a.logins, err = auth.NewLoginLimiter(auth.LoginLimiterConfig{Redis: a.rdb, Prefix: a.cfg.RedisKeyPrefix + "auth:"}); err != nil {
		return err
	}
	if a.rdb != nil {
		a.limits, err = middleware.NewRedisStore(middleware.RedisStoreConfig{Client: a.rdb, Prefix: a.cfg.RedisKeyPrefix + "rl:"})
		return err
	}
	a.limits = middleware.NewMemoryStore(middleware.MemoryStoreConfig{})
	return nil
}

// idempotencyStore returns where Idempotency-Key records live: in Redis
// when it is configured (every instance sees every key, so a retry landing
// on another instance is still answered once), else in memory.
func (a *app) idempotencyStore() (middleware.IdempotencyStore, error) {
	if a.rdb != nil {
		return middleware.NewRedisIdempotencyStore(middleware.RedisIdempotencyStoreConfig{Client: a.rdb, Prefix: a.cfg.RedisKeyPrefix + "idem:"})
	}
	return middleware.NewMemoryIdempotencyStore(middleware.MemoryIdempotencyStoreConfig{}), nil
}

func (a *app) openJobs() error {
	var err error
	if a.rdb != nil {
		if a.backend, err = jobs.NewRedisBackend(a.rdb, jobs.RedisConfig{Prefix: a.cfg.RedisKeyPrefix + "jobs:"}); err != nil {
			return err
		}
	} else {
		a.backend = jobs.NewMemoryBackend()
	}
	if a.jobMetrics, err = jobsmetrics.New(jobsmetrics.Config{Registerer: a.registry, Backend: a.backend, Queues: queueNames}); err != nil {
		return err
	}
	ccfg := jobs.ClientConfig{Routes: routes, Metrics: a.jobMetrics}
	if a.tracer != nil {
		ccfg.Headers = a.jobTracing().Headers() // the enqueuer's trace context travels with the job
	}
	if a.client, err = jobs.NewClient(a.backend, ccfg); err != nil {
		return err
	}
	a.jobs, a.flows = a.client, a.client
	a.inspect = jobs.NewInspector(a.backend)
	return nil
}

func (a *app) openFiles() error {
	var err error
	if a.storage, err = storage.NewDir(storage.DirConfig{Dir: filepath.Join(a.cfg.DataDir, "files"), MaxSize: a.cfg.MaxFileSize}); err != nil {
		return err
	}
	a.upload = openapi.UploadPolicy{MaxSize: a.cfg.MaxFileSize, Extensions: a.cfg.AllowedExtensions}
	if err := a.upload.CheckConfig(); err != nil {
		return err
	}
	a.images, err = imageops.New(imageops.Config{})
	return err
}

// openMail builds the mail sender: SMTP when SMTP_HOST is set, else the
// development outbox under DATA_DIR. Neither holds a connection between
// sends, so mail has no stop hook.
func (a *app) openMail() (err error) {
	from := a.cfg.SMTPFrom
	if from == "" {
		from = "no-reply@example.com"
	}
	if a.cfg.SMTPHost != "" {
		a.mailer, err = mail.NewSMTP(mail.SMTPConfig{
			Host: a.cfg.SMTPHost, Port: a.cfg.SMTPPort, Username: a.cfg.SMTPUser,
			Password: a.cfg.SMTPPassword, From: from, Logger: a.log,
		})
		return err
	}
	a.mailer, err = mail.NewOutbox(mail.OutboxConfig{Dir: filepath.Join(a.cfg.DataDir, "outbox"), From: from, Logger: a.log})
	return err
}

// migrate applies the embedded migrations of the database's dialect.
func (a *app) migrate(ctx context.Context) error {
	applied, err := crud.Migrate(ctx, a.db.DB, a.dialect, a.migrations(), ".")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// The outbox's table, from its package's own set and version table.
	fsys, dir, err := outbox.Migrations(string(a.dialect))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	ob, err := crud.Migrate(ctx, a.db.DB, a.dialect, fsys, dir, crud.VersionTable(outbox.VersionTable))
	if err != nil {
		return fmt.Errorf("migrate the outbox: %w", err)
	}
	applied = append(applied, ob...)
	if len(applied) > 0 {
		a.log.Info("migrations applied", "versions", applied)
	}
	return nil
}

func (a *app) migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations/"+a.dialectDir())
	return sub
}

func (a *app) dialectDir() string {
	if a.dialect == crud.Postgres {
		return "postgres"
	}
	return "sqlite"
}

// bootstrap creates FIRST_SUPERUSER when it is set and does not exist yet.
func (a *app) bootstrap(ctx context.Context) error {
	name := strings.ToLower(strings.TrimSpace(a.cfg.FirstSuperuser))
	if name == "" {
		return nil
	}
	if _, err := a.userByName(ctx, name); err == nil {
		return nil
	} else if !errors.Is(err, crud.ErrNotFound) {
		return err
	}
	if a.cfg.FirstSuperuserPassword == "" {
		return errors.New("FIRST_SUPERUSER is set but FIRST_SUPERUSER_PASSWORD is not")
	}
	hash, err := a.hasher.Hash(a.cfg.FirstSuperuserPassword)
	if err != nil {
		return err
	}
	u := User{Username: name, Email: strings.ToLower(a.cfg.FirstSuperuserEmail), HashedPassword: hash,
		FullName: "Administrator", Role: RoleAdmin, Active: true, Superuser: true}
	if err := a.users.Create(ctx, &u); err != nil && !errors.Is(err, crud.ErrConflict) {
		return fmt.Errorf("first superuser: %w", err)
	}
	a.log.Info("first superuser created", "username", name)
	return nil
}

// Close runs the stop hooks of what newApp opened, in reverse. It is for
// an app whose hooks were not handed to a server.
func (a *app) Close() error {
	var errs []error
	for i := len(a.hooks) - 1; i >= 0; i-- {
		if stop := a.hooks[i].Stop; stop != nil {
			errs = append(errs, stop(context.Background()))
		}
	}
	a.hooks = nil
	return errors.Join(errs...)
}

// queueWeights parses WORKER_QUEUES ("default=3,email=3,image=2").
func queueWeights(spec string) (map[string]jobs.QueueConfig, error) {
	out := map[string]jobs.QueueConfig{}
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, found := strings.Cut(part, "=")
		weight := 1
		if found {
			n, err := strconv.Atoi(w)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("WORKER_QUEUES: weight of %q must be a positive integer", name)
			}
			weight = n
		}
		out[strings.TrimSpace(name)] = jobs.QueueConfig{Priority: weight}
	}
	if len(out) == 0 {
		return nil, errors.New("WORKER_QUEUES names no queue")
	}
	return out, nil
}
