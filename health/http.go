package health

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Router is where [Registry.Mount] adds its routes. Both *echo.Echo and
// *echo.Group satisfy it.
type Router interface {
	GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

var (
	_ Router = (*echo.Echo)(nil)
	_ Router = (*echo.Group)(nil)
)

// The paths [Registry.Mount] serves, relative to the router it is given.
const (
	LivenessPath  = "/health"
	ReadinessPath = "/health/ready"
	DetailedPath  = "/health/detailed"
)

// Mount adds GET [LivenessPath], [ReadinessPath] and [DetailedPath] to rt,
// each wrapped in m. To serve them elsewhere, route [Registry.Liveness],
// [Registry.Readiness] and [Registry.Detailed] yourself.
func (r *Registry) Mount(rt Router, m ...echo.MiddlewareFunc) {
	rt.GET(LivenessPath, r.Liveness(), m...)
	rt.GET(ReadinessPath, r.Readiness(), m...)
	rt.GET(DetailedPath, r.Detailed(), m...)
}

// Liveness returns the liveness handler: always 200 with
// {"status":"healthy","timestamp":"<RFC 3339>"}. It never runs a check, so a
// failing dependency cannot get the process restarted.
func (r *Registry) Liveness() echo.HandlerFunc {
	return func(c echo.Context) error {
		return write(c, http.StatusOK, Report{Status: StatusHealthy, Timestamp: r.cfg.Now()})
	}
}

// Readiness returns the readiness handler: 200 when every critical check
// passes (a failing non-critical check keeps 200, status "degraded"), 503
// when a critical check fails, and 503 with status "draining" and no checks
// run while the registry is draining.
//
// The body is the [Report] in every case, including 503: it is not the
// server's error envelope, because probes (Kubernetes, load balancers) read
// only the status code and people reading the body want the checks.
func (r *Registry) Readiness() echo.HandlerFunc {
	return func(c echo.Context) error {
		if r.Draining() {
			return write(c, http.StatusServiceUnavailable,
				Report{Status: StatusDraining, Timestamp: r.cfg.Now(), Draining: true})
		}
		rep := r.Check(c.Request().Context())
		return write(c, statusCode(rep), rep)
	}
}

// Detailed returns the detailed handler: every check's status, latency,
// critical flag and (outside production) error text. Status "healthy" or
// "degraded" answer 200, "unhealthy" 503; like readiness, the body is the
// [Report]. Draining does not change it beyond "draining": true.
func (r *Registry) Detailed() echo.HandlerFunc {
	return func(c echo.Context) error {
		rep := r.Check(c.Request().Context())
		return write(c, statusCode(rep), rep)
	}
}

func statusCode(rep Report) int {
	if rep.Status == StatusUnhealthy || rep.Status == StatusDraining {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

func write(c echo.Context, code int, rep Report) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(code, rep)
}
