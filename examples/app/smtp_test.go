package main

import (
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"
)

// smtpSink is a real SMTP server on a loopback port that counts the
// messages it accepts, keeps them, and answers 550 (no such user) to the
// recipients it was told to reject.
type smtpSink struct {
	port     string
	received atomic.Int32
	reject   []string // lower-cased

	mu   sync.Mutex
	mail []sunkMail
}

// sunkMail is a message the sink accepted.
type sunkMail struct {
	To   []string // envelope recipients
	Data string   // the message as transmitted
}

func newSMTPSink(t *testing.T, reject ...string) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{port: strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)}
	for _, r := range reject {
		s.reject = append(s.reject, strings.ToLower(r))
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "localhost"
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *smtpSink) count(*testing.T) int { return int(s.received.Load()) }

// messages returns what the sink accepted so far.
func (s *smtpSink) messages() []sunkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mail)
}

type sinkSession struct {
	s  *smtpSink
	to []string
}

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if slices.Contains(x.s.reject, strings.ToLower(to)) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.mail = append(x.s.mail, sunkMail{To: x.to, Data: string(b)})
	x.s.mu.Unlock()
	x.s.received.Add(1)
	return nil
}
func (x *sinkSession) Reset()      { x.to = nil }
func (*sinkSession) Logout() error { return nil }
