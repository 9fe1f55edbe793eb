package storage

import (
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"photo.png", "photo.png"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\me\report.pdf`, "report.pdf"},
		{"dir/", "file"},
		{"..", "file"},
		{".", "file"},
		{"", "file"},
		{"  spaced.txt  ", "spaced.txt"},
		{"bad\r\nSet-Cookie: x.txt", "badSet-Cookie: x.txt"},
		{"nul\x00.png", "nul.png"},
		{"bad\xffutf8.txt", "badutf8.txt"},
		{"写真.png", "写真.png"},
		{strings.Repeat("é", 200), strings.Repeat("é", 127)},
	}
	for _, tt := range tests {
		if got := cleanName(tt.in); got != tt.want {
			t.Errorf("cleanName(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{newID(), true},
		{strings.Repeat("0", 32), true},
		{strings.Repeat("A", 32), false},
		{strings.Repeat("0", 31), false},
		{strings.Repeat("0", 33), false},
		{"../../etc/passwd", false},
		{strings.Repeat("0", 30) + "/.", false},
	}
	for _, tt := range tests {
		if got := validID(tt.in); got != tt.want {
			t.Errorf("validID(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}
