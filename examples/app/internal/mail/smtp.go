package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLSPolicy says how [SMTP] protects its connection. See the package
// documentation for the reasoning.
type TLSPolicy int

const (
	// TLSAuto, the zero value, requires STARTTLS unless the host is a
	// loopback address, where STARTTLS is used when offered.
	TLSAuto TLSPolicy = iota
	// TLSRequired requires STARTTLS with a verified certificate.
	TLSRequired
	// TLSImplicit connects with TLS from the start (SMTPS, port 465).
	TLSImplicit
	// TLSDisabled never uses TLS. Use it only for a trusted relay.
	TLSDisabled
)

// String returns the policy's name, e.g. "auto".
func (p TLSPolicy) String() string {
	switch p {
	case TLSAuto:
		return "auto"
	case TLSRequired:
		return "required"
	case TLSImplicit:
		return "implicit"
	case TLSDisabled:
		return "disabled"
	}
	return "TLSPolicy(" + strconv.Itoa(int(p)) + ")"
}

// SMTPConfig configures an [SMTP] sender. Host and From are required; the
// zero value of every other field is a sensible default.
type SMTPConfig struct {
	// Host is the SMTP server's host name or IP address.
	Host string
	// Port is the server's port. Default 587 (submission), or 465 with
	// [TLSImplicit].
	Port int
	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN.
	Username string
	Password string
	// From is the sender address of messages whose From is empty, e.g.
	// "Gantry <noreply@example.com>".
	From string
	// TLS is the TLS policy. Default [TLSAuto].
	TLS TLSPolicy
	// TLSConfig, if set, is used for STARTTLS and implicit TLS (e.g. to
	// trust a private CA). Its ServerName defaults to Host. Default:
	// system roots, TLS 1.2 or later.
	TLSConfig *tls.Config
	// Timeout bounds the dial and each SMTP command. Default 15s.
	Timeout time.Duration
	// Logger receives a debug line per message sent. Default
	// slog.Default().
	Logger *slog.Logger
}

// SMTP is a [Sender] that delivers through an SMTP server, opening one
// connection per Send. Create it with [NewSMTP]; it is safe for concurrent
// use and holds no connection between calls, so it needs no Close.
type SMTP struct {
	cfg    SMTPConfig
	policy gomail.TLSPolicy
	log    *slog.Logger
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns an SMTP sender, or an error if cfg is invalid. It does
// not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
	}
	if cfg.TLSConfig.ServerName == "" {
		cfg.TLSConfig.ServerName = cfg.Host
	}

	var errs []error
	if cfg.Host == "" {
		errs = append(errs, errors.New("missing Host"))
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", cfg.Port))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("negative Timeout %v", cfg.Timeout))
	}
	if cfg.From == "" {
		errs = append(errs, errors.New("missing From"))
	} else if err := checkAddress("from", cfg.From); err != nil {
		errs = append(errs, fmt.Errorf("bad From: %w", err))
	}
	if cfg.TLS < TLSAuto || cfg.TLS > TLSDisabled {
		errs = append(errs, fmt.Errorf("unknown TLS policy %d", int(cfg.TLS)))
	}
	if cfg.TLS == TLSDisabled && cfg.Username != "" && !isLoopback(cfg.Host) {
		errs = append(errs, fmt.Errorf("credentials with TLSDisabled for %s would cross the network in clear", cfg.Host))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("mail: invalid SMTP config: %w", err)
	}

	s := &SMTP{cfg: cfg, log: cfg.Logger.With("component", "mail")}
	switch {
	case cfg.TLS == TLSDisabled:
		s.policy = gomail.NoTLS
	case cfg.TLS == TLSAuto && isLoopback(cfg.Host):
		s.policy = gomail.TLSOpportunistic
	default:
		s.policy = gomail.TLSMandatory
	}
	return s, nil
}

// Send implements [Sender]. It validates msg, connects, upgrades with
// STARTTLS as the policy says, authenticates if configured and delivers
// msg. When ctx is done mid-conversation, the connection is closed and
// Send returns ctx's error.
func (s *SMTP) Send(ctx context.Context, msg Message) error {
	m, err := build(msg, s.cfg.From)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// Close the connection as soon as ctx is done: go-mail watches ctx only
	// while dialling. Dial runs on this goroutine, so stop needs no lock.
	stop := func() bool { return false }
	defer func() { stop() }()
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if s.cfg.TLS == TLSImplicit {
			d := tls.Dialer{Config: s.cfg.TLSConfig}
			conn, err = d.DialContext(dialCtx, network, addr)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		stop = context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}

	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSPolicy(s.policy),
		gomail.WithTLSConfig(s.cfg.TLSConfig),
		gomail.WithDialContextFunc(dial),
		gomail.WithSMTPAuth(gomail.SMTPAuthNoAuth),
	}
	if s.cfg.TLS == TLSImplicit {
		opts = append(opts, gomail.WithSSL())
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}

	start := time.Now()
	if err := client.DialAndSendWithContext(ctx, m); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("mail: send via %s: %w", s.addr(), ctxErr)
		}
		return fmt.Errorf("mail: send via %s: %w", s.addr(), err)
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "mail sent",
		slog.Int("recipients", len(msg.To)), slog.Duration("took", time.Since(start)))
	return nil
}

func (s *SMTP) addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
