package mail_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gantry-dev/gantry/examples/app/internal/mail"
)

// In development, with no SMTP host configured, messages land in an outbox
// directory as .eml files.
func ExampleOutbox() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)

	var sender mail.Sender
	sender, err := mail.NewOutbox(mail.OutboxConfig{Dir: dir, From: "Gantry <noreply@example.com>", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	err = sender.Send(context.Background(), mail.Message{
		To:      []string{"alice@example.com"},
		Subject: "Welcome",
		Text:    "Hello Alice!",
	})
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	fmt.Println(err, len(files))
	// Output: <nil> 1
}

// In production, messages go through an SMTP server over STARTTLS.
func ExampleNewSMTP() {
	sender, err := mail.NewSMTP(mail.SMTPConfig{
		Host:     "smtp.example.com",
		Port:     587,
		Username: "apikey",
		Password: os.Getenv("EMAIL_SMTP_PASSWORD"),
		From:     "Gantry <noreply@example.com>",
		// TLS: mail.TLSAuto (the default) requires STARTTLS for a host that
		// is not loopback.
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = sender // pass it to the email job's worker
}

// A handler validates the message before queueing the job, so a bad
// address or an injection attempt is a 422 now rather than a failed job.
func ExampleMessage_Validate() {
	msg := mail.Message{
		To:      []string{"alice@example.com"},
		Subject: "Hi\r\nBcc: everyone@example.com",
		Text:    "spam",
	}
	err := msg.Validate()

	var me *mail.Error
	if errors.As(err, &me) {
		fmt.Println(me.HTTPStatus(), me.PublicMessage())
	}
	fmt.Println(errors.Is(err, mail.ErrHeaderInjection))
	// Output:
	// 422 subject: must not contain line breaks
	// true
}

// Tests of code that sends mail record messages with a SenderFunc.
func ExampleSenderFunc() {
	var sent []mail.Message
	sender := mail.SenderFunc(func(_ context.Context, m mail.Message) error {
		if err := m.Validate(); err != nil {
			return err
		}
		sent = append(sent, m)
		return nil
	})

	_ = sender.Send(context.Background(), mail.Message{To: []string{"bob@example.com"}, Subject: "Report ready", Text: "See attachment."})
	fmt.Println(len(sent), sent[0].Subject)
	// Output: 1 Report ready
}
