package mail

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	netmail "net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/gantry-dev/gantry/apierror"
)

// MaxRecipients is the most addresses a [Message] may have in To.
const MaxRecipients = 100

// maxSubjectLen is the longest subject accepted, in bytes: the line length
// limit of RFC 5322.
const maxSubjectLen = 998

// Sentinel errors. [Message.Validate] returns them inside an [*Error].
var (
	// ErrInvalidMessage means a message cannot be sent as written.
	ErrInvalidMessage = errors.New("mail: invalid message")
	// ErrHeaderInjection means a header field (sender, recipient or
	// subject) contains a CR or LF. It wraps [ErrInvalidMessage].
	ErrHeaderInjection = fmt.Errorf("%w: line break in a header field", ErrInvalidMessage)
)

// Sender sends email. Implementations are safe for concurrent use.
type Sender interface {
	// Send delivers msg or returns why it could not. It returns an
	// [*Error] wrapping [ErrInvalidMessage] if msg is invalid (see
	// [Message.Validate]), without contacting anything.
	Send(ctx context.Context, msg Message) error
}

// SenderFunc adapts a function to a [Sender]; tests use it to record what
// would be sent.
type SenderFunc func(ctx context.Context, msg Message) error

// Send calls f(ctx, msg).
func (f SenderFunc) Send(ctx context.Context, msg Message) error { return f(ctx, msg) }

// Message is an email. From and HTML are optional.
type Message struct {
	// From is the sender's address, e.g. "Gantry <noreply@example.com>".
	// Empty means the sender's configured From.
	From string
	// To lists the recipients; at least one, at most [MaxRecipients].
	To []string
	// Subject is the subject line, without line breaks.
	Subject string
	// Text is the plain-text body; required.
	Text string
	// HTML is an optional HTML alternative of Text.
	HTML string
}

// Error reports an invalid [Message]. It implements the methods the
// server's error handler looks for: HTTP status 422, type
// "validation_error", and the field in the details.
type Error struct {
	// Field names the offending field: "from", "to", "subject" or "text".
	Field string
	// Message says what is wrong with it, safe to show to the client.
	Message string
	// Err is [ErrInvalidMessage] or [ErrHeaderInjection].
	Err error
}

// Error returns "mail: invalid message: <field>: <message>".
func (e *Error) Error() string { return "mail: invalid message: " + e.Field + ": " + e.Message }

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns 422.
func (e *Error) HTTPStatus() int { return http.StatusUnprocessableEntity }

// ErrorType returns "validation_error".
func (e *Error) ErrorType() string { return "validation_error" }

// PublicMessage returns "<field>: <message>", safe to show to the client.
func (e *Error) PublicMessage() string { return e.Field + ": " + e.Message }

// ErrorDetails returns one [apierror.FieldError] with the rule
// "header_injection" for [ErrHeaderInjection], else "invalid".
func (e *Error) ErrorDetails() any {
	rule := "invalid"
	if errors.Is(e.Err, ErrHeaderInjection) {
		rule = "header_injection"
	}
	return []apierror.FieldError{{Field: e.Field, Rule: rule, Message: e.Message}}
}

// Validate reports whether the message can be sent: every address parses
// (RFC 5322, with or without a display name), there are 1 to
// [MaxRecipients] recipients, the subject is at most 998 bytes, there is a
// text body, and no header field holds a CR or LF ([ErrHeaderInjection]).
// An empty From is valid: senders fill it in.
func (m Message) Validate() error {
	if m.From != "" {
		if err := checkAddress("from", m.From); err != nil {
			return err
		}
	}
	if len(m.To) == 0 {
		return invalid("to", "at least one recipient is required")
	}
	if len(m.To) > MaxRecipients {
		return invalid("to", fmt.Sprintf("at most %d recipients are allowed", MaxRecipients))
	}
	for _, to := range m.To {
		if err := checkAddress("to", to); err != nil {
			return err
		}
	}
	if hasLineBreak(m.Subject) {
		return &Error{Field: "subject", Message: "must not contain line breaks", Err: ErrHeaderInjection}
	}
	if len(m.Subject) > maxSubjectLen {
		return invalid("subject", fmt.Sprintf("must be at most %d bytes", maxSubjectLen))
	}
	if strings.TrimSpace(m.Text) == "" {
		return invalid("text", "a plain-text body is required")
	}
	return nil
}

func checkAddress(field, addr string) error {
	if hasLineBreak(addr) {
		return &Error{Field: field, Message: "must not contain line breaks", Err: ErrHeaderInjection}
	}
	if _, err := netmail.ParseAddress(addr); err != nil {
		return invalid(field, fmt.Sprintf("%q is not a valid email address", addr))
	}
	return nil
}

func invalid(field, msg string) *Error {
	return &Error{Field: field, Message: msg, Err: ErrInvalidMessage}
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// build validates m and turns it into a go-mail message, with from as the
// sender when m.From is empty.
func build(m Message, from string) (*gomail.Msg, error) {
	if m.From == "" {
		m.From = from
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, invalid("from", err.Error())
	}
	if err := msg.To(m.To...); err != nil {
		return nil, invalid("to", err.Error())
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
