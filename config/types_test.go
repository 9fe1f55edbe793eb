package config_test

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
)

// kinds covers the field types an app may add beyond those Settings uses.
type kinds struct {
	U     uint        `env:"U" default:"7"`
	U8    uint8       `env:"U8"`
	I8    int8        `env:"I8"`
	F     float64     `env:"F" default:"0.5"`
	F32   float32     `env:"F32"`
	P     *int        `env:"P"`
	Level slog.Level  `env:"LEVEL" default:"INFO"` // encoding.TextUnmarshaler
	Addr  netip.Addr  `env:"ADDR"`                 // encoding.TextUnmarshaler
	OptIP *netip.Addr `env:"OPT_IP"`
}

func TestLoadOtherTypes(t *testing.T) {
	t.Parallel()
	lookup := func(env map[string]string) config.Option {
		return config.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	}
	t.Run("values", func(t *testing.T) {
		t.Parallel()
		var k kinds
		err := config.Load(&k, config.WithDotEnv(""), lookup(map[string]string{
			"U": "42", "U8": "255", "I8": "-128", "F32": "2.5", "P": "9", "LEVEL": "warn", "ADDR": "10.0.0.1", "OPT_IP": "::1",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if k.U != 42 || k.U8 != 255 || k.I8 != -128 || k.F != 0.5 || k.F32 != 2.5 || k.P == nil || *k.P != 9 ||
			k.Level != slog.LevelWarn || k.Addr != netip.MustParseAddr("10.0.0.1") || k.OptIP == nil || k.OptIP.String() != "::1" {
			t.Errorf("Load(&kinds) = %+v", k)
		}
	})
	t.Run("unset optional", func(t *testing.T) {
		t.Parallel()
		var k kinds
		if err := config.Load(&k, config.WithDotEnv(""), lookup(nil)); err != nil || k.P != nil || k.OptIP != nil || k.U != 7 || k.Level != slog.LevelInfo {
			t.Errorf("Load(&kinds) = %+v, %v; want defaults and nil pointers", k, err)
		}
	})
	tests := []struct{ name, v, in, want string }{
		{"negative uint", "U", "-1", `U: "-1" must not be negative`},
		{"uint overflow", "U8", "256", `U8: "256" is out of range`},
		{"int overflow", "I8", "128", `I8: "128" is out of range`},
		{"not a float", "F", "half", `F: "half" is not a number`},
		{"NaN", "F", "NaN", `F: "NaN" is not a number`},
		{"float32 overflow", "F32", "1e300", `F32: "1e300" is out of range`},
		{"bad pointer value", "P", "x", `P: "x" is not a number`},
		{"text unmarshaler", "LEVEL", "loud", `LEVEL: "loud" is not valid: `},
		{"optional text unmarshaler", "OPT_IP", "1.2.3", `OPT_IP: "1.2.3" is not valid: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var k kinds
			err := config.Load(&k, config.WithDotEnv(""), lookup(map[string]string{tt.v: tt.in}))
			fes := fieldErrors(t, err)
			if len(fes) != 1 || !strings.Contains(fes[0].Error(), tt.want) {
				t.Errorf("Load(%s=%q) = %v; want one problem %q", tt.v, tt.in, err, tt.want)
			}
		})
	}
	t.Run("table types", func(t *testing.T) {
		t.Parallel()
		rows, err := config.Table(kinds{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.Type)
		}
		if want := "integer integer integer number number integer (optional) text text text (optional)"; strings.Join(got, " ") != want {
			t.Errorf("Table types = %q; want %q", strings.Join(got, " "), want)
		}
		if _, err := config.Table(3); err == nil {
			t.Errorf("Table(3) = nil error; want ErrInvalidTarget")
		}
	})
}
