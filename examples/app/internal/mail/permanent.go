package mail

import (
	"errors"

	gomail "github.com/wneessen/go-mail"
)

// Permanent reports whether err, returned by [Sender.Send], means that
// sending the same message again cannot succeed: the message is invalid
// ([ErrInvalidMessage]) or the server refused it with a permanent (5xx)
// reply, such as 550 for an unknown recipient. A job gives up on such a
// failure at once instead of retrying it; a temporary (4xx) reply, a
// connection or TLS failure, or a cancelled context is not permanent.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	return false
}
