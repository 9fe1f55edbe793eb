package config

import (
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/gantry-dev/gantry/tracing"
)

// IsProduction reports whether ENVIRONMENT is production.
func (s Settings) IsProduction() bool { return s.Environment == EnvProduction }

// IsDevelopment reports whether ENVIRONMENT is development.
func (s Settings) IsDevelopment() bool { return s.Environment == EnvDevelopment }

// DocsOn reports whether API docs are served: DOCS_ENABLED when set, else on
// everywhere but production (the seed's behaviour).
func (s Settings) DocsOn() bool {
	if s.DocsEnabled != nil {
		return *s.DocsEnabled
	}
	return !s.IsProduction()
}

// AccessTokenTTL is the access token lifetime (ACCESS_TOKEN_EXPIRE_MINUTES).
func (s Settings) AccessTokenTTL() time.Duration {
	return time.Duration(s.AccessTokenExpireMinutes) * time.Minute
}

// RefreshTokenTTL is the refresh token lifetime (REFRESH_TOKEN_EXPIRE_DAYS).
func (s Settings) RefreshTokenTTL() time.Duration {
	return time.Duration(s.RefreshTokenExpireDays) * 24 * time.Hour
}

// SlogLevel is LOG_LEVEL as a slog.Level; an unknown or empty level is Info.
func (s Settings) SlogLevel() slog.Level {
	switch s.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// NewLogger returns a logger writing to w at LOG_LEVEL, as JSON or text per
// LOG_FORMAT ([Load] makes an empty LOG_FORMAT text in development and JSON
// elsewhere; anything but text is JSON here). Build every logger of the
// process with it, and give [Load] the same w ([WithLogOutput]), so every
// line has one format. main calls it and decides whether to make it the
// default; this package never calls slog.SetDefault.
//
// With TRACING_ENABLED every record logged with a context that carries a
// span (the request's, a job's) gets trace_id and span_id
// ([tracing.LogHandler]); without it the handler is slog's own.
func (s Settings) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: s.SlogLevel()}
	var h slog.Handler
	if s.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	if s.TracingEnabled {
		h = tracing.LogHandler(h)
	}
	return slog.New(h)
}

// TrustedProxyNets returns TRUSTED_PROXIES parsed, in the form echo's
// TrustIPRange takes. Entries that do not parse are skipped (Load refuses
// them).
func (s Settings) TrustedProxyNets() []*net.IPNet {
	out := make([]*net.IPNet, 0, len(s.TrustedProxies))
	for _, p := range s.TrustedProxies {
		if _, n, err := net.ParseCIDR(p); err == nil {
			out = append(out, n)
		} else if ip := net.ParseIP(p); ip != nil {
			bits := 8 * len(ip.To16())
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
		}
	}
	return out
}
