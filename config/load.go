package config

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/joho/godotenv"
	"github.com/spf13/viper"
)

// Where a value came from; the config file and .env are named by their path.
const (
	sourceEnv     = "env"
	sourceDefault = "default"
)

// ConfigFileVar is the variable (prefix added) that names the config file. It
// overrides [WithFile].
const ConfigFileVar = "CONFIG_FILE"

// Option adjusts one call of [Load].
type Option func(*options)

type options struct {
	file   string
	dotenv string
	prefix string
	lookup func(string) (string, bool)
	logger *slog.Logger
	out    io.Writer
}

// WithFile reads settings from a YAML (.yaml, .yml), JSON (.json) or TOML
// (.toml) file. Keys are the variable names without prefix, in any case
// (database_url or DATABASE_URL), at the top level of the file. A file that
// cannot be read is an error. The variable CONFIG_FILE, when set in the
// environment or .env, names the file instead.
func WithFile(path string) Option { return func(o *options) { o.file = path } }

// WithDotEnv reads the .env file at path instead of ".env" in the working
// directory. A missing file is fine; one that exists but cannot be read or
// parsed is an error. An empty path turns .env loading off.
func WithDotEnv(path string) Option { return func(o *options) { o.dotenv = path } }

// WithEnvPrefix makes Load read PREFIX_NAME instead of NAME from the
// environment and .env (WithEnvPrefix("APP"): APP_DATABASE_URL). Config file
// keys never carry the prefix.
func WithEnvPrefix(prefix string) Option {
	return func(o *options) { o.prefix = strings.TrimSuffix(prefix, "_") }
}

// WithEnv makes Load read variables from env instead of the process
// environment, which is then not consulted at all. Meant for tests, which can
// then run in parallel.
func WithEnv(env map[string]string) Option {
	return func(o *options) {
		o.lookup = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
}

// WithLookupEnv makes Load read variables through fn (default os.LookupEnv).
func WithLookupEnv(fn func(string) (string, bool)) Option {
	return func(o *options) { o.lookup = fn }
}

// WithLogger sets the logger for warnings (a generated development secret,
// unknown keys in the config file). Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithLogOutput writes Load's warnings to w, once the settings are loaded,
// through the logger they describe ([Settings.NewLogger]: LOG_FORMAT and
// LOG_LEVEL), so they have the format of the process's other lines (a
// logger made before Load cannot know it). It replaces [WithLogger]. When
// dst embeds no [Settings], the warnings are JSON. Without it, warnings go to the logger of [WithLogger].
func WithLogOutput(w io.Writer) Option { return func(o *options) { o.out = w } }

// Load fills the struct dst points to from, lowest precedence first:
//
//  1. the `default` struct tags;
//  2. the config file ([WithFile] or CONFIG_FILE);
//  3. the .env file in the working directory ([WithDotEnv]), if present;
//  4. the environment ([WithEnv], [WithLookupEnv], [WithEnvPrefix]).
//
// dst is typically a *Settings or a pointer to an app struct that embeds
// [Settings] and adds fields with `env` and `default` tags; every tagged field
// is overwritten. Each call uses its own viper instance, so Load is safe for
// concurrent use.
//
// When dst embeds Settings, the settings are normalized (ENVIRONMENT and
// LOG_LEVEL lower-cased, bare IPs in TRUSTED_PROXIES turned into CIDRs, ...)
// and validated, including the production rules. In development and test a
// missing SECRET_KEY is replaced by a random one, with a warning.
//
// Load returns an [*Error] listing every invalid setting at once, or an error
// wrapping [ErrInvalidTarget] when dst itself is unusable. On error dst may be
// partly filled.
func Load(dst any, opts ...Option) error {
	o := options{dotenv: ".env", lookup: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.lookup == nil {
		o.lookup = os.LookupEnv
	}

	rv := reflect.ValueOf(dst)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: Load needs a non-nil pointer to a struct, got %T", ErrInvalidTarget, dst)
	}
	root := rv.Elem()
	fields, err := fieldsOf(root.Type())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTarget, err)
	}

	ld := &loader{opts: o, v: viper.New(), sources: map[string]string{}, undecoded: map[string]bool{}}
	ld.read(fields)
	for _, f := range fields {
		raw := ld.v.Get(key(f.env))
		if reason := decode(root.FieldByIndex(f.index), raw, f.def); reason != "" {
			ld.fail(FieldError{Var: ld.name(f.env), Value: shown(f, rawString(raw)), Reason: reason, Source: ld.sources[f.env]})
			ld.undecoded[f.env] = true
		}
	}
	s := settingsIn(root)
	if s != nil {
		ld.errs = append(ld.errs, s.validate(ld)...)
	}
	if c, ok := dst.(Checker); ok {
		for _, fe := range c.CheckSettings() {
			if !ld.undecoded[fe.Var] { // a value that did not decode is reported once
				ld.fail(ld.fe(fe.Var, fe.Value, fe.Reason))
			}
		}
	}
	if len(ld.errs) > 0 {
		ld.flushWarnings(s)
		return &Error{Fields: ld.errs}
	}
	if s != nil && s.SecretKey == "" && (s.Environment == EnvDevelopment || s.Environment == EnvTest) {
		s.SecretKey = randomSecret()
		ld.warn("config: SECRET_KEY is not set; using a random key: tokens and sessions die on restart and differ between instances",
			slog.String("var", ld.name("SECRET_KEY")), slog.String("environment", s.Environment))
	}
	ld.flushWarnings(s)
	return nil
}

// warning is a warning Load holds until the log format is known.
type warning struct {
	msg   string
	attrs []slog.Attr
}

// warn logs a warning now, or with WithLogOutput once the settings are
// loaded.
func (ld *loader) warn(msg string, attrs ...slog.Attr) {
	if ld.opts.out == nil {
		ld.opts.logger.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
		return
	}
	ld.held = append(ld.held, warning{msg, attrs})
}

// flushWarnings writes the held warnings through s's logger (JSON when s
// is nil).
func (ld *loader) flushWarnings(s *Settings) {
	if ld.opts.out == nil || len(ld.held) == 0 {
		return
	}
	log := slog.New(slog.NewJSONHandler(ld.opts.out, nil))
	if s != nil {
		log = s.NewLogger(ld.opts.out)
	}
	for _, w := range ld.held {
		log.LogAttrs(context.Background(), slog.LevelWarn, w.msg, w.attrs...)
	}
	ld.held = nil
}

// Checker is implemented by a settings struct with rules of its own, such as
// an application's struct that embeds [Settings] and adds its own variables.
// [Load] calls CheckSettings after every field decoded and its own checks
// ran, and reports the problems it returns together with the others, in one
// [*Error]. CheckSettings may also normalise its fields (it gets the
// pointer). In a returned [FieldError], Var is the variable's name without
// the prefix (Load adds the prefix and the value's source); give an empty
// Value for a secret. A variable that did not decode is not checked again.
type Checker interface {
	CheckSettings() []FieldError
}

// loader is the state of one Load call.
type loader struct {
	opts    options
	v       *viper.Viper
	sources map[string]string // env name (no prefix) -> where its value came from
	// undecoded holds the variables whose value could not be parsed; later
	// checks skip them so each problem is reported once.
	undecoded map[string]bool
	errs      []FieldError
	held      []warning // with WithLogOutput, until the format is known
}

// name returns the variable name the user sets: prefix + env.
func (ld *loader) name(env string) string {
	if ld.opts.prefix == "" {
		return env
	}
	return ld.opts.prefix + "_" + env
}

func (ld *loader) fail(fe FieldError) { ld.errs = append(ld.errs, fe) }

// fe builds a FieldError for the variable env, with its source.
func (ld *loader) fe(env, value, reason string) FieldError {
	return FieldError{Var: ld.name(env), Value: value, Reason: reason, Source: ld.sources[env]}
}

// key is the viper key of a variable: lower case, as viper folds keys.
func key(env string) string { return strings.ToLower(env) }

// read loads the layers into the viper instance and records each value's
// source.
func (ld *loader) read(fields []field) {
	v := ld.v
	for _, f := range fields {
		if f.hasDef {
			v.SetDefault(key(f.env), f.def)
		}
	}

	dot := ld.readDotEnv()

	file := ld.opts.file
	if p, ok := ld.opts.lookup(ld.name(ConfigFileVar)); ok && p != "" {
		file = p
	} else if p, ok := dot[ld.name(ConfigFileVar)]; ok && p != "" {
		file = p
	}
	if file != "" {
		ld.readFile(file, fields)
	}

	for _, f := range fields {
		k := key(f.env)
		switch {
		case v.InConfig(k):
			ld.sources[f.env] = file
		case f.hasDef:
			ld.sources[f.env] = sourceDefault
		}
		if val, ok := dot[ld.name(f.env)]; ok {
			v.Set(k, val)
			ld.sources[f.env] = ld.opts.dotenv
		}
		if val, ok := ld.opts.lookup(ld.name(f.env)); ok {
			v.Set(k, val)
			ld.sources[f.env] = sourceEnv
		}
	}
}

// readDotEnv returns the variables of the .env file; a missing file gives none.
func (ld *loader) readDotEnv() map[string]string {
	path := ld.opts.dotenv
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		var m map[string]string
		if m, err = godotenv.UnmarshalBytes(b); err == nil {
			return m
		}
	}
	ld.fail(FieldError{Var: path, Reason: "cannot be read: " + err.Error(), Err: err})
	return nil
}

// fileTypes maps config file extensions to viper config types.
var fileTypes = map[string]string{".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}

// readFile reads the config file into viper's config layer.
func (ld *loader) readFile(path string, fields []field) {
	typ, ok := fileTypes[strings.ToLower(filepath.Ext(path))]
	if !ok {
		ld.fail(FieldError{Var: ld.name(ConfigFileVar), Value: path, Reason: "has an unknown extension (use .yaml, .yml, .json or .toml)"})
		return
	}
	ld.v.SetConfigFile(path)
	ld.v.SetConfigType(typ)
	if err := ld.v.ReadInConfig(); err != nil {
		ld.fail(FieldError{Var: ld.name(ConfigFileVar), Value: path, Reason: "cannot be read: " + err.Error(), Err: err})
		return
	}
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[key(f.env)] = true
	}
	var unknown []string
	for _, k := range ld.v.AllKeys() {
		if top, _, _ := strings.Cut(k, "."); !known[top] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		ld.warn("config: unknown keys in config file are ignored",
			slog.String("file", path), slog.Any("keys", unknown))
	}
}

// settingsIn returns the Settings embedded in (or equal to) the struct v, or
// nil.
func settingsIn(v reflect.Value) *Settings {
	if s, ok := v.Addr().Interface().(*Settings); ok {
		return s
	}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && sf.IsExported() {
			if s := settingsIn(v.Field(i)); s != nil {
				return s
			}
		}
	}
	return nil
}

// shown returns the value of f as it may appear in an error message.
func shown(f field, s string) string {
	switch f.secret {
	case "true":
		return ""
	case "url":
		return Redacted(s)
	}
	return s
}

// randomSecret returns 32 random bytes, base64url encoded (43 characters).
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand.Read panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}
