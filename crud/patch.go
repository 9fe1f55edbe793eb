package crud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
)

// Patch is a partial update for [Repository.Update]: the columns to set and,
// for tables with a version column, the version the caller last read.
//
// A column absent from Set is left alone; a column present with a nil value
// (JSON null) is set to NULL. Values are Go values of the column's type, or
// json.RawMessage as [ParsePatch] leaves them; the store decodes them into
// the column's Go type and refuses a value that does not fit.
type Patch struct {
	// Set maps column names to new values.
	Set map[string]any
	// Version, when non-zero and the table has a version column, makes the
	// update happen only if the row is still at this version; otherwise it
	// fails with [ErrConflict]. Take it from an If-Match header or a body
	// field of your own.
	Version int64
}

// maxPatchDepth bounds JSON nesting in a patch value.
const maxPatchDepth = 32

// ParsePatch reads a JSON object body into a [Patch] that may only set the
// allowed columns. It refuses, with one [ErrInvalidPatch] (422) listing
// every problem:
//   - a body that is not one JSON object;
//   - keys not in allowed: matching is exact, so "ID", "Is_Superuser" or
//     "hashed_password" are refused unless allowed spells them exactly;
//   - keys given twice;
//   - an empty object.
//
// A JSON null sets the column to NULL; an absent key leaves it alone. The
// store still refuses writes to the id, managed and read-only columns
// whatever allowed says.
func ParsePatch(body []byte, allowed ...string) (Patch, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	fail := func(reason string) (Patch, error) {
		return Patch{}, newError(ErrInvalidPatch, 0, "invalid patch", []Problem{{Field: "body", Reason: reason}}, nil)
	}
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return fail("must be a JSON object")
	}
	p := Patch{Set: map[string]any{}}
	seen := map[string]bool{}
	var probs []Problem
	for keys := 0; dec.More(); keys++ {
		if keys >= maxParams {
			return fail(fmt.Sprintf("at most %d fields", maxParams))
		}
		tok, err := dec.Token()
		if err != nil {
			return fail("malformed JSON")
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail("malformed JSON")
		}
		if depth(raw) > maxPatchDepth {
			return fail("nested too deeply")
		}
		shown := key
		if len(shown) > maxParamName {
			shown = shown[:maxParamName] + "…"
		}
		switch {
		case key == "":
			if !slices.ContainsFunc(probs, func(p Problem) bool { return p.Field == "body" && p.Reason == "empty field name" }) {
				probs = append(probs, Problem{Field: "body", Reason: "empty field name"})
			}
			continue
		case seen[key]:
			if !slices.ContainsFunc(probs, func(p Problem) bool { return p.Field == shown && p.Reason == "given more than once" }) {
				probs = append(probs, Problem{Field: shown, Reason: "given more than once"})
			}
			continue
		case !slices.Contains(allowed, key):
			probs = append(probs, Problem{Field: shown, Reason: "unknown or read-only field"})
		}
		seen[key] = true
		if bytes.Equal(raw, []byte("null")) {
			p.Set[key] = nil
		} else {
			p.Set[key] = raw
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail("malformed JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail("must be a single JSON object")
	}
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Field < probs[j].Field })
		return Patch{}, newError(ErrInvalidPatch, 0, "invalid patch", probs, nil)
	}
	if len(p.Set) == 0 {
		return fail("no fields to update")
	}
	return p, nil
}

// depth returns the nesting depth of a JSON value.
func depth(raw []byte) int {
	d, maxD := 0, 0
	inStr, esc := false, false
	for _, c := range raw {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			d++
			maxD = max(maxD, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return maxD
}
