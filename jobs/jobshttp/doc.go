// Package jobshttp holds the HTTP surfaces of package jobs, so that the jobs
// core imports neither echo nor net/http (as asynq and river keep their web
// layers out of their cores).
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
package jobshttp
