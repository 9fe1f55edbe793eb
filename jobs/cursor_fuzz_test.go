package jobs

import (
	"errors"
	"testing"
)

// FuzzDecodeCursor: any string is either refused with ErrInvalidCursor or
// decodes to a cursor for the options given, which encodes back to a
// cursor that decodes to the same.
func FuzzDecodeCursor(f *testing.F) {
	f.Add((&listCursor{V: 1, S: StateDead, O: NewestFirst, I: "abc", C: 1765000000000}).encode(), "dead", "newest", "")
	f.Add((&listCursor{V: 1, S: StatePending, O: OldestFirst, K: "email", I: "x", P: 42}).encode(), "pending", "oldest", "email")
	f.Add("", "pending", "oldest", "")
	f.Add("e30", "pending", "oldest", "")
	f.Fuzz(func(t *testing.T, s, state, order, kind string) {
		c, err := decodeCursor(s, State(state), Order(order), kind)
		if err != nil {
			if !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("decodeCursor(%q) = %v; want ErrInvalidCursor", s, err)
			}
			return
		}
		if c == nil {
			if s != "" {
				t.Fatalf("decodeCursor(%q) = nil, nil; want a cursor or an error", s)
			}
			return
		}
		if c.S != State(state) || c.O != Order(order) || c.K != kind || c.I == "" || c.P < 0 || c.C < 0 {
			t.Fatalf("decodeCursor(%q) = %+v: not for the options given", s, c)
		}
		c2, err := decodeCursor(c.encode(), State(state), Order(order), kind)
		if err != nil || *c2 != *c {
			t.Fatalf("round trip of %+v: %+v, %v", c, c2, err)
		}
	})
}
