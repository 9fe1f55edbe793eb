package main

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/openapi"
)

// routesAdmin mounts the admin area on e: the sign-in page (its POST under
// limited, the per-address limit of the API's login), the sign-out, and
// the jobs dashboard at /admin/jobs behind the guard (adminGate.guard) and
// perClient, the API's per-user rate limit. It returns the dashboard's
// API, whose document lists the JSON routes under /admin/jobs/api.
func (a *app) routesAdmin(e *echo.Echo, info openapi.Config, sessions *middleware.Sessions, bearer, limited, perClient echo.MiddlewareFunc) (*openapi.API, error) {
	gate := a.newAdminGate(sessions, bearer)
	gate.mount(e, limited)

	info.Title += " jobs"
	info.Description = "The jobs dashboard's API, for its pages and for scripts. A person signs in at " + adminLogin +
		" (the session cookie; every action also sends the page's " + csrfHeader + " header); a script sends a bearer token of an admin."
	info.Errors = append(slices.Clone(info.Errors), http.StatusUnauthorized, http.StatusForbidden)
	api, err := openapi.New(e, adminJobs, info)
	if err != nil {
		return nil, err
	}
	// Installed before the routes: echo copies a group's middleware into
	// each route as it is added.
	api.Echo().Use(gate.guard, perClient)
	// The document names the bearer token only: package openapi writes
	// one security requirement per operation, so it cannot say "the
	// session or a bearer token"; the description says it.
	a.mountDashboard(api, gate, openapi.Security("bearer"))
	return api, nil
}

// mountDashboard serves the jobs dashboard on api (/admin/jobs, guarded);
// opts document how the API routes are guarded.
//
// It stands in for jobshttp's dashboard until that lands: an overview of
// the queues and their sizes, and pause and resume on the JSON API.
func (a *app) mountDashboard(api *openapi.API, gate *adminGate, opts ...openapi.Option) {
	g := api.Echo()
	overview := func(c echo.Context) error {
		list, err := a.queueList(c.Request().Context())
		if err != nil {
			return err
		}
		var b strings.Builder
		if err := placeholderPage.Execute(&b, map[string]any{"Queues": list.Queues, "CSRF": gate.csrfFor(c), "Actor": adminActor(c)}); err != nil {
			return err
		}
		c.Response().Header().Set("Content-Security-Policy", adminPageCSP)
		return c.HTML(http.StatusOK, b.String())
	}
	g.GET("/", overview)
	g.GET("", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, adminJobs+"/") })

	v := api.Group("/api", append([]openapi.Option{openapi.Tags("jobs")}, opts...)...)
	openapi.Get(v, "/queues", func(ctx context.Context, _ *openapi.Empty) (*placeholderQueues, error) { return a.queueList(ctx) },
		openapi.Summary("Every queue with its counts by state"))
	type queueIn struct {
		Queue string `path:"queue" validate:"required,max=200"`
	}
	action := func(name string, do func(context.Context, string) error) openapi.Handler[queueIn, placeholderAction] {
		return func(ctx context.Context, in *queueIn) (*placeholderAction, error) {
			if err := do(ctx, in.Queue); err != nil {
				return nil, err
			}
			a.log.LogAttrs(ctx, slog.LevelInfo, "jobs dashboard action", slog.String("action", name), slog.String("target", in.Queue),
				slog.String("actor", adminActor(openapi.EchoContext(ctx))))
			return &placeholderAction{Action: name, Target: in.Queue, Affected: 1}, nil
		}
	}
	openapi.Post(v, "/queues/{queue}/pause", action("pause", a.inspect.Pause), openapi.Summary("Pause a queue"))
	openapi.Post(v, "/queues/{queue}/resume", action("resume", a.inspect.Resume), openapi.Summary("Resume a queue"))
}

type placeholderQueues struct {
	Queues []jobs.QueueSizes `json:"queues"`
}

type placeholderAction struct {
	Action   string `json:"action"`
	Target   string `json:"target"`
	Affected int    `json:"affected"`
}

func (a *app) queueList(ctx context.Context) (*placeholderQueues, error) {
	out := &placeholderQueues{Queues: []jobs.QueueSizes{}}
	for _, q := range queueNames {
		s, err := a.inspect.Sizes(ctx, q)
		if err != nil {
			return nil, err
		}
		s.Queue = q
		out.Queues = append(out.Queues, s)
	}
	return out, nil
}

var placeholderPage = template.Must(template.New("jobs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="csrf-token" content="{{.CSRF}}"><title>Jobs</title></head>
<body>
<h1>Jobs</h1>
<p>Signed in as {{.Actor}}</p>
<table data-testid="queues-table"><tr><th>Queue</th><th>Pending</th><th>Dead</th></tr>
{{range .Queues}}<tr data-testid="queue-row" data-queue="{{.Queue}}"><td>{{.Queue}}</td><td>{{.Pending}}</td><td>{{.Dead}}</td></tr>{{end}}
</table>
</body></html>
`))
