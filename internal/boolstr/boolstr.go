// Package boolstr is the one grammar for booleans written as text, shared by
// config (environment and config-file values), crud (query-string filters
// and include_total) and openapi (typed-route parameters), so that a word
// means the same thing wherever a user writes it.
//
// # Grammar
//
// The words are, in any ASCII letter case:
//
//	true:  true  t  yes  y  on   1
//	false: false f  no   n  off  0
//
// These are the words pydantic accepts for a bool, so a service ported from
// the FastAPI seed keeps its query strings and environment files. Nothing
// else is a boolean: not the empty string, not surrounding spaces, not
// "2", not non-ASCII letters that fold to ASCII ones (U+017F "ſ" is no "s").
package boolstr

// maxLen is the length of the longest word, "false".
const maxLen = 5

// Parse returns the boolean s spells and true, or false, false when s is
// not one of the package's words.
func Parse(s string) (value, ok bool) {
	if len(s) == 0 || len(s) > maxLen {
		return false, false
	}
	var buf [maxLen]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(s)]) {
	case "true", "t", "yes", "y", "on", "1":
		return true, true
	case "false", "f", "no", "n", "off", "0":
		return false, true
	}
	return false, false
}

// Words lists the accepted words in lower case, the true ones first; for
// error messages and documentation.
func Words() (trueWords, falseWords []string) {
	return []string{"true", "t", "yes", "y", "on", "1"}, []string{"false", "f", "no", "n", "off", "0"}
}
