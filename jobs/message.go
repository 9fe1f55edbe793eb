package jobs

import (
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// State is a job's place in its life cycle.
type State string

// The states a job can be in.
const (
	StatePending   State = "pending"   // waiting in its queue
	StateScheduled State = "scheduled" // waiting for its ProcessAt time
	StateActive    State = "active"    // leased to a worker and running
	StateRetrying  State = "retrying"  // failed, waiting for its next attempt
	StateSucceeded State = "succeeded" // done; kept for its retention
	StateDead      State = "dead"      // failed for good; kept per the dead-set limits
	StateCancelled State = "cancelled" // cancelled through the Inspector
)

// finished reports whether s is a final state: succeeded, dead or cancelled.
func (s State) finished() bool {
	return s == StateSucceeded || s == StateDead || s == StateCancelled
}

// Progress is what a job reported through [Job.Progress].
type Progress struct {
	Current int64  `json:"current"`
	Total   int64  `json:"total"`
	Message string `json:"message,omitempty"`
}

// JobInfo describes a job as stored. Fields the backend does not know for the
// job's current state are zero.
type JobInfo struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	Queue      string          `json:"queue"`
	State      State           `json:"state"`
	Attempts   int             `json:"attempts"` // attempts made so far
	MaxRetry   int             `json:"max_retry"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	Progress   *Progress       `json:"progress,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	LastError  string          `json:"last_error,omitempty"`
	Errors     []AttemptError  `json:"errors,omitempty"` // failed attempts, oldest first (the last ones kept)
	Owner      string          `json:"-"`
	EnqueuedAt time.Time       `json:"enqueued_at"`
	ProcessAt  time.Time       `json:"process_at,omitzero"`  // scheduled or retrying: next run
	StartedAt  time.Time       `json:"started_at,omitzero"`  // last attempt's start (memory backend only)
	FinishedAt time.Time       `json:"finished_at,omitzero"` // succeeded, dead or cancelled
}

// message is the queued form of a job: what a worker needs to run it.
// Encoding: id, retried, max retry, timeout ms, retention ms, enqueued ms,
// kind, then headers if any, then payload, separated by 0x1f (which JSON
// never contains unescaped, nor URL-encoded headers): 8 fields without
// headers (the format before headers existed), 9 with them.
type message struct {
	ID          string
	Retried     int // attempts already used up
	MaxRetry    int
	TimeoutMs   int64
	RetentionMs int64
	EnqueuedMs  int64
	Kind        string
	Headers     string // URL-encoded key=value pairs (ClientConfig.Headers); "" for none
	Payload     []byte
}

const sep = "\x1f"

func (m *message) encode() string {
	var b strings.Builder
	b.Grow(len(m.ID) + len(m.Kind) + len(m.Payload) + 48)
	b.WriteString(m.ID)
	b.WriteString(sep)
	b.WriteString(strconv.Itoa(m.Retried))
	b.WriteString(sep)
	b.WriteString(strconv.Itoa(m.MaxRetry))
	b.WriteString(sep)
	b.WriteString(strconv.FormatInt(m.TimeoutMs, 10))
	b.WriteString(sep)
	b.WriteString(strconv.FormatInt(m.RetentionMs, 10))
	b.WriteString(sep)
	b.WriteString(strconv.FormatInt(m.EnqueuedMs, 10))
	b.WriteString(sep)
	b.WriteString(m.Kind)
	b.WriteString(sep)
	if m.Headers != "" {
		b.WriteString(m.Headers)
		b.WriteString(sep)
	}
	b.Write(m.Payload)
	return b.String()
}

var errBadMessage = errors.New("jobs: malformed queue entry")

func decodeMessage(s string) (*message, error) {
	f := strings.SplitN(s, sep, 9)
	if len(f) < 8 || f[0] == "" {
		return nil, errBadMessage
	}
	m := &message{ID: f[0], Kind: f[6], Payload: []byte(f[7])}
	if len(f) == 9 {
		if f[7] == "" {
			return nil, errBadMessage // headers are never stored empty
		}
		m.Headers, m.Payload = f[7], []byte(f[8])
	}
	var err error
	var errs [5]error
	m.Retried, errs[0] = strconv.Atoi(f[1])
	m.MaxRetry, errs[1] = strconv.Atoi(f[2])
	m.TimeoutMs, errs[2] = strconv.ParseInt(f[3], 10, 64)
	m.RetentionMs, errs[3] = strconv.ParseInt(f[4], 10, 64)
	m.EnqueuedMs, errs[4] = strconv.ParseInt(f[5], 10, 64)
	if err = errors.Join(errs[:]...); err != nil {
		return nil, errBadMessage
	}
	return m, nil
}

// parseHeaders decodes a message's headers (nil for none).
func parseHeaders(s string) map[string]string {
	if s == "" {
		return nil
	}
	vs, err := url.ParseQuery(s)
	if err != nil {
		return nil
	}
	out := make(map[string]string, len(vs))
	for k, v := range vs {
		out[k] = v[0]
	}
	return out
}

// messageID returns the id of an encoded message, even a malformed one.
func messageID(s string) string {
	id, _, _ := strings.Cut(s, sep)
	return id
}

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newID returns a 20-character random id (a 32-bit time prefix keeps ids of
// one second near each other; 64 random bits make collisions negligible).
func newID() string {
	var b [12]byte
	t := uint32(time.Now().Unix())
	binary.BigEndian.PutUint32(b[:4], t)
	binary.BigEndian.PutUint64(b[4:], rand.Uint64()) // uniqueness, not secrecy
	return idEncoding.EncodeToString(b[:])
}

func msToTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
