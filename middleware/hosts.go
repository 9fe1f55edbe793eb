package middleware

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// TrustedHostsConfig configures the trusted-hosts middleware: a request
// whose Host header is not allowed gets a 400 "invalid_host" error
// ([ErrInvalidHost]), which stops Host-header attacks (poisoned password
// reset links, cache poisoning) before any handler runs.
type TrustedHostsConfig struct {
	// Skipper skips the check; default none.
	Skipper middleware.Skipper
	// AllowedHosts lists exact names ("api.example.com") and wildcards
	// ("*.example.com" matches any subdomain, not example.com itself).
	// Matching ignores case, the port and a trailing dot. "*" allows every
	// host (development only; config refuses it in production). Required.
	AllowedHosts []string
}

// ToMiddleware returns the middleware, or an error wrapping [ErrInvalidConfig].
func (cfg TrustedHostsConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	th, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := th.check(c); err != nil {
				return err
			}
			return next(c)
		}
	}, nil
}

// trustedHosts is the compiled [TrustedHostsConfig], shared by
// ToMiddleware and the stack.
type trustedHosts struct {
	skip middleware.Skipper
	hc   *hostChecker // nil: every host ("*")
}

func (cfg TrustedHostsConfig) compile() (*trustedHosts, error) {
	hc, err := newHostChecker(cfg.AllowedHosts)
	if err != nil {
		return nil, err
	}
	return &trustedHosts{skip: cfg.Skipper, hc: hc}, nil
}

// check returns the invalid_host error when c's Host is not allowed.
func (th *trustedHosts) check(c echo.Context) error {
	if th.hc == nil || (th.skip != nil && th.skip(c)) || th.hc.allowed(c.Request().Host) {
		return nil
	}
	return errInvalidHost
}

// hostChecker is nil when every host is allowed.
type hostChecker struct {
	exact    []string
	suffixes []string // ".example.com"
}

func newHostChecker(hosts []string) (*hostChecker, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%w: trusted hosts need AllowedHosts (use [\"*\"] to allow all)", ErrInvalidConfig)
	}
	hc := &hostChecker{}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "*" {
			return nil, nil
		}
		h = strings.TrimSuffix(h, ".")
		switch {
		case h == "" || h == "*":
			return nil, fmt.Errorf("%w: empty allowed host", ErrInvalidConfig)
		case strings.HasPrefix(h, "*."):
			if strings.Contains(h[2:], "*") || len(h) < 3 {
				return nil, fmt.Errorf("%w: allowed host %q: only a leading \"*.\" wildcard is supported", ErrInvalidConfig, h)
			}
			hc.suffixes = append(hc.suffixes, h[1:])
		case strings.ContainsAny(h, "*/ "):
			return nil, fmt.Errorf("%w: allowed host %q is not a host name", ErrInvalidConfig, h)
		default:
			hc.exact = append(hc.exact, h)
		}
	}
	return hc, nil
}

// allowed reports whether host (a Host header, possibly with a port) is
// allowed. It does not allocate.
func (hc *hostChecker) allowed(host string) bool {
	host = stripPort(host)
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return false
	}
	for _, e := range hc.exact {
		if strings.EqualFold(host, e) {
			return true
		}
	}
	for _, s := range hc.suffixes {
		if len(host) > len(s) && strings.EqualFold(host[len(host)-len(s):], s) {
			return true
		}
	}
	return false
}

// stripPort removes a trailing ":port" and IPv6 brackets.
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			return host[1:i]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host, ':') == i {
		return host[:i]
	}
	return host
}
