package main

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/jobs/jobshttp"
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
	if err := a.mountDashboard(api, gate, openapi.Security("bearer")); err != nil {
		return nil, err
	}
	return api, nil
}

// mountDashboard serves jobshttp's dashboard on api (/admin/jobs,
// guarded): actions are logged with the signed-in superuser (or the
// admin of the bearer token), the pages carry the session's CSRF token,
// and the body of e-mails stays hidden. opts document how the API routes
// are guarded.
func (a *app) mountDashboard(api *openapi.API, gate *adminGate, opts ...openapi.Option) error {
	d, err := jobshttp.NewDashboard(jobshttp.DashboardConfig{
		Inspector: a.inspect,
		Actor:     adminActor,
		Logger:    a.log,
		Redact:    redactJobArgs,
		CSRFToken: gate.csrfFor,
		Account:   adminAccount,
		Title:     a.cfg.ProjectName + " jobs",
	})
	if err != nil {
		return err
	}
	d.Mount(api, opts...)
	return nil
}

// adminAccount names the signed-in superuser in the dashboard's header,
// by e-mail address (its username if it has none), with the sign-out button posting to /admin/logout.
// A bearer request (the JSON API only) has no session to end: "".
func adminAccount(c echo.Context) (label, signOutURL string) {
	if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
		return "", ""
	}
	p, ok := auth.PrincipalFrom(c)
	if !ok {
		return "", ""
	}
	u, ok := p.User.(User)
	if !ok {
		return "", ""
	}
	if u.Email == "" {
		return u.Username, adminLogout
	}
	return u.Email, adminLogout
}
