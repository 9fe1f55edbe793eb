package jobshttp

import (
	"errors"
	"net/http"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/labstack/echo/v4"
)

// StatusConfig configures the job status handler (the seed's
// GET /task-status/{task_id}).
type StatusConfig struct {
	// Inspector reads the job (required).
	Inspector *jobs.Inspector
	// Param is the path parameter holding the job id. Default "id".
	Param string
	// Owner returns the caller's identity, compared with the job's
	// [jobs.Owner] option; on a mismatch the handler answers 404 as if the
	// job did not exist. Nil disables the check (any caller may read any
	// job). An error it returns is passed on unchanged (e.g. a 401).
	Owner func(c echo.Context) (string, error)
}

// ToHandler returns the echo handler. It answers 200 with the job's
// [jobs.JobInfo] as JSON. For unknown, expired or foreign jobs it returns an
// *echo.HTTPError 404 wrapping [jobs.ErrNotFound], so both Gantry's server
// (which renders the error envelope from ErrNotFound's HTTPStatus) and a
// bare echo answer 404.
func (cfg StatusConfig) ToHandler() (echo.HandlerFunc, error) {
	if cfg.Inspector == nil {
		return nil, errors.New("jobshttp: invalid status config: nil Inspector")
	}
	if cfg.Param == "" {
		cfg.Param = "id"
	}
	return func(c echo.Context) error {
		info, err := cfg.Inspector.Job(c.Request().Context(), c.Param(cfg.Param))
		if errors.Is(err, jobs.ErrNotFound) {
			return notFound(err)
		}
		if err != nil {
			return err
		}
		if cfg.Owner != nil {
			who, err := cfg.Owner(c)
			if err != nil {
				return err
			}
			if who == "" || who != info.Owner {
				return notFound(jobs.ErrNotFound)
			}
		}
		return c.JSON(http.StatusOK, info)
	}, nil
}

func notFound(err error) error {
	return &echo.HTTPError{Code: http.StatusNotFound, Message: "job not found", Internal: err}
}
