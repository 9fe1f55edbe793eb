package row

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxCursorLen bounds the cursor text accepted.
const MaxCursorLen = 2048

// The errors of [Signer.Open].
var (
	// ErrBadCursor means the cursor was tampered with, truncated, signed
	// with another key or holds values the sort keys cannot take.
	ErrBadCursor = errors.New("invalid or tampered cursor")
	// ErrOtherSort means the cursor is genuine but was made for another
	// sort.
	ErrOtherSort = errors.New("cursor belongs to a different sort")
)

// Key is one sort key of a list: a column and its direction.
type Key struct {
	F    *Field
	Desc bool
}

// AppendSignature appends the sort as written in a query string ("-a,b,id"):
// the part of a query a cursor is bound to.
func AppendSignature(b []byte, keys []Key) []byte {
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		if k.Desc {
			b = append(b, '-')
		}
		b = append(b, k.F.Column...)
	}
	return b
}

// cursorBody is the signed content of a cursor: the sort it belongs to and
// the last row's values of the sort keys (id last).
type cursorBody struct {
	Sort   string            `json:"s"`
	Values []json.RawMessage `json:"v"`
}

// Signer signs and opens cursors with HMAC-SHA256 under one key. The
// cursor is base64url(JSON body) "." base64url(MAC), the body holding the
// sort signature and the last row's sort-key values. A Signer is safe for
// concurrent use.
type Signer struct {
	macs sync.Pool // hash.Hash keyed with the cursor key
}

// NewSigner returns a Signer keyed with key.
func NewSigner(key []byte) *Signer {
	s := &Signer{}
	s.macs.New = func() any { return hmac.New(sha256.New, key) }
	return s
}

func (s *Signer) mac(body []byte, dst []byte) []byte {
	h := s.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(body)
	dst = h.Sum(dst)
	s.macs.Put(h)
	return dst
}

// bufs recycles cursor bodies.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendField appends the value of a sort-key field as JSON, without
// boxing for the common kinds.
func appendField(b []byte, f *Field, fv reflect.Value) ([]byte, error) {
	switch {
	case f.Base == TimeType:
		t := fv.Interface().(time.Time).UTC().Truncate(time.Microsecond)
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	case fv.CanInt():
		return strconv.AppendInt(b, fv.Int(), 10), nil
	case fv.CanUint():
		return strconv.AppendUint(b, fv.Uint(), 10), nil
	case fv.Kind() == reflect.Bool:
		return strconv.AppendBool(b, fv.Bool()), nil
	case fv.CanFloat() && (math.IsNaN(fv.Float()) || math.IsInf(fv.Float(), 0)):
		// JSON has no NaN or infinities: they travel as strings.
		return appendJSONString(b, strconv.FormatFloat(fv.Float(), 'g', -1, 64)), nil
	case fv.Kind() == reflect.String && f.Kind == KindString:
		if !utf8.ValidString(fv.String()) {
			// A JSON string would lose the bytes that are not UTF-8 (a
			// SQLite column may hold them): they travel in base64.
			b = append(b, `{"b":"`...)
			b = base64.StdEncoding.AppendEncode(b, []byte(fv.String()))
			return append(b, `"}`...), nil
		}
		return appendJSONString(b, fv.String()), nil
	}
	j, err := json.Marshal(fv.Interface())
	return append(b, j...), err
}

// Sign returns the cursor after row (a struct value) under the sort keys.
func (s *Signer) Sign(keys []Key, row reflect.Value) (string, error) {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	body := append((*bp)[:0], `{"s":"`...)
	body = AppendSignature(body, keys)
	body = append(body, `","v":[`...)
	for i, k := range keys {
		if i > 0 {
			body = append(body, ',')
		}
		var err error
		if body, err = appendField(body, k.F, row.FieldByIndex(k.F.Index)); err != nil {
			return "", err
		}
	}
	body = append(body, "]}"...)
	var macBuf [sha256.Size]byte
	mac := s.mac(body, macBuf[:0])
	enc := base64.RawURLEncoding
	var out strings.Builder
	out.Grow(enc.EncodedLen(len(body)) + 1 + enc.EncodedLen(len(mac)))
	var chunk [255]byte // a multiple of 3 bytes encodes without padding
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 189)
		out.Write(enc.AppendEncode(chunk[:0], rest[:n]))
		rest = rest[n:]
	}
	out.WriteByte('.')
	out.Write(enc.AppendEncode(chunk[:0], mac))
	*bp = body
	return out.String(), nil
}

// fromCursor decodes one value of a cursor body into the field's type:
// the JSON [appendField] wrote, with the forms JSON lacks (non-finite
// floats as strings, non-UTF-8 text in base64).
func (f *Field) fromCursor(raw json.RawMessage) (any, error) {
	if len(raw) > 0 {
		switch {
		case raw[0] == '"' && f.Kind == KindFloat:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || !(math.IsNaN(x) || math.IsInf(x, 0)) {
				return nil, fmt.Errorf("must be %s", f.Describe())
			}
			return reflect.ValueOf(x).Convert(f.Base).Interface(), nil
		case raw[0] == '{' && f.Kind == KindString && f.Base.Kind() == reflect.String:
			var o struct {
				B []byte `json:"b"`
			}
			if err := json.Unmarshal(raw, &o); err != nil || utf8.Valid(o.B) {
				return nil, fmt.Errorf("must be %s", f.Describe())
			}
			return reflect.ValueOf(string(o.B)).Convert(f.Base).Interface(), nil
		}
	}
	return f.Convert(raw)
}

// Open verifies a cursor made by Sign under the same keys and returns the
// row position it holds, one value per key, converted to the keys' types.
// Any tampering or truncation is [ErrBadCursor]; a genuine cursor of
// another sort is [ErrOtherSort].
func (s *Signer) Open(cursor string, keys []Key) ([]any, error) {
	raws, err := s.open(cursor, string(AppendSignature(nil, keys)), len(keys))
	if err != nil {
		return nil, err
	}
	after := make([]any, len(raws))
	for i, raw := range raws {
		if after[i], err = keys[i].F.fromCursor(raw); err != nil {
			return nil, ErrBadCursor
		}
	}
	return after, nil
}

func (s *Signer) open(cursor, sortSig string, n int) ([]json.RawMessage, error) {
	bad := ErrBadCursor
	if len(cursor) > MaxCursorLen {
		return nil, bad
	}
	b64, sig64, ok := strings.Cut(cursor, ".")
	if !ok {
		return nil, bad
	}
	enc := base64.RawURLEncoding.Strict() // one text per cursor: no stray trailing bits
	body, err1 := enc.DecodeString(b64)
	sig, err2 := enc.DecodeString(sig64)
	if err1 != nil || err2 != nil {
		return nil, bad
	}
	var macBuf [sha256.Size]byte
	if !hmac.Equal(sig, s.mac(body, macBuf[:0])) {
		return nil, bad
	}
	var cb cursorBody
	if err := json.Unmarshal(body, &cb); err != nil || len(cb.Values) != n {
		return nil, bad
	}
	if cb.Sort != sortSig {
		return nil, ErrOtherSort
	}
	return cb.Values, nil
}
