package mail_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/mail"
)

// Permanent tells a failure no retry can fix from one that may pass later,
// judged on what real SMTP conversations return.
func TestPermanent(t *testing.T) {
	t.Parallel()
	msg := mail.Message{To: []string{"someone@example.com"}, Subject: "Hi", Text: "Hello"}
	// send sends m to a test server with opts, or with no server when
	// nothing should connect (an invalid message or a context already done;
	// the port is closed, so a connection would fail otherwise).
	send := func(t *testing.T, opts *serverOptions, ctx context.Context, m mail.Message) error {
		t.Helper()
		if opts == nil {
			return newSMTP(t, nil, mail.SMTPConfig{Host: "127.0.0.1", Port: closedPort(t)}).Send(ctx, m)
		}
		return newSMTP(t, startSMTP(t, *opts), mail.SMTPConfig{}).Send(ctx, m)
	}
	expired, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-expired.Done()
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want bool
	}{
		{"recipient rejected (550)", func(t *testing.T) error {
			return send(t, &serverOptions{RejectRcpt: true}, t.Context(), msg)
		}, true},
		{"recipient deferred (451)", func(t *testing.T) error {
			return send(t, &serverOptions{DeferRcpt: true}, t.Context(), msg)
		}, false},
		{"invalid message", func(t *testing.T) error {
			return send(t, nil, t.Context(), mail.Message{To: []string{"a@example.com\r\nBcc: b@example.com"}, Subject: "x", Text: "x"})
		}, true},
		{"connection refused", func(t *testing.T) error {
			return send(t, nil, t.Context(), msg)
		}, false},
		{"context done", func(t *testing.T) error {
			return send(t, nil, expired, msg)
		}, false},
		{"wrapped invalid message", func(*testing.T) error { return fmt.Errorf("job: %w", mail.ErrHeaderInjection) }, true},
		{"other error", func(*testing.T) error { return errors.New("disk full") }, false},
		{"nil", func(*testing.T) error { return nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.err(t)
			if tt.name != "nil" && err == nil {
				t.Fatal("Send succeeded; the case needs a failure")
			}
			if got := mail.Permanent(err); got != tt.want {
				t.Errorf("Permanent(%v) = %v; want %v", err, got, tt.want)
			}
		})
	}
}
