package crud

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
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

// maxCursorLen bounds the cursor text accepted.
const maxCursorLen = 2048

// cursorBody is the signed content of a cursor: the sort it belongs to and
// the last row's values of the sort keys (id last).
type cursorBody struct {
	Sort   string            `json:"s"`
	Values []json.RawMessage `json:"v"`
}

// signer signs and opens cursors with HMAC-SHA256 under one key. The
// cursor is base64url(JSON body) "." base64url(MAC).
type signer struct {
	macs sync.Pool // hash.Hash keyed with the cursor key
}

func newSigner(key []byte) *signer {
	s := &signer{}
	s.macs.New = func() any { return hmac.New(sha256.New, key) }
	return s
}

func (s *signer) mac(body []byte, dst []byte) []byte {
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
func appendField(b []byte, f *field, fv reflect.Value) ([]byte, error) {
	switch {
	case f.base == timeType:
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
	case fv.Kind() == reflect.String && f.kind == kindString:
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

// sign returns the cursor after row under the plan's sort.
func (s *signer) sign(p *plan, row reflect.Value) (string, error) {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	body := append((*bp)[:0], `{"s":"`...)
	body = p.appendSignature(body)
	body = append(body, `","v":[`...)
	for i, k := range p.sort {
		if i > 0 {
			body = append(body, ',')
		}
		var err error
		if body, err = appendField(body, k.f, row.FieldByIndex(k.f.index)); err != nil {
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
func (f *field) fromCursor(raw json.RawMessage) (any, error) {
	if len(raw) > 0 {
		switch {
		case raw[0] == '"' && f.kind == kindFloat:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || !(math.IsNaN(x) || math.IsInf(x, 0)) {
				return nil, fmt.Errorf("must be %s", f.describe())
			}
			return reflect.ValueOf(x).Convert(f.base).Interface(), nil
		case raw[0] == '{' && f.kind == kindString && f.base.Kind() == reflect.String:
			var o struct {
				B []byte `json:"b"`
			}
			if err := json.Unmarshal(raw, &o); err != nil || utf8.Valid(o.B) {
				return nil, fmt.Errorf("must be %s", f.describe())
			}
			return reflect.ValueOf(string(o.B)).Convert(f.base).Interface(), nil
		}
	}
	return f.convert(raw)
}

// open verifies a cursor and returns its raw values; any tampering,
// truncation or a different sort yields an ErrInvalidQuery.
func (s *signer) open(cursor, sortSig string, n int) ([]json.RawMessage, error) {
	bad := newError(ErrInvalidQuery, 0, "invalid query parameters",
		[]Problem{{Field: paramCursor, Reason: "invalid or tampered cursor"}}, nil)
	if len(cursor) > maxCursorLen {
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
		return nil, newError(ErrInvalidQuery, 0, "invalid query parameters",
			[]Problem{{Field: paramCursor, Reason: "cursor belongs to a different sort"}}, nil)
	}
	return cb.Values, nil
}
