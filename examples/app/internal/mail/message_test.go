package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/examples/app/internal/mail"
)

func TestMessageValidate(t *testing.T) {
	ok := mail.Message{To: []string{"a@example.com"}, Subject: "hi", Text: "body"}
	with := func(f func(*mail.Message)) mail.Message {
		m := ok
		m.To = append([]string(nil), ok.To...)
		f(&m)
		return m
	}
	many := make([]string, mail.MaxRecipients+1)
	for i := range many {
		many[i] = "a@example.com"
	}
	tests := []struct {
		name      string
		msg       mail.Message
		wantErr   error
		wantField string
	}{
		{name: "valid", msg: ok},
		{name: "display names", msg: with(func(m *mail.Message) {
			m.From = "Gantry <noreply@example.com>"
			m.To = []string{`"Doe, Jane" <jane@example.com>`}
		})},
		{name: "empty subject is allowed", msg: with(func(m *mail.Message) { m.Subject = "" })},
		{name: "CRLF in subject", msg: with(func(m *mail.Message) { m.Subject = "hi\r\nBcc: victim@example.com" }), wantErr: mail.ErrHeaderInjection, wantField: "subject"},
		{name: "LF in subject", msg: with(func(m *mail.Message) { m.Subject = "hi\nX-Evil: 1" }), wantErr: mail.ErrHeaderInjection, wantField: "subject"},
		{name: "CR in subject", msg: with(func(m *mail.Message) { m.Subject = "hi\rX-Evil: 1" }), wantErr: mail.ErrHeaderInjection, wantField: "subject"},
		{name: "CRLF in recipient", msg: with(func(m *mail.Message) { m.To = []string{"a@example.com\r\nBcc: victim@example.com"} }), wantErr: mail.ErrHeaderInjection, wantField: "to"},
		{name: "LF in sender", msg: with(func(m *mail.Message) { m.From = "a@example.com\nBcc: victim@example.com" }), wantErr: mail.ErrHeaderInjection, wantField: "from"},
		{name: "no recipient", msg: with(func(m *mail.Message) { m.To = nil }), wantErr: mail.ErrInvalidMessage, wantField: "to"},
		{name: "too many recipients", msg: with(func(m *mail.Message) { m.To = many }), wantErr: mail.ErrInvalidMessage, wantField: "to"},
		{name: "bad recipient", msg: with(func(m *mail.Message) { m.To = []string{"not-an-address"} }), wantErr: mail.ErrInvalidMessage, wantField: "to"},
		{name: "two addresses in one", msg: with(func(m *mail.Message) { m.To = []string{"a@example.com, b@example.com"} }), wantErr: mail.ErrInvalidMessage, wantField: "to"},
		{name: "bad sender", msg: with(func(m *mail.Message) { m.From = "@example.com" }), wantErr: mail.ErrInvalidMessage, wantField: "from"},
		{name: "long subject", msg: with(func(m *mail.Message) { m.Subject = strings.Repeat("x", 999) }), wantErr: mail.ErrInvalidMessage, wantField: "subject"},
		{name: "no body", msg: with(func(m *mail.Message) { m.Text = " \n" }), wantErr: mail.ErrInvalidMessage, wantField: "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.msg.Validate()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate() = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				return
			}
			if !errors.Is(err, mail.ErrInvalidMessage) {
				t.Errorf("Validate() = %v; want it to match ErrInvalidMessage too", err)
			}
			var me *mail.Error
			if !errors.As(err, &me) {
				t.Fatalf("Validate() = %T; want *mail.Error", err)
			}
			details, _ := me.ErrorDetails().([]apierror.FieldError)
			if me.Field != tt.wantField || me.HTTPStatus() != 422 || me.ErrorType() != "validation_error" ||
				len(details) != 1 || details[0].Field != tt.wantField || !strings.HasPrefix(me.PublicMessage(), tt.wantField+": ") {
				t.Errorf("error = field %q, status %d, type %q, details %v, message %q; want field %q, 422, validation_error",
					me.Field, me.HTTPStatus(), me.ErrorType(), details, me.PublicMessage(), tt.wantField)
			}
		})
	}
}

func TestSenderFunc(t *testing.T) {
	var got []mail.Message
	var s mail.Sender = mail.SenderFunc(func(_ context.Context, m mail.Message) error {
		got = append(got, m)
		return nil
	})
	if err := s.Send(t.Context(), mail.Message{Subject: "x"}); err != nil || len(got) != 1 || got[0].Subject != "x" {
		t.Errorf("SenderFunc.Send: err %v, recorded %v", err, got)
	}
}
