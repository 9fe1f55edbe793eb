// Package mail sends the example app's email: a [Sender] interface, an SMTP
// implementation ([SMTP]) on github.com/wneessen/go-mail, and a development
// [Outbox] that writes each message to a directory instead of sending it.
//
// # Senders
//
// Jobs and handlers depend on [Sender]; main picks the implementation:
//
//	var sender mail.Sender
//	if settings.SMTPHost != "" {
//		sender, err = mail.NewSMTP(mail.SMTPConfig{
//			Host: settings.SMTPHost, Port: settings.SMTPPort,
//			Username: settings.SMTPUser, Password: settings.SMTPPassword,
//			From: settings.EmailFrom,
//		})
//	} else {
//		sender, err = mail.NewOutbox(mail.OutboxConfig{Dir: "data/outbox", From: "app@localhost", Logger: logger})
//	}
//
// A [Message] has a sender (optional: the configured From), recipients, a
// subject, a plain-text body and an optional HTML alternative. Both
// senders produce the same MIME message (UTF-8, quoted-printable,
// multipart/alternative when there is HTML).
//
// # TLS policy
//
// [SMTPConfig.TLS] chooses how the connection is protected. The default,
// [TLSAuto], requires STARTTLS, with a verified certificate, for every host
// except a loopback one (localhost, 127.0.0.0/8, ::1), where STARTTLS is
// used if the server offers it. A server that does not offer STARTTLS is
// refused rather than spoken to in clear, so a man in the middle cannot
// downgrade the connection. [TLSRequired] requires STARTTLS everywhere,
// [TLSImplicit] speaks TLS from the first byte (SMTPS, port 465), and
// [TLSDisabled] is the explicit opt-out for a trusted relay such as a
// local Mailpit; with it, [NewSMTP] refuses credentials for a host that is
// not loopback, since they would cross the network in clear.
//
// With a Username, [SMTP] authenticates with AUTH PLAIN, which go-mail
// allows only over TLS or to a loopback host.
//
// # Header injection
//
// [Message.Validate], which both senders call first, refuses a CR or LF in
// the sender, a recipient or the subject, so a subject like
// "hi\r\nBcc: victim@example.com" cannot add a header. It also parses every
// address (RFC 5322) and requires at least one recipient and a text body.
// Handlers should call it before queueing a job, so the client gets the 422
// at once rather than a failed job later.
//
// # Errors
//
// An invalid message is an [*Error] (HTTP 422, type "validation_error",
// with the field in its details) wrapping [ErrInvalidMessage], or
// [ErrHeaderInjection], which itself wraps [ErrInvalidMessage]. Delivery
// failures (connection refused, TLS, authentication, a rejected
// recipient) are wrapped with %w and render as 500; a job retries them.
//
// # Cancellation
//
// [SMTP.Send] honours its context during the whole conversation, not only
// while dialling: when ctx is done the connection is closed and Send
// returns. [SMTPConfig.Timeout] bounds the dial and each command.
package mail
