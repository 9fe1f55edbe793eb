package jobs

import (
	"bytes"
	"math"
	"net/url"
	"strings"
	"testing"
)

func sameMessage(a, b *message) bool {
	return a.ID == b.ID && a.Retried == b.Retried && a.MaxRetry == b.MaxRetry && a.TimeoutMs == b.TimeoutMs &&
		a.RetentionMs == b.RetentionMs && a.EnqueuedMs == b.EnqueuedMs && a.Kind == b.Kind && a.Headers == b.Headers && bytes.Equal(a.Payload, b.Payload)
}

// FuzzDecodeMessage feeds arbitrary stored queue entries to the decoder and
// to what reads and rewrites entries without decoding them: no input
// panics; whatever decodes re-encodes to an entry that decodes to the same
// message; bumpRetried counts exactly one more attempt and changes nothing
// else; messageID agrees with the decoder.
func FuzzDecodeMessage(f *testing.F) {
	m := &message{ID: "dcb22hfv0fhtqh2s66o0", Retried: 1, MaxRetry: 25, TimeoutMs: 30000, RetentionMs: 3600000,
		EnqueuedMs: 1796613600000, Kind: "email", Payload: []byte(`{"to":"a@example.com"}`)}
	f.Add(m.encode())
	f.Add("x\x1f0\x1f0\x1f0\x1f0\x1f0\x1f\x1f")
	f.Add("x\x1f+1\x1f-0\x1f007\x1f0\x1f0\x1fk\x1fpay\x1fload with \x1f inside")
	f.Add("x\x1f9223372036854775807\x1f0\x1f0\x1f0\x1f0\x1fk\x1f{}")
	f.Add("\x1f0\x1f0\x1f0\x1f0\x1f0\x1fk\x1f{}")
	f.Add("x\x1f0\x1f0")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := decodeMessage(s)
		id := messageID(s)
		bumped := bumpRetried(s)
		if err != nil {
			return
		}
		if id != m.ID {
			t.Fatalf("messageID(%q) = %q; decoder says %q", s, id, m.ID)
		}
		again, err := decodeMessage(m.encode())
		if err != nil || !sameMessage(m, again) {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", m, again, err)
		}
		b, err := decodeMessage(bumped)
		if err != nil {
			t.Fatalf("bumpRetried(%q) = %q: %v", s, bumped, err)
		}
		want := *m
		if m.Retried == math.MaxInt {
			return // overflows; no real message gets there
		}
		want.Retried++
		if !sameMessage(&want, b) {
			t.Fatalf("bumpRetried(%q) decodes to %+v; want %+v", s, b, want)
		}
	})
}

// FuzzMessageRoundTrip builds messages from arbitrary fields: every message
// a client can build (non-empty id and kind free of the 0x1f separator;
// JSON payloads never contain it unescaped, but any payload must survive)
// decodes back to itself.
func FuzzMessageRoundTrip(f *testing.F) {
	f.Add("dcb22hfv0fhtqh2s66o0", 0, 25, int64(0), int64(3600000), int64(1796613600000), "email", []byte(`{"n":1}`))
	f.Add("x", -1, math.MaxInt, int64(math.MinInt64), int64(math.MaxInt64), int64(-1), "", []byte("\x1f\x1f"))
	f.Fuzz(func(t *testing.T, id string, retried, maxRetry int, timeout, retention, enqueued int64, kind string, payload []byte) {
		if id == "" || strings.Contains(id, sep) || strings.Contains(kind, sep) || bytes.Contains(payload, []byte(sep)) {
			t.Skip("not a message a client builds (a payload is JSON: never a raw 0x1f)")
		}
		m := &message{ID: id, Retried: retried, MaxRetry: maxRetry, TimeoutMs: timeout, RetentionMs: retention,
			EnqueuedMs: enqueued, Kind: kind, Payload: payload}
		got, err := decodeMessage(m.encode())
		if err != nil || !sameMessage(m, got) {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", m, got, err)
		}
		// The same with headers, as ClientConfig.Headers stores them (URL
		// encoding keeps 0x1f out); an old reader's 8 fields still see the
		// kind and everything before it.
		m.Headers = url.Values{"traceparent": {kind + id}}.Encode()
		got, err = decodeMessage(m.encode())
		if err != nil || !sameMessage(m, got) {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", m, got, err)
		}
		if messageID(m.encode()) != id {
			t.Fatalf("messageID of a message with headers = %q; want %q", messageID(m.encode()), id)
		}
	})
}

// FuzzParseJob feeds arbitrary stored job records and queue data to the
// Redis backend's parser: it never panics, and a finished record it accepts
// reports a finished state.
func FuzzParseJob(f *testing.F) {
	f.Add("ok\x1f1\x1f1796613600000\x1femail\x1f1796613600000\x1falice\x1f1\x1f2\x1fhalf\x1f\x1f{\"a\":1}", "email\x1f1796613600000\x1falice", "tok\x1fx\x1f0")
	f.Add("dead\x1f4\x1f1\x1fk\x1f1\x1f\x1f\x1f\x1f\x1fboom\x1fx\x1f0\x1f0\x1f0\x1f0\x1f0\x1fk\x1f{}", "k\x1f1", "")
	f.Add("c\x1f0\x1f1\x1fk\x1f1\x1fo\x1f\x1f\x1f\x1f\x1f", "", "no separator")
	f.Fuzz(func(t *testing.T, rec, meta, lease string) {
		if info := parseJob("q", "id", []any{"f", rec}); info != nil && !info.State.finished() {
			t.Fatalf("finished record %q parsed as %s", rec, info.State)
		}
		h := []any{"a", rec, "e", meta, "pc", lease, "pt"} // odd length on purpose
		for _, res := range [][]any{
			{"u", meta, h, lease, nil, nil, nil},
			{"u", meta, h, nil, "12.5", nil, rec},
			{"u", meta, nil, nil, nil, int64(3), rec},
			{"u", meta},
			{"f", rec, meta},
		} {
			parseJob("q", "id", res)
		}
	})
}
