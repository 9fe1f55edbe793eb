package crud

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// maxCursorLen bounds the cursor text accepted.
const maxCursorLen = 2048

// cursorBody is the signed content of a cursor: the sort it belongs to and
// the last row's values of the sort keys (id last).
type cursorBody struct {
	Sort   string            `json:"s"`
	Values []json.RawMessage `json:"v"`
}

// signCursor returns base64url(json) "." base64url(hmac-sha256).
func signCursor(key []byte, sortSig string, values []any) (string, error) {
	raws := make([]json.RawMessage, len(values))
	for i, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		raws[i] = b
	}
	body, err := json.Marshal(cursorBody{Sort: sortSig, Values: raws})
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// openCursor verifies a cursor and returns its raw values; any tampering,
// truncation or a different sort yields an ErrInvalidQuery.
func openCursor(key []byte, cursor, sortSig string, n int) ([]json.RawMessage, error) {
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
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
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
