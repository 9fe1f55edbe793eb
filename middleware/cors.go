package middleware

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// CORSConfig configures CORS through echo's own CORS middleware, with safe
// defaults and validation echo does not do: there is no default origin
// (never "*"), and "*" together with AllowCredentials is refused at
// construction. A credentialed request from an origin not listed gets no
// Access-Control-Allow-Origin, so the browser blocks it.
type CORSConfig struct {
	// Skipper skips CORS handling; default none.
	Skipper middleware.Skipper
	// AllowOrigins lists origins ("https://app.example.com"), wildcard
	// subdomain patterns ("https://*.example.com") or "*" alone. Required.
	AllowOrigins []string
	// AllowCredentials sends Access-Control-Allow-Credentials: true.
	AllowCredentials bool
	// AllowMethods default GET, HEAD, PUT, PATCH, POST, DELETE.
	AllowMethods []string
	// AllowHeaders default Accept, Authorization, Content-Type, X-Request-ID.
	AllowHeaders []string
	// ExposeHeaders default X-Request-ID, RateLimit-Limit,
	// RateLimit-Remaining, RateLimit-Reset, Retry-After.
	ExposeHeaders []string
	// MaxAge of preflight results in seconds; default 600; negative sends none.
	MaxAge int
}

// ToMiddleware validates the configuration and returns echo's CORS
// middleware configured with it; errors wrap [ErrInvalidConfig].
func (cfg CORSConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	ec, err := cfg.echoConfig()
	if err != nil {
		return nil, err
	}
	return middleware.CORSWithConfig(ec), nil
}

func (cfg CORSConfig) echoConfig() (middleware.CORSConfig, error) {
	if len(cfg.AllowOrigins) == 0 {
		return middleware.CORSConfig{}, fmt.Errorf("%w: CORS needs AllowOrigins (there is no default)", ErrInvalidConfig)
	}
	for _, o := range cfg.AllowOrigins {
		if o == "*" {
			if cfg.AllowCredentials {
				return middleware.CORSConfig{}, fmt.Errorf("%w: CORS origin \"*\" cannot be combined with AllowCredentials", ErrInvalidConfig)
			}
			if len(cfg.AllowOrigins) > 1 {
				return middleware.CORSConfig{}, fmt.Errorf("%w: CORS origin \"*\" must be the only origin", ErrInvalidConfig)
			}
			continue
		}
		u, err := url.Parse(strings.Replace(o, "*.", "wildcard.", 1))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return middleware.CORSConfig{}, fmt.Errorf("%w: CORS origin %q is not scheme://host[:port]", ErrInvalidConfig, o)
		}
		if strings.Count(o, "*") > 1 || (strings.Contains(o, "*") && !strings.Contains(o, "://*.")) {
			return middleware.CORSConfig{}, fmt.Errorf("%w: CORS origin %q: only a leading \"*.\" subdomain wildcard is supported", ErrInvalidConfig, o)
		}
	}
	origins := make([]string, len(cfg.AllowOrigins))
	for i, o := range cfg.AllowOrigins {
		origins[i] = strings.TrimSuffix(o, "/")
	}
	ec := middleware.CORSConfig{
		Skipper:          cfg.Skipper,
		AllowOrigins:     origins,
		AllowCredentials: cfg.AllowCredentials,
		AllowMethods:     cfg.AllowMethods,
		AllowHeaders:     cfg.AllowHeaders,
		ExposeHeaders:    cfg.ExposeHeaders,
		MaxAge:           cfg.MaxAge,
	}
	if ec.AllowHeaders == nil {
		ec.AllowHeaders = []string{echo.HeaderAccept, echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID}
	}
	if ec.ExposeHeaders == nil {
		ec.ExposeHeaders = []string{echo.HeaderXRequestID, "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", echo.HeaderRetryAfter}
	}
	switch {
	case ec.MaxAge == 0:
		ec.MaxAge = 600
	case ec.MaxAge < 0:
		ec.MaxAge = 0
	}
	return ec, nil
}
