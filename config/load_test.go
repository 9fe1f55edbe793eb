package config_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/config"
)

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	got := mustLoad(t, nil)
	if len(got.SecretKey) < config.MinSecretKeyLen {
		t.Errorf("generated SecretKey has %d bytes; want >= %d", len(got.SecretKey), config.MinSecretKeyLen)
	}
	got.SecretKey = ""
	want := config.Settings{
		ProjectName: "Gantry App", Version: "1.0.0", Environment: "development",
		HTTPAddr: ":8000", ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 65536,
		ShutdownTimeout: 15 * time.Second, RequestTimeout: 30 * time.Second, MaxBodySize: 1 << 20,
		AccessTokenExpireMinutes: 30, RefreshTokenExpireDays: 7, Algorithm: "HS256",
		SessionMaxAge: time.Hour, AllowedHosts: []string{"*"}, CORSAllowMethods: []string{"*"}, CORSAllowHeaders: []string{"*"},
		DatabasePoolSize: 5, DatabaseMaxOverflow: 10, DatabasePoolTimeout: 30 * time.Second,
		RedisPoolSize: 10, LogLevel: "info", LogFormat: "text", // text: the environment is development
		RateLimitRequests: 100, RateLimitWindow: time.Minute,
		SentrySampleRate: 1, PrometheusEnabled: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load() with no input =\n%+v\nwant\n%+v", got, want)
	}
	if got.DocsEnabled != nil || !got.DocsOn() {
		t.Errorf("DocsEnabled = %v, DocsOn() = %v; want nil, true", got.DocsEnabled, got.DocsOn())
	}
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	const v = "RATE_LIMIT_REQUESTS"
	tests := []struct {
		name             string
		file, dot, env   string // "" means not set in that layer
		want             int
		wantSourceSuffix string // where a bad value is blamed
	}{
		{name: "default only", want: 100},
		{name: "file over default", file: "1", want: 1},
		{name: ".env over file", file: "1", dot: "2", want: 2},
		{name: "env over .env and file", file: "1", dot: "2", env: "3", want: 3},
		{name: "env over file", file: "1", env: "3", want: 3},
		{name: "env over .env", dot: "2", env: "3", want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var opts []config.Option
			if tt.file != "" {
				opts = append(opts, config.WithFile(writeFile(t, dir, "config.yaml", strings.ToLower(v)+": "+tt.file+"\n")))
			}
			if tt.dot != "" {
				opts = append(opts, config.WithDotEnv(writeFile(t, dir, ".env", v+"="+tt.dot+"\n")))
			}
			env := map[string]string{}
			if tt.env != "" {
				env[v] = tt.env
			}
			s := mustLoad(t, env, opts...)
			if s.RateLimitRequests != tt.want {
				t.Errorf("RateLimitRequests = %d; want %d", s.RateLimitRequests, tt.want)
			}
		})
	}
}

// TestLoadSourceInError checks that an error names the layer the bad value
// came from.
func TestLoadSourceInError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "c.json", `{"RATE_LIMIT_REQUESTS": "many", "REDIS_POOL_SIZE": 1}`)
	dot := writeFile(t, dir, "x.env", "REDIS_POOL_SIZE=lots\nDATABASE_POOL_SIZE=2\n")
	_, err := load(t, map[string]string{"DATABASE_POOL_SIZE": "some"}, config.WithFile(file), config.WithDotEnv(dot))
	fes := fieldErrors(t, err)
	want := map[string]string{"RATE_LIMIT_REQUESTS": file, "REDIS_POOL_SIZE": dot, "DATABASE_POOL_SIZE": "env"}
	if len(fes) != len(want) {
		t.Fatalf("got %d errors (%v); want %d", len(fes), err, len(want))
	}
	for _, fe := range fes {
		if fe.Source != want[fe.Var] {
			t.Errorf("%s: Source = %q; want %q", fe.Var, fe.Source, want[fe.Var])
		}
	}
	if msg := err.Error(); !strings.Contains(msg, `RATE_LIMIT_REQUESTS: "many" is not a number (from `+file+`)`) {
		t.Errorf("Error() = %q; want it to name the file", msg)
	}
}

func TestLoadFileFormats(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, file, content string }{
		{"yaml", "c.yaml", "rate_limit_requests: 7\nrate_limit_window: 90\ndebug: true\nallowed_hosts: [a.example, b.example]\nsession_max_age: 2m\n"},
		{"yml upper-case keys", "c.yml", "RATE_LIMIT_REQUESTS: 7\nRATE_LIMIT_WINDOW: 1m30s\nDEBUG: yes\nALLOWED_HOSTS:\n  - a.example\n  - b.example\nSESSION_MAX_AGE: 120\n"},
		{"json", "c.json", `{"rate_limit_requests": 7, "rate_limit_window": "90s", "debug": true, "allowed_hosts": ["a.example", "b.example"], "session_max_age": 120}`},
		{"toml", "c.toml", "rate_limit_requests = 7\nrate_limit_window = 90\ndebug = true\nallowed_hosts = [\"a.example\", \"b.example\"]\nsession_max_age = \"2m\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustLoad(t, nil, config.WithFile(writeFile(t, t.TempDir(), tt.file, tt.content)))
			if s.RateLimitRequests != 7 || s.RateLimitWindow != 90*time.Second || !s.Debug ||
				!slices.Equal(s.AllowedHosts, []string{"a.example", "b.example"}) || s.SessionMaxAge != 2*time.Minute {
				t.Errorf("Load(%s) = requests %d, window %v, debug %v, hosts %q, session %v; want 7, 1m30s, true, [a.example b.example], 2m",
					tt.file, s.RateLimitRequests, s.RateLimitWindow, s.Debug, s.AllowedHosts, s.SessionMaxAge)
			}
		})
	}
}

func TestLoadConfigFileVar(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := writeFile(t, dir, "a.yaml", "version: from-a\n")
	b := writeFile(t, dir, "b.yaml", "version: from-b\n")
	tests := []struct {
		name string
		env  map[string]string
		dot  string
		opts []config.Option
		want string
	}{
		{name: "WithFile", opts: []config.Option{config.WithFile(a)}, want: "from-a"},
		{name: "CONFIG_FILE", env: map[string]string{"CONFIG_FILE": b}, want: "from-b"},
		{name: "CONFIG_FILE beats WithFile", env: map[string]string{"CONFIG_FILE": b}, opts: []config.Option{config.WithFile(a)}, want: "from-b"},
		{name: "CONFIG_FILE in .env", dot: "CONFIG_FILE=" + b + "\n", want: "from-b"},
		{name: "prefixed CONFIG_FILE", env: map[string]string{"APP_CONFIG_FILE": b, "CONFIG_FILE": a}, opts: []config.Option{config.WithEnvPrefix("APP")}, want: "from-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			if tt.dot != "" {
				opts = append(opts, config.WithDotEnv(writeFile(t, t.TempDir(), ".env", tt.dot)))
			}
			if s := mustLoad(t, tt.env, opts...); s.Version != tt.want {
				t.Errorf("Version = %q; want %q", s.Version, tt.want)
			}
		})
	}
}

func TestLoadEnvPrefix(t *testing.T) {
	t.Parallel()
	dot := writeFile(t, t.TempDir(), ".env", "APP_REDIS_URL=redis://from-dotenv:6379/0\nREDIS_POOL_SIZE=99\n")
	tests := []struct {
		name   string
		prefix string
	}{
		{"bare", "APP"},
		{"trailing underscore", "APP_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustLoad(t, map[string]string{
				"APP_DATABASE_URL":   "postgres://db.example/app",
				"DATABASE_URL":       "postgres://wrong.example/app",
				"DATABASE_POOL_SIZE": "42",
			}, config.WithEnvPrefix(tt.prefix), config.WithDotEnv(dot))
			if s.DatabaseURL != "postgres://db.example/app" || s.DatabasePoolSize != 5 ||
				s.RedisURL != "redis://from-dotenv:6379/0" || s.RedisPoolSize != 10 {
				t.Errorf("with prefix %q: DatabaseURL %q, DatabasePoolSize %d, RedisURL %q, RedisPoolSize %d; want prefixed values only",
					tt.prefix, s.DatabaseURL, s.DatabasePoolSize, s.RedisURL, s.RedisPoolSize)
			}
		})
	}
	t.Run("errors name the prefixed variable", func(t *testing.T) {
		t.Parallel()
		_, err := load(t, map[string]string{"APP_RATE_LIMIT_WINDOW": "abc"}, config.WithEnvPrefix("APP"))
		if fes := fieldErrors(t, err); len(fes) != 1 || fes[0].Var != "APP_RATE_LIMIT_WINDOW" {
			t.Errorf("errors = %v; want one for APP_RATE_LIMIT_WINDOW", err)
		}
	})
}

func TestLoadLists(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"comma", "a.example,b.example,c.example", []string{"a.example", "b.example", "c.example"}},
		{"comma with spaces and empties", " a.example , ,b.example, ", []string{"a.example", "b.example"}},
		{"single", "a.example", []string{"a.example"}},
		{"json", `["a.example","b.example"]`, []string{"a.example", "b.example"}},
		{"json with spaces", ` [ "a.example" , " b.example " ] `, []string{"a.example", "b.example"}},
		{"json empty", `[]`, nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if s := mustLoad(t, map[string]string{"ALLOWED_HOSTS": tt.in}); !slices.Equal(s.AllowedHosts, tt.want) {
				t.Errorf("ALLOWED_HOSTS=%q: AllowedHosts = %q; want %q", tt.in, s.AllowedHosts, tt.want)
			}
		})
	}
}

func TestLoadDurations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     time.Duration
	}{
		{"go seconds", "90s", 90 * time.Second},
		{"go compound", "1m30s", 90 * time.Second},
		{"go milliseconds", "1500ms", 1500 * time.Millisecond},
		{"bare integer is seconds", "60", time.Minute},
		{"bare zero", "0", 0},
		{"spaces trimmed", " 2h ", 2 * time.Hour},
		{"empty means default", "", 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if s := mustLoad(t, map[string]string{"SHUTDOWN_TIMEOUT": tt.in}); s.ShutdownTimeout != tt.want {
				t.Errorf("SHUTDOWN_TIMEOUT=%q: ShutdownTimeout = %v; want %v", tt.in, s.ShutdownTimeout, tt.want)
			}
		})
	}
}

func TestLoadBools(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"true", "TRUE", "1", "yes", "Y", "on", "t"} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			if s := mustLoad(t, map[string]string{"DEBUG": in}); !s.Debug {
				t.Errorf("DEBUG=%q: Debug = false; want true", in)
			}
		})
	}
	for _, in := range []string{"false", "False", "0", "no", "N", "off", "f", ""} {
		t.Run("not "+in, func(t *testing.T) {
			t.Parallel()
			if s := mustLoad(t, map[string]string{"DEBUG": in, "PROMETHEUS_ENABLED": in}); s.Debug || (in != "" && s.PrometheusEnabled) {
				t.Errorf("DEBUG=PROMETHEUS_ENABLED=%q: Debug = %v, PrometheusEnabled = %v; want false", in, s.Debug, s.PrometheusEnabled)
			}
		})
	}
	t.Run("optional bool", func(t *testing.T) {
		t.Parallel()
		for in, want := range map[string]*bool{"": nil, "true": new(true), "off": new(false)} {
			s := mustLoad(t, map[string]string{"DOCS_ENABLED": in})
			if (s.DocsEnabled == nil) != (want == nil) || (want != nil && *s.DocsEnabled != *want) {
				t.Errorf("DOCS_ENABLED=%q: DocsEnabled = %v; want %v", in, s.DocsEnabled, want)
			}
		}
	})
}

func TestLoadNormalizes(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, map[string]string{
		"ENVIRONMENT":          " Test ",
		"LOG_LEVEL":            "WARNING",
		"LOG_FORMAT":           "Text",
		"ALGORITHM":            "hs512",
		"TRUSTED_PROXIES":      "10.0.0.1, 10.1.2.3/8, ::1, 2001:db8::/32",
		"BACKEND_CORS_ORIGINS": `["http://Localhost:3000/", "https://app.example.com"]`,
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"Environment", s.Environment, "test"},
		{"LogLevel", s.LogLevel, "warn"},
		{"LogFormat", s.LogFormat, "text"},
		{"Algorithm", s.Algorithm, "HS512"},
		{"TrustedProxies", s.TrustedProxies, []string{"10.0.0.1/32", "10.0.0.0/8", "::1/128", "2001:db8::/32"}},
		{"CORSOrigins", s.CORSOrigins, []string{"http://localhost:3000", "https://app.example.com"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
		}
	}
	nets := s.TrustedProxyNets()
	if len(nets) != 4 || nets[1].String() != "10.0.0.0/8" || nets[0].String() != "10.0.0.1/32" {
		t.Errorf("TrustedProxyNets() = %v; want 4 nets starting 10.0.0.1/32 10.0.0.0/8", nets)
	}
}

// TestLoadFieldErrors gives each failure path its own case: the one error
// must name the variable, show the value (unless secret) and say why.
func TestLoadFieldErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		opts    func(t *testing.T) []config.Option
		wantVar string
		want    string // substring of FieldError.Error()
	}{
		{name: "bad number", env: map[string]string{"RATE_LIMIT_REQUESTS": "abc"}, wantVar: "RATE_LIMIT_REQUESTS", want: `RATE_LIMIT_REQUESTS: "abc" is not a number`},
		{name: "bare seconds not a number", env: map[string]string{"RATE_LIMIT_WINDOW": "abc"}, wantVar: "RATE_LIMIT_WINDOW", want: `RATE_LIMIT_WINDOW: "abc" is not a duration`},
		{name: "fraction for integer", env: map[string]string{"REDIS_POOL_SIZE": "2.5"}, wantVar: "REDIS_POOL_SIZE", want: `"2.5" is not a whole number`},
		{name: "out of range", env: map[string]string{"HTTP_MAX_HEADER_BYTES": "99999999999999999999"}, wantVar: "HTTP_MAX_HEADER_BYTES", want: "is out of range"},
		{name: "bad duration", env: map[string]string{"SHUTDOWN_TIMEOUT": "10 minutes"}, wantVar: "SHUTDOWN_TIMEOUT", want: `SHUTDOWN_TIMEOUT: "10 minutes" is not a duration (use 90s, 1m30s or whole seconds)`},
		{name: "fractional bare duration", env: map[string]string{"SHUTDOWN_TIMEOUT": "1.5"}, wantVar: "SHUTDOWN_TIMEOUT", want: "is not a duration"},
		{name: "negative duration", env: map[string]string{"HTTP_READ_TIMEOUT": "-5s"}, wantVar: "HTTP_READ_TIMEOUT", want: `"-5s" must not be negative`},
		{name: "bad list", env: map[string]string{"ALLOWED_HOSTS": `["a.example",`}, wantVar: "ALLOWED_HOSTS", want: "is not a list"},
		{name: "bad list element type", env: map[string]string{"ALLOWED_HOSTS": `[1, 2]`}, wantVar: "ALLOWED_HOSTS", want: "is not a list"},
		{name: "bad bool", env: map[string]string{"DEBUG": "maybe"}, wantVar: "DEBUG", want: `DEBUG: "maybe" is not a boolean`},
		{name: "bad optional bool", env: map[string]string{"DOCS_ENABLED": "sometimes"}, wantVar: "DOCS_ENABLED", want: "is not a boolean"},
		{name: "negative size", env: map[string]string{"MAX_BODY_SIZE": "-1"}, wantVar: "MAX_BODY_SIZE", want: `"-1" must not be negative`},
		{name: "negative overflow", env: map[string]string{"DATABASE_MAX_OVERFLOW": "-3"}, wantVar: "DATABASE_MAX_OVERFLOW", want: "must not be negative"},
		{name: "zero pool", env: map[string]string{"DATABASE_POOL_SIZE": "0"}, wantVar: "DATABASE_POOL_SIZE", want: "must be greater than 0"},
		{name: "zero window", env: map[string]string{"RATE_LIMIT_WINDOW": "0"}, wantVar: "RATE_LIMIT_WINDOW", want: "must be greater than 0"},
		{name: "unknown environment", env: map[string]string{"ENVIRONMENT": "prod"}, wantVar: "ENVIRONMENT", want: `ENVIRONMENT: "prod" must be one of development, staging, production, test`},
		{name: "unknown log level", env: map[string]string{"LOG_LEVEL": "verbose"}, wantVar: "LOG_LEVEL", want: "must be one of debug, info, warn, error"},
		{name: "unknown log format", env: map[string]string{"LOG_FORMAT": "xml"}, wantVar: "LOG_FORMAT", want: "must be one of json, text"},
		{name: "unknown algorithm", env: map[string]string{"ALGORITHM": "RS256"}, wantVar: "ALGORITHM", want: "must be one of HS256, HS384, HS512"},
		{name: "database scheme", env: map[string]string{"DATABASE_URL": "mysql://u:hunter2@db/app"}, wantVar: "DATABASE_URL", want: `DATABASE_URL: "mysql://u:xxxxx@db/app" has scheme "mysql"`},
		{name: "database not a url", env: map[string]string{"DATABASE_URL": "host=db password=hunter2"}, wantVar: "DATABASE_URL", want: `"[REDACTED]" is not a URL`},
		{name: "redis scheme", env: map[string]string{"REDIS_URL": "http://cache:6379"}, wantVar: "REDIS_URL", want: `has scheme "http"`},
		{name: "redis no host", env: map[string]string{"REDIS_URL": "redis:///0"}, wantVar: "REDIS_URL", want: "has no host"},
		{name: "bad cidr", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.0/33"}, wantVar: "TRUSTED_PROXIES", want: `TRUSTED_PROXIES: "10.0.0.0/33" is not a CIDR or IP address`},
		{name: "bad origin", env: map[string]string{"BACKEND_CORS_ORIGINS": "localhost:3000"}, wantVar: "BACKEND_CORS_ORIGINS", want: "is not an origin"},
		{name: "origin with path", env: map[string]string{"BACKEND_CORS_ORIGINS": "https://app.example.com/login"}, wantVar: "BACKEND_CORS_ORIGINS", want: "is not an origin"},
		{name: "cors wildcard with credentials in development", env: map[string]string{"BACKEND_CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"}, wantVar: "BACKEND_CORS_ORIGINS", want: "cannot be combined with CORS_ALLOW_CREDENTIALS=true"},
		{name: "bad listen address", env: map[string]string{"HTTP_ADDR": "8000"}, wantVar: "HTTP_ADDR", want: "is not a host:port address"},
		{name: "bad port", env: map[string]string{"METRICS_ADDR": ":99999"}, wantVar: "METRICS_ADDR", want: "has an invalid port"},
		{name: "cors star among headers", env: map[string]string{"CORS_ALLOW_HEADERS": "*,X-Tenant"}, wantVar: "CORS_ALLOW_HEADERS", want: "* must be the only entry"},
		{
			name: "missing config file", wantVar: "CONFIG_FILE", want: "cannot be read",
			opts: func(t *testing.T) []config.Option {
				return []config.Option{config.WithFile(filepath.Join(t.TempDir(), "nope.yaml"))}
			},
		},
		{
			name: "config file is a directory", wantVar: "CONFIG_FILE", want: "cannot be read",
			opts: func(t *testing.T) []config.Option {
				dir := filepath.Join(t.TempDir(), "dir.yaml")
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				return []config.Option{config.WithFile(dir)}
			},
		},
		{
			name: "malformed config file", wantVar: "CONFIG_FILE", want: "cannot be read",
			opts: func(t *testing.T) []config.Option {
				return []config.Option{config.WithFile(writeFile(t, t.TempDir(), "c.json", `{"debug": tru`))}
			},
		},
		{
			name: "unknown config extension", wantVar: "CONFIG_FILE", want: "has an unknown extension",
			opts: func(t *testing.T) []config.Option {
				return []config.Option{config.WithFile(writeFile(t, t.TempDir(), "c.ini", "debug=true"))}
			},
		},
		{
			name: "list where a value belongs", wantVar: "PROJECT_NAME", want: "is a list or table",
			opts: func(t *testing.T) []config.Option {
				return []config.Option{config.WithFile(writeFile(t, t.TempDir(), "c.yaml", "project_name: [a, b]\n"))}
			},
		},
		{
			name: "unreadable .env", want: "cannot be read",
			opts: func(t *testing.T) []config.Option {
				return []config.Option{config.WithDotEnv(t.TempDir())} // a directory: exists but cannot be read
			},
		},
		{
			name: "unparsable .env", want: "cannot be read",
			opts: func(t *testing.T) []config.Option {
				return []config.Option{config.WithDotEnv(writeFile(t, t.TempDir(), ".env", "A='unterminated\n"))}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []config.Option
			if tt.opts != nil {
				opts = tt.opts(t)
			}
			_, err := load(t, tt.env, opts...)
			fes := fieldErrors(t, err)
			if len(fes) != 1 {
				t.Fatalf("Load() = %v; want exactly one problem", err)
			}
			if tt.wantVar != "" && fes[0].Var != tt.wantVar {
				t.Errorf("Var = %q; want %q", fes[0].Var, tt.wantVar)
			}
			if got := fes[0].Error(); !strings.Contains(got, tt.want) {
				t.Errorf("FieldError = %q; want it to contain %q", got, tt.want)
			}
		})
	}
}

// TestLoadReportsEverythingAtOnce is the case: bad number, bad
// duration, bad list, unreadable file and production without a secret come
// back as one error listing all of them.
func TestLoadReportsEverythingAtOnce(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := load(t, map[string]string{
		"ENVIRONMENT":         "production",
		"ALLOWED_HOSTS":       "api.example.com",
		"RATE_LIMIT_REQUESTS": "lots",
		"RATE_LIMIT_WINDOW":   "abc",
		"TRUSTED_PROXIES":     "[10.0.0.0/8",
	}, config.WithFile(missing))
	fes := fieldErrors(t, err)
	want := []string{
		`CONFIG_FILE: "` + missing + `" cannot be read`,
		`RATE_LIMIT_REQUESTS: "lots" is not a number`,
		`RATE_LIMIT_WINDOW: "abc" is not a duration`,
		`TRUSTED_PROXIES: "[10.0.0.0/8" is not a list`,
		`SECRET_KEY: must be set in production`,
	}
	if len(fes) != len(want) {
		t.Errorf("got %d problems; want %d: %v", len(fes), len(want), err)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("Error() = %q\nwant it to contain %q", msg, w)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false; want the missing file's cause reachable")
	}
	var fe config.FieldError
	if !errors.As(err, &fe) || fe.Var != "CONFIG_FILE" {
		t.Errorf("errors.As(err, &FieldError) = %+v; want the first problem", fe)
	}
}

func TestProductionRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string // "" means valid
		want    string
	}{
		{name: "valid", env: prodEnv(nil)},
		{name: "valid with cors origins and credentials", env: prodEnv(map[string]string{"BACKEND_CORS_ORIGINS": "https://app.example.com", "CORS_ALLOW_CREDENTIALS": "true"})},
		{name: "secret missing", env: prodEnv(map[string]string{"SECRET_KEY": ""}), wantVar: "SECRET_KEY", want: "SECRET_KEY: must be set in production"},
		{name: "secret short", env: prodEnv(map[string]string{"SECRET_KEY": "short-secret"}), wantVar: "SECRET_KEY", want: "must be at least 32 bytes in production (got 12)"},
		{name: "debug on", env: prodEnv(map[string]string{"DEBUG": "true"}), wantVar: "DEBUG", want: "must be off in production"},
		{name: "hosts wildcard", env: prodEnv(map[string]string{"ALLOWED_HOSTS": "api.example.com,*"}), wantVar: "ALLOWED_HOSTS", want: "must not contain * in production"},
		{name: "hosts default", env: prodEnv(map[string]string{"ALLOWED_HOSTS": "*"}), wantVar: "ALLOWED_HOSTS", want: "must not contain *"},
		{name: "hosts empty", env: prodEnv(map[string]string{"ALLOWED_HOSTS": ""}), wantVar: "ALLOWED_HOSTS", want: "must list the served host names"},
		{name: "cors wildcard with credentials", env: prodEnv(map[string]string{"BACKEND_CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "1"}), wantVar: "BACKEND_CORS_ORIGINS", want: "cannot be combined"},
		{name: "staging needs a secret", env: map[string]string{"ENVIRONMENT": "staging"}, wantVar: "SECRET_KEY", want: "must be set in staging"},
		{name: "staging allows debug and any host", env: map[string]string{"ENVIRONMENT": "staging", "DEBUG": "1", "SECRET_KEY": strings.Repeat("s", 40)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := load(t, tt.env)
			if tt.wantVar == "" {
				if err != nil {
					t.Fatalf("Load() = %v; want valid", err)
				}
				if s.Environment == "production" && (!s.IsProduction() || s.DocsOn()) {
					t.Errorf("IsProduction() = %v, DocsOn() = %v; want true, false", s.IsProduction(), s.DocsOn())
				}
				return
			}
			fes := fieldErrors(t, err)
			if len(fes) != 1 || fes[0].Var != tt.wantVar || !strings.Contains(fes[0].Error(), tt.want) {
				t.Errorf("Load() = %v; want one problem on %s containing %q", err, tt.wantVar, tt.want)
			}
			if v := tt.env["SECRET_KEY"]; v != "" && strings.Contains(err.Error(), v) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestGeneratedSecret(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"development", "test"} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			log, buf := newLogger()
			a := mustLoad(t, map[string]string{"ENVIRONMENT": env}, config.WithLogger(log))
			b := mustLoad(t, map[string]string{"ENVIRONMENT": env}, config.WithLogger(log))
			if len(a.SecretKey) < config.MinSecretKeyLen || a.SecretKey == b.SecretKey {
				t.Errorf("generated keys %d and %d bytes, equal = %v; want >= %d bytes and different",
					len(a.SecretKey), len(b.SecretKey), a.SecretKey == b.SecretKey, config.MinSecretKeyLen)
			}
			out := buf.String()
			if strings.Count(out, "level=WARN") != 2 || !strings.Contains(out, "tokens and sessions die on restart") {
				t.Errorf("log = %q; want two WARN lines saying tokens die on restart", out)
			}
			if strings.Contains(out, a.SecretKey) {
				t.Errorf("log shows the generated key")
			}
		})
	}
	t.Run("explicit secret is kept, no warning", func(t *testing.T) {
		t.Parallel()
		log, buf := newLogger()
		s := mustLoad(t, map[string]string{"SECRET_KEY": "dev"}, config.WithLogger(log))
		if s.SecretKey != "dev" || buf.String() != "" {
			t.Errorf("SecretKey = %q, log = %q; want \"dev\" and no log", s.SecretKey, buf.String())
		}
	})
	t.Run("no warning when load fails", func(t *testing.T) {
		t.Parallel()
		log, buf := newLogger()
		if _, err := load(t, map[string]string{"DEBUG": "x"}, config.WithLogger(log)); err == nil || buf.String() != "" {
			t.Errorf("Load() = %v, log = %q; want an error and no log", err, buf.String())
		}
	})
}

func TestUnknownFileKeysWarn(t *testing.T) {
	t.Parallel()
	log, buf := newLogger()
	file := writeFile(t, t.TempDir(), "c.yaml", "debug: true\ndatabse_url: typo\nnested:\n  key: 1\n")
	mustLoad(t, nil, config.WithFile(file), config.WithLogger(log))
	out := buf.String()
	if !strings.Contains(out, "unknown keys") || !strings.Contains(out, "databse_url") || !strings.Contains(out, "nested.key") || strings.Contains(out, "debug") {
		t.Errorf("log = %q; want a warning naming databse_url and nested.key only", out)
	}
}

// appSettings is how an application extends the settings.
type appSettings struct {
	config.Settings
	FeatureSearch bool          `env:"FEATURE_SEARCH" default:"true" doc:"Enable search"`
	Workers       int           `env:"WORKERS" default:"4" doc:"Background workers"`
	PollEvery     time.Duration `env:"POLL_EVERY" default:"5s"`
	StripeKey     string        `env:"STRIPE_KEY" secret:"true" json:"-" doc:"Stripe API key"`
	Regions       []string      `env:"REGIONS" default:"eu,us"`
	Ignored       string        // no env tag: Load leaves it alone
}

func TestLoadAppStruct(t *testing.T) {
	t.Parallel()
	t.Run("extra fields load with the same rules", func(t *testing.T) {
		t.Parallel()
		a := appSettings{Ignored: "kept"}
		err := config.Load(&a, config.WithDotEnv(""), config.WithLogger(slog.New(slog.DiscardHandler)),
			config.WithEnvPrefix("SHOP"),
			config.WithEnv(map[string]string{"SHOP_WORKERS": "8", "SHOP_POLL_EVERY": "30", "SHOP_STRIPE_KEY": "sk_live_abc", "SHOP_REDIS_POOL_SIZE": "3"}))
		if err != nil {
			t.Fatal(err)
		}
		if !a.FeatureSearch || a.Workers != 8 || a.PollEvery != 30*time.Second || a.StripeKey != "sk_live_abc" ||
			!slices.Equal(a.Regions, []string{"eu", "us"}) || a.Ignored != "kept" || a.RedisPoolSize != 3 || a.ProjectName != "Gantry App" {
			t.Errorf("Load(&app) = %+v; want extra fields and embedded settings loaded", a)
		}
		rows, err := config.Table(&a)
		if err != nil {
			t.Fatal(err)
		}
		byVar := map[string]config.Setting{}
		for _, r := range rows {
			byVar[r.Var] = r
		}
		if r := byVar["STRIPE_KEY"]; !r.Secret || r.Value != config.RedactedText {
			t.Errorf("Table STRIPE_KEY = %+v; want secret and redacted", r)
		}
		if r := byVar["WORKERS"]; r.Value != "8" || r.Default != "4" || r.Type != "integer" || r.Field != "Workers" {
			t.Errorf("Table WORKERS = %+v", r)
		}
		if r := byVar["REDIS_POOL_SIZE"]; r.Field != "Settings.RedisPoolSize" || r.Value != "3" {
			t.Errorf("Table REDIS_POOL_SIZE = %+v", r)
		}
		if strings.Contains(fmt.Sprintf("%v %+v %#v", a, a, a), "sk_live_abc") {
			t.Errorf("printing the app struct shows the embedded settings' secret")
		}
	})
	t.Run("extra and embedded problems in one error", func(t *testing.T) {
		t.Parallel()
		var a appSettings
		err := config.Load(&a, config.WithDotEnv(""), config.WithLogger(slog.New(slog.DiscardHandler)),
			config.WithEnv(map[string]string{"WORKERS": "many", "ENVIRONMENT": "qa"}))
		fes := fieldErrors(t, err)
		if len(fes) != 2 || fes[0].Var != "ENVIRONMENT" && fes[1].Var != "ENVIRONMENT" {
			t.Errorf("Load(&app) = %v; want problems on WORKERS and ENVIRONMENT", err)
		}
	})
}

func TestLoadInvalidTarget(t *testing.T) {
	t.Parallel()
	var nilSettings *config.Settings
	type dup struct {
		config.Settings
		Mine string `env:"DATABASE_URL"`
	}
	type unsupported struct {
		M map[string]string `env:"M"`
	}
	type embeddedPointer struct {
		*config.Settings
	}
	type badSecretTag struct {
		K string `env:"K" secret:"yes"`
	}
	type dottedName struct {
		A string `env:"A.B"`
	}
	n := 3
	for name, dst := range map[string]any{
		"nil":              nil,
		"non-pointer":      config.Settings{},
		"nil pointer":      nilSettings,
		"pointer to int":   &n,
		"duplicate var":    &dup{},
		"unsupported type": &unsupported{},
		"embedded pointer": &embeddedPointer{},
		"bad secret tag":   &badSecretTag{},
		"dotted name":      &dottedName{},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := config.Load(dst, config.WithEnv(nil), config.WithDotEnv(""))
			var cerr *config.Error
			if !errors.Is(err, config.ErrInvalidTarget) || errors.As(err, &cerr) {
				t.Errorf("Load(%T) = %v; want ErrInvalidTarget alone", dst, err)
			}
		})
	}
}

// TestLoadProcessEnvAndWorkingDirDotEnv covers the defaults real programs
// use: os.LookupEnv and .env in the working directory. It changes the
// process's environment and directory, so it cannot run in parallel.
func TestLoadProcessEnvAndWorkingDirDotEnv(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".env", "# comment\nexport PROJECT_NAME=\"From Dotenv\"\nVERSION=9.9.9\n")
	t.Chdir(dir)
	t.Setenv("VERSION", "1.2.3")
	var s config.Settings
	if err := config.Load(&s, config.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	if s.ProjectName != "From Dotenv" || s.Version != "1.2.3" {
		t.Errorf("ProjectName %q, Version %q; want \"From Dotenv\" (.env) and \"1.2.3\" (process env)", s.ProjectName, s.Version)
	}
}
