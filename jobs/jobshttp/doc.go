// Package jobshttp holds the HTTP surfaces of package jobs, so that the jobs
// core imports neither echo nor net/http (as asynq and river keep their web
// layers out of their cores).
//
// # Job status
//
// [StatusConfig] builds the echo handler for GET /tasks/{id}: it answers the
// job's [jobs.JobInfo] as JSON, and 404 (wrapping [jobs.ErrNotFound]) for
// unknown, expired or, with an Owner hook, other users' jobs:
//
//	status, err := jobshttp.StatusConfig{
//		Inspector: jobs.NewInspector(backend),
//		Owner:     func(c echo.Context) (string, error) { return userID(c) },
//	}.ToHandler()
//	api.GET("/tasks/:id", status)
//
// # Job events
//
// [EventsConfig] builds the echo handler for GET /tasks/{id}/events: the
// job's state changes and progress reports as server-sent events
// ([jobs.Inspector.Watch] written with server's [server.SSE]), under the
// same ownership rule as the status handler (404 before the stream starts).
// Each event is named "state" or "progress", its id is the event's
// position (what a reconnecting EventSource sends as Last-Event-ID, to get
// the rest without duplicates) and its data is [EventData] as JSON; the
// first is a snapshot of the job, the last its final state with the
// result or error, after which the stream ends and the client closes its
// EventSource. Keep-alive comments go out every EventsConfig.KeepAlive.
// The stream outlives the server's request deadline and write timeout
// (the SSE writer lifts them), passes the gzip middleware uncompressed,
// works across instances on Redis, and ends, its watch with it, within
// about a second of the client going away:
//
//	events, err := jobshttp.EventsConfig{
//		Inspector: jobs.NewInspector(backend),
//		Owner:     func(c echo.Context) (string, error) { return userID(c) },
//	}.ToHandler()
//	api.GET("/tasks/:id/events", events)
//
// On a typed openapi route, return an openapi.EventStream whose Serve is
// that handler, so the document lists the route as text/event-stream.
//
// # Dashboard
//
// [Dashboard] is the operators' web dashboard on a [jobs.Inspector]: an
// overview of every queue (counts by state, latency, paused, kinds, a live
// throughput chart), a queue's jobs by state with cursor pages, a job with
// each attempt's error, its arguments and result, a workflow with its
// steps drawn by level (a level of more than 50 steps summed up, the step
// list paged), the schedules and the workers online, and the actions:
// retry, delete, cancel, retry or delete every dead job of a queue, pause
// and resume, cancel a workflow. The pages are rendered on
// the server; their stylesheet and script are embedded, so nothing is
// fetched from another host. A JSON API under the same prefix serves the
// pages' script and any client, and is documented in the service's
// OpenAPI document:
//
//	admin, err := openapi.New(srv.Echo(), "/admin/jobs", openapi.Config{Title: "Jobs admin"})
//	admin.Echo().Use(requireSuperuser) // the service guards pages and API
//	dash, err := jobshttp.NewDashboard(jobshttp.DashboardConfig{
//		Inspector: jobs.NewInspector(backend),
//		Actor:     func(c echo.Context) string { return userName(c) },
//		CSRFToken: func(c echo.Context) string { return csrfToken(c) },
//		Redact:    jobs.RedactFields("password", "token"),
//		Account:   func(c echo.Context) (string, string) { return userEmail(c), "/logout" },
//	})
//	dash.Mount(admin, openapi.Security("session"))
//
// The dashboard authenticates nothing; every action is logged with who
// asked (DashboardConfig.Actor), and a read-only dashboard hides its
// actions and answers 403 to them. With DashboardConfig.Account, each
// page's header names the signed-in account and has a button that posts
// to the service's sign-out URL.
package jobshttp
