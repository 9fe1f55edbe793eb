package boolstr_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/boolstr"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		want, ok bool
	}{
		{"true", true, true}, {"TRUE", true, true}, {"True", true, true}, {"tRuE", true, true},
		{"t", true, true}, {"T", true, true}, {"yes", true, true}, {"YES", true, true},
		{"y", true, true}, {"Y", true, true}, {"on", true, true}, {"ON", true, true}, {"1", true, true},
		{"false", false, true}, {"FALSE", false, true}, {"False", false, true},
		{"f", false, true}, {"F", false, true}, {"no", false, true}, {"No", false, true},
		{"n", false, true}, {"N", false, true}, {"off", false, true}, {"OFF", false, true}, {"0", false, true},
		{"", false, false},
		{" true", false, false},
		{"true ", false, false},
		{"2", false, false},
		{"-1", false, false},
		{"01", false, false},
		{"10", false, false},
		{"maybe", false, false},
		{"yess", false, false},
		{"truee", false, false},
		{"falsey", false, false},
		{"nope", false, false},
		{"enabled", false, false},
		{"yeſ", false, false},    // U+017F folds to "s" under Unicode rules, not here
		{"\u212a", false, false}, // KELVIN SIGN folds to "k"
		{"tru\x00", false, false},
		{"null", false, false},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			t.Parallel()
			if got, ok := boolstr.Parse(tt.in); got != tt.want || ok != tt.ok {
				t.Errorf("Parse(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	yes, no := boolstr.Words()
	for want, words := range map[bool][]string{true: yes, false: no} {
		for _, w := range words {
			for _, s := range []string{w, strings.ToUpper(w)} {
				if got, ok := boolstr.Parse(s); !ok || got != want {
					t.Errorf("Parse(%q) = %v, %v; want %v, true", s, got, ok, want)
				}
			}
		}
	}
}

// FuzzParse checks that Parse accepts only short ASCII words, ignores ASCII
// case, agrees with strconv.ParseBool wherever that accepts, and reads
// strconv.FormatBool's output back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"true", "FALSE", "Yes", "n", "on", "0", "", "maybe", "yeſ", " 1", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := boolstr.Parse(s)
		if !ok {
			if v {
				t.Fatalf("Parse(%q) = true, false; a refusal must be false", s)
			}
		} else {
			if len(s) == 0 || len(s) > 5 {
				t.Fatalf("Parse(%q) accepted a text of length %d", s, len(s))
			}
			for i := 0; i < len(s); i++ {
				if s[i] >= 0x80 {
					t.Fatalf("Parse(%q) accepted a non-ASCII text", s)
				}
			}
			yes, no := boolstr.Words()
			words := no
			if v {
				words = yes
			}
			found := false
			for _, w := range words {
				found = found || strings.EqualFold(w, s)
			}
			if !found {
				t.Fatalf("Parse(%q) = %v, true; not one of %q", s, v, words)
			}
		}
		lv, lok := boolstr.Parse(strings.ToLower(s))
		if isASCII(s) && (lv != v || lok != ok) {
			t.Fatalf("Parse(%q) = %v, %v but Parse(lower) = %v, %v", s, v, ok, lv, lok)
		}
		if sv, err := strconv.ParseBool(s); err == nil && (!ok || sv != v) {
			t.Fatalf("Parse(%q) = %v, %v; strconv.ParseBool says %v", s, v, ok, sv)
		}
		if back, ok := boolstr.Parse(strconv.FormatBool(v)); !ok || back != v {
			t.Fatalf("Parse(FormatBool(%v)) = %v, %v", v, back, ok)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
