// Package health serves liveness and readiness probes backed by named
// dependency checks.
//
// # Checks
//
// A [Registry] holds named [Checker]s. Each has its own timeout ([Timeout],
// default [Config.DefaultTimeout], 2s) and is critical unless registered
// with Critical(false). [SQL] checks a *sql.DB or *sqlx.DB, [Redis] any
// redis.UniversalClient, and [CheckerFunc] turns a function into a check:
//
//	reg := health.New(health.Config{Production: settings.Environment == "production"})
//	reg.Register("postgres", health.SQL(db))
//	reg.Register("redis", health.Redis(rdb), health.Timeout(500*time.Millisecond))
//	reg.Register("mailer", health.CheckerFunc(pingSMTP), health.Critical(false))
//	reg.Mount(e) // GET /health, /health/ready, /health/detailed
//
// # Running and caching
//
// [Registry.Check] runs every check concurrently. A check runs in its own
// goroutine and the registry stops waiting for it when its timeout passes,
// so a check that ignores its context cannot hold a probe; at most one call
// of each check is in flight, so a hung dependency does not pile up
// goroutines. The report is cached for [Config.CacheTTL] (1s by default) and
// concurrent probes during a refresh share one run, so a probe storm costs
// each dependency at most one check per TTL.
//
// # Endpoints
//
// [Registry.Mount] adds three echo routes; [Registry.Liveness],
// [Registry.Readiness] and [Registry.Detailed] return the handlers for
// other paths. All answer JSON with Cache-Control: no-store.
//
//   - GET /health (liveness): always 200 {"status":"healthy","timestamp":…};
//     it runs no check, so a database outage never gets a pod restarted.
//   - GET /health/ready (readiness): 200 while every critical check passes,
//     503 when one fails, and 503 {"status":"draining"} without running
//     checks after [Registry.SetDraining](true), which the server calls when
//     a graceful shutdown starts.
//   - GET /health/detailed: every check's status, latency in milliseconds,
//     critical flag and error text; "degraded" (200) when only non-critical
//     checks fail, "unhealthy" (503) when a critical one does.
//
// Readiness and detailed answer with the [Report] even on 503, not the
// server's error envelope: probes read only the status code, and whoever
// reads the body wants the per-check results. With [Config.Production] set
// the error texts are left out of responses; failures and recoveries are
// logged (with the text) through [Config.Logger].
//
// # What is reused
//
// Routing and JSON come from echo v4; concurrent probes are collapsed with
// golang.org/x/sync/singleflight; the built-in checks use database/sql's
// PingContext and go-redis's PING. The rest (timeouts that do not trust the
// check, the cache, the status rules) is a few hundred lines and written
// here; it keeps no global registry and runs checks only when probed, never
// on a background schedule.
package health
