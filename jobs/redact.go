package jobs

import (
	"bytes"
	"encoding/json"
)

// RedactFields returns a redaction hook for operator tools (the dashboard
// in jobshttp, the command line in jobscli): it replaces the value of every
// object member named in fields, at any depth, with "[redacted]". Numbers
// keep their exact text; a payload that is not one JSON value is redacted
// whole. The input is never modified.
func RedactFields(fields ...string) func(kind string, payload json.RawMessage) json.RawMessage {
	hide := make(map[string]bool, len(fields))
	for _, f := range fields {
		hide[f] = true
	}
	return func(_ string, payload json.RawMessage) json.RawMessage {
		if len(payload) == 0 {
			return payload
		}
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber() // keep large integers exact
		var v any
		if err := dec.Decode(&v); err != nil || dec.More() {
			return json.RawMessage(`"[redacted]"`)
		}
		out, err := json.Marshal(redactValue(v, hide))
		if err != nil {
			return json.RawMessage(`"[redacted]"`)
		}
		return out
	}
}

func redactValue(v any, hide map[string]bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if hide[k] {
				t[k] = "[redacted]"
			} else {
				t[k] = redactValue(x, hide)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = redactValue(x, hide)
		}
	}
	return v
}
