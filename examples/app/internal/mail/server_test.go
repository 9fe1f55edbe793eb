package mail_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// This file holds a real SMTP server for the tests, built on
// github.com/emersion/go-smtp and listening on 127.0.0.1.

// received is a message as it arrived at the test server.
type received struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	User string   // authenticated user, "" if none
	TLS  bool     // whether the session was encrypted
	Data []byte   // the message as transmitted
}

// serverOptions configures startSMTP.
type serverOptions struct {
	User, Password string          // require AUTH PLAIN with these when User != ""
	TLS            *tls.Config     // offer STARTTLS (or, with Implicit, speak TLS at once)
	Implicit       bool            // SMTPS: TLS from the first byte
	RejectRcpt     bool            // answer 550 to every RCPT TO
	DeferRcpt      bool            // answer 451 (try again later) to every RCPT TO
	StallData      <-chan struct{} // block in DATA until this is closed
}

// testServer is a running SMTP server on a loopback port.
type testServer struct {
	Host string
	Port int

	mu   sync.Mutex
	msgs []received
}

// Messages returns what has arrived so far.
func (s *testServer) Messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// startSMTP starts a go-smtp server on 127.0.0.1:0 that stops when the test
// ends.
func startSMTP(tb testing.TB, opts serverOptions) *testServer {
	tb.Helper()
	ts := &testServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: ts, conn: c, opts: opts}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // PLAIN without TLS, on loopback only
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20

	var l net.Listener
	var err error
	if opts.Implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", opts.TLS)
	} else {
		srv.TLSConfig = opts.TLS
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	addr := l.Addr().(*net.TCPAddr)
	ts.Host, ts.Port = addr.IP.String(), addr.Port

	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	tb.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ts
}

type session struct {
	srv  *testServer
	conn *smtp.Conn
	opts serverOptions
	user string
	msg  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if s.opts.User == "" || user != s.opts.User || pass != s.opts.Password {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.opts.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.msg = received{From: from, User: s.user}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.opts.RejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	if s.opts.DeferRcpt {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.opts.StallData != nil {
		<-s.opts.StallData
	}
	_, s.msg.TLS = s.conn.TLSConnectionState()
	s.msg.Data = b
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.msg)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.msg = received{} }
func (s *session) Logout() error { return nil }

// selfSigned returns a server TLS config for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(tb testing.TB) (*tls.Config, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gantry test SMTP"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// parsed is a received message decoded the way a mail client shows it.
type parsed struct {
	From, To, Subject, Text, HTML string
}

// parse decodes a message: headers (RFC 2047 words decoded), and the text
// and HTML parts (quoted-printable decoded). It also returns the raw header.
func parse(tb testing.TB, raw []byte) (parsed, netmail.Header) {
	tb.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("read message: %v\n%s", err, raw)
	}
	dec := new(mime.WordDecoder)
	header := func(k string) string {
		v, err := dec.DecodeHeader(m.Header.Get(k))
		if err != nil {
			tb.Fatalf("decode %s: %v", k, err)
		}
		return v
	}
	p := parsed{From: header("From"), To: header("To"), Subject: header("Subject")}

	var walk func(contentType, encoding string, body io.Reader)
	walk = func(contentType, encoding string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			tb.Fatalf("content type %q: %v", contentType, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					tb.Fatalf("multipart: %v", err)
				}
				walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
			}
		}
		if strings.EqualFold(encoding, "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			tb.Fatalf("read part: %v", err)
		}
		// Compare bodies as a mail client shows them: LF line ends, no
		// trailing line break (the wire form ends a body with CRLF).
		text := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
		switch mt {
		case "text/plain":
			p.Text = text
		case "text/html":
			p.HTML = text
		}
	}
	walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return p, m.Header
}

// closedPort returns a loopback port nothing listens on.
func closedPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
