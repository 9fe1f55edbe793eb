package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidTarget is returned (wrapped) by [Load] when dst is not a non-nil
// pointer to a struct, or when the struct's tags are wrong (a duplicate
// variable name, an unsupported field type). These are programming errors and
// are returned on their own, never inside an [*Error].
var ErrInvalidTarget = errors.New("config: invalid target")

// Error is returned by [Load] when one or more settings are invalid. It lists
// every problem found, not just the first; inspect it with errors.As:
//
//	var cerr *config.Error
//	if errors.As(err, &cerr) {
//		for _, fe := range cerr.Fields { ... }
//	}
//
// errors.Is also sees the causes inside it (for example fs.ErrNotExist when
// the config file is missing).
type Error struct {
	// Fields holds one entry per problem, in the order of the struct's fields.
	Fields []FieldError
}

// Error returns all problems on one line, separated by "; ".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if len(e.Fields) == 1 {
		b.WriteString("invalid setting: ")
	} else {
		b.WriteString(strconv.Itoa(len(e.Fields)))
		b.WriteString(" invalid settings: ")
	}
	for i, fe := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns each [FieldError], so errors.As can find one and errors.Is
// can reach their causes.
func (e *Error) Unwrap() []error {
	out := make([]error, len(e.Fields))
	for i, fe := range e.Fields {
		out[i] = fe
	}
	return out
}

// FieldError describes one invalid setting.
type FieldError struct {
	// Var is the variable as the user sets it, prefix included
	// (e.g. "APP_RATE_LIMIT_WINDOW"). For an unreadable .env file it is the
	// file's path.
	Var string
	// Value is the offending value. Secrets are never shown: it is empty for
	// them, and URLs have their password masked.
	Value string
	// Reason says what is wrong, e.g. "is not a number".
	Reason string
	// Source is where the value came from: "env", the .env path, the config
	// file path or "default". Empty for checks that span several settings.
	Source string
	// Err is the underlying cause, if any.
	Err error
}

// Error formats the problem as `VAR: "value" reason (from source)`.
func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Var)
	b.WriteString(": ")
	if e.Value != "" {
		b.WriteString(strconv.Quote(e.Value))
		b.WriteByte(' ')
	}
	b.WriteString(e.Reason)
	if e.Source != "" && e.Source != sourceEnv {
		fmt.Fprintf(&b, " (from %s)", e.Source)
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e FieldError) Unwrap() error { return e.Err }
