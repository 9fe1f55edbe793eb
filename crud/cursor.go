package crud

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
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

// appendJSON appends v as JSON, without reflection for the common kinds.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case time.Time:
		b = append(b, '"')
		b = x.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// sign returns the cursor of the values under the sort signature.
func (s *signer) sign(sortSig string, values []any) (string, error) {
	body := make([]byte, 0, 64+len(sortSig))
	body = append(body, `{"s":`...)
	body = strconv.AppendQuote(body, sortSig) // sort signatures are plain identifiers
	body = append(body, `,"v":[`...)
	for i, v := range values {
		if i > 0 {
			body = append(body, ',')
		}
		var err error
		if body, err = appendJSON(body, v); err != nil {
			return "", err
		}
	}
	body = append(body, "]}"...)
	var macBuf [sha256.Size]byte
	mac := s.mac(body, macBuf[:0])
	enc := base64.RawURLEncoding
	out := make([]byte, 0, enc.EncodedLen(len(body))+1+enc.EncodedLen(len(mac)))
	out = enc.AppendEncode(out, body)
	out = append(out, '.')
	out = enc.AppendEncode(out, mac)
	return string(out), nil
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
	enc := base64.RawURLEncoding
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
