package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/mail"
)

// newSMTP returns a sender for the test server with cfg's other fields.
func newSMTP(tb testing.TB, srv *testServer, cfg mail.SMTPConfig) *mail.SMTP {
	tb.Helper()
	if srv != nil {
		cfg.Host, cfg.Port = srv.Host, srv.Port
	}
	if cfg.From == "" {
		cfg.From = "Gantry <noreply@example.com>"
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		tb.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func TestSMTPSend(t *testing.T) {
	tests := []struct {
		name     string
		msg      mail.Message
		wantFrom string // envelope sender
		want     parsed
	}{
		{
			name:     "plain text",
			msg:      mail.Message{To: []string{"alice@example.com"}, Subject: "Welcome", Text: "Hello Alice,\nwelcome aboard.\n"},
			wantFrom: "noreply@example.com",
			want:     parsed{From: `"Gantry" <noreply@example.com>`, To: "<alice@example.com>", Subject: "Welcome", Text: "Hello Alice,\nwelcome aboard."},
		},
		{
			name: "with HTML",
			msg: mail.Message{To: []string{"bob@example.com"}, Subject: "Report ready", Text: "Your report is ready.",
				HTML: "<p>Your report is <b>ready</b>.</p>"},
			wantFrom: "noreply@example.com",
			want: parsed{From: `"Gantry" <noreply@example.com>`, To: "<bob@example.com>", Subject: "Report ready",
				Text: "Your report is ready.", HTML: "<p>Your report is <b>ready</b>.</p>"},
		},
		{
			name:     "own sender, several recipients, non-ASCII subject",
			msg:      mail.Message{From: "ops@example.org", To: []string{"a@example.com", "Bé <b@example.com>"}, Subject: "こんにちは ✓", Text: "naïve café"},
			wantFrom: "ops@example.org",
			want:     parsed{From: "<ops@example.org>", To: "<a@example.com>, Bé <b@example.com>", Subject: "こんにちは ✓", Text: "naïve café"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, serverOptions{})
			s := newSMTP(t, srv, mail.SMTPConfig{})
			if err := s.Send(t.Context(), tt.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages; want 1", len(msgs))
			}
			got := msgs[0]
			wantTo := make([]string, len(tt.msg.To))
			for i, to := range tt.msg.To {
				wantTo[i] = to[strings.LastIndex(to, "<")+1:]
				wantTo[i] = strings.TrimSuffix(wantTo[i], ">")
			}
			if got.From != tt.wantFrom || !slices.Equal(got.To, wantTo) {
				t.Errorf("envelope = %s -> %v; want %s -> %v", got.From, got.To, tt.wantFrom, wantTo)
			}
			p, h := parse(t, got.Data)
			if p != tt.want {
				t.Errorf("message =\n%+v\nwant\n%+v", p, tt.want)
			}
			if h.Get("Message-Id") == "" || h.Get("Date") == "" || h.Get("User-Agent") != "" || h.Get("X-Mailer") != "" {
				t.Errorf("headers: Message-Id %q, Date %q, User-Agent %q, X-Mailer %q; want an id and a date and no mailer",
					h.Get("Message-Id"), h.Get("Date"), h.Get("User-Agent"), h.Get("X-Mailer"))
			}
		})
	}
}

func TestSMTPAuth(t *testing.T) {
	tests := []struct {
		name           string
		user, password string
		wantErr        bool
	}{
		{name: "right password", user: "mailer", password: "s3cret"},
		{name: "wrong password", user: "mailer", password: "guess", wantErr: true},
		{name: "no credentials", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, serverOptions{User: "mailer", Password: "s3cret"})
			s := newSMTP(t, srv, mail.SMTPConfig{Username: tt.user, Password: tt.password})
			err := s.Send(t.Context(), mail.Message{To: []string{"a@example.com"}, Subject: "hi", Text: "hi"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send err = %v; want error %v", err, tt.wantErr)
			}
			msgs := srv.Messages()
			if tt.wantErr {
				if len(msgs) != 0 {
					t.Errorf("server received %d messages after a failed login", len(msgs))
				}
				return
			}
			if len(msgs) != 1 || msgs[0].User != "mailer" {
				t.Errorf("received %+v; want one message from authenticated user mailer", msgs)
			}
		})
	}
}

func TestSMTPTLS(t *testing.T) {
	serverTLS, pool := selfSigned(t)
	_, otherPool := selfSigned(t)
	trust := &tls.Config{RootCAs: pool}

	tests := []struct {
		name     string
		server   serverOptions
		cfg      mail.SMTPConfig
		wantErr  bool
		wantTLS  bool
		wantUser string
	}{
		{name: "auto on loopback: STARTTLS when offered", server: serverOptions{TLS: serverTLS}, cfg: mail.SMTPConfig{TLSConfig: trust}, wantTLS: true},
		{name: "auto on loopback: clear when not offered", server: serverOptions{}, cfg: mail.SMTPConfig{}, wantTLS: false},
		{name: "required", server: serverOptions{TLS: serverTLS}, cfg: mail.SMTPConfig{TLS: mail.TLSRequired, TLSConfig: trust}, wantTLS: true},
		{name: "required with AUTH", server: serverOptions{TLS: serverTLS, User: "u", Password: "p"},
			cfg: mail.SMTPConfig{TLS: mail.TLSRequired, TLSConfig: trust, Username: "u", Password: "p"}, wantTLS: true, wantUser: "u"},
		{name: "required but not offered", server: serverOptions{}, cfg: mail.SMTPConfig{TLS: mail.TLSRequired}, wantErr: true},
		{name: "required, untrusted certificate", server: serverOptions{TLS: serverTLS}, cfg: mail.SMTPConfig{TLS: mail.TLSRequired, TLSConfig: &tls.Config{RootCAs: otherPool}}, wantErr: true},
		{name: "implicit", server: serverOptions{TLS: serverTLS, Implicit: true}, cfg: mail.SMTPConfig{TLS: mail.TLSImplicit, TLSConfig: trust}, wantTLS: true},
		{name: "disabled ignores STARTTLS", server: serverOptions{TLS: serverTLS}, cfg: mail.SMTPConfig{TLS: mail.TLSDisabled}, wantTLS: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, tt.server)
			s := newSMTP(t, srv, tt.cfg)
			err := s.Send(t.Context(), mail.Message{To: []string{"a@example.com"}, Subject: "tls", Text: "body"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send err = %v; want error %v", err, tt.wantErr)
			}
			msgs := srv.Messages()
			if tt.wantErr {
				if len(msgs) != 0 {
					t.Errorf("server received %d messages; want none", len(msgs))
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages; want 1", len(msgs))
			}
			if got := msgs[0]; got.TLS != tt.wantTLS || got.User != tt.wantUser {
				t.Errorf("received with TLS %v, user %q; want TLS %v, user %q", got.TLS, got.User, tt.wantTLS, tt.wantUser)
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		s := newSMTP(t, nil, mail.SMTPConfig{Host: "127.0.0.1", Port: closedPort(t)})
		start := time.Now()
		err := s.Send(t.Context(), mail.Message{To: []string{"a@example.com"}, Subject: "x", Text: "x"})
		if err == nil || !strings.HasPrefix(err.Error(), "mail: send via 127.0.0.1:") {
			t.Errorf("Send err = %v; want a wrapped dial error", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Send took %v; want a prompt failure", took)
		}
	})
	t.Run("recipient rejected", func(t *testing.T) {
		srv := startSMTP(t, serverOptions{RejectRcpt: true})
		s := newSMTP(t, srv, mail.SMTPConfig{})
		err := s.Send(t.Context(), mail.Message{To: []string{"nobody@example.com"}, Subject: "x", Text: "x"})
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Errorf("Send err = %v; want the server's 550", err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("server received %d messages; want 0", n)
		}
	})
	t.Run("context ends mid-conversation", func(t *testing.T) {
		stall := make(chan struct{})
		defer close(stall)
		srv := startSMTP(t, serverOptions{StallData: stall})
		s := newSMTP(t, srv, mail.SMTPConfig{Timeout: time.Minute})
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.Send(ctx, mail.Message{To: []string{"a@example.com"}, Subject: "x", Text: "x"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send err = %v; want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Send took %v after its context ended; want it to return promptly", took)
		}
	})
	t.Run("invalid message never connects", func(t *testing.T) {
		s := newSMTP(t, nil, mail.SMTPConfig{Host: "127.0.0.1", Port: closedPort(t)})
		err := s.Send(t.Context(), mail.Message{To: []string{"a@example.com"}, Subject: "x\r\nBcc: victim@example.com", Text: "x"})
		if !errors.Is(err, mail.ErrHeaderInjection) {
			t.Errorf("Send err = %v; want ErrHeaderInjection", err)
		}
	})
}

func TestNewSMTPInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  mail.SMTPConfig
	}{
		{name: "no host", cfg: mail.SMTPConfig{From: "a@example.com"}},
		{name: "no from", cfg: mail.SMTPConfig{Host: "smtp.example.com"}},
		{name: "bad from", cfg: mail.SMTPConfig{Host: "smtp.example.com", From: "not an address"}},
		{name: "from with line break", cfg: mail.SMTPConfig{Host: "smtp.example.com", From: "a@example.com\r\nBcc: x@example.com"}},
		{name: "bad port", cfg: mail.SMTPConfig{Host: "smtp.example.com", From: "a@example.com", Port: 70000}},
		{name: "unknown policy", cfg: mail.SMTPConfig{Host: "smtp.example.com", From: "a@example.com", TLS: 42}},
		{name: "credentials in clear over the network", cfg: mail.SMTPConfig{Host: "smtp.example.com", From: "a@example.com", TLS: mail.TLSDisabled, Username: "u", Password: "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mail.NewSMTP(tt.cfg); err == nil {
				t.Errorf("NewSMTP(%+v) succeeded; want an error", tt.cfg)
			}
		})
	}
	ok := mail.SMTPConfig{Host: "localhost", From: "a@example.com", TLS: mail.TLSDisabled, Username: "u", Password: "p"}
	if _, err := mail.NewSMTP(ok); err != nil {
		t.Errorf("NewSMTP(credentials in clear on loopback) = %v; want it allowed", err)
	}
}
