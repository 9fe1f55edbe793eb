package sentryreport

import (
	"regexp"
	"strings"

	"github.com/getsentry/sentry-go"
)

// Redacted replaces whatever [scrub] removes from a text.
const Redacted = "[REDACTED]"

var (
	// scheme://user:password@host: the password.
	reURLPassword = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@`)
	// Authorization schemes followed by their credentials.
	reAuthScheme = regexp.MustCompile(`(?i)\b(bearer|basic|token|digest)\s+[A-Za-z0-9._~+/=-]{6,}`)
	// JSON Web Tokens (a base64url JSON header starts with eyJ).
	reJWT = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?`)
	// key=value, key: value and "key":"value" where the key names a secret.
	reSecretPair = regexp.MustCompile(`(?i)([a-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth(?:orization)?|cookie|session(?:id)?|dsn|credential)[a-z0-9_.-]*)("?\s*[:=]\s*"?)([^\s"&,;]+)`)
)

// secretKey reports whether a tag or context key names a secret.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"pass", "pwd", "secret", "token", "apikey", "api_key", "auth", "cookie", "session", "dsn", "credential", "private"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// redactText masks what looks like a credential in s: URL passwords,
// Authorization credentials, JSON Web Tokens and the values of keys that
// name a secret (password=…, "token": "…", Cookie: …).
func redactText(s string) string {
	if s == "" {
		return s
	}
	s = reURLPassword.ReplaceAllString(s, "${1}"+Redacted+"@")
	s = reAuthScheme.ReplaceAllString(s, "${1} "+Redacted)
	s = reJWT.ReplaceAllString(s, Redacted)
	s = reSecretPair.ReplaceAllStringFunc(s, func(m string) string {
		sub := reSecretPair.FindStringSubmatch(m)
		if sub[3] == Redacted || strings.HasPrefix(sub[3], "[REDACTED") {
			return m
		}
		return sub[1] + sub[2] + Redacted
	})
	return s
}

// scrub is the second line of defence (Reporter's events carry no request
// data in the first place): it drops the request (body, cookies, headers,
// query), breadcrumbs and source lines, keeps only the user's id, and
// redacts credentials from the messages, exception values, tags and
// contexts. It runs as sentry's BeforeSend on every event.
func scrub(e *sentry.Event) *sentry.Event {
	if e == nil {
		return nil
	}
	e.Request = nil
	e.Breadcrumbs = nil
	e.Attachments = nil
	e.User = sentry.User{ID: e.User.ID}
	e.Message = redactText(e.Message)
	e.Transaction = redactText(e.Transaction)
	for i := range e.Exception {
		ex := &e.Exception[i]
		ex.Value = redactText(ex.Value)
		if ex.Mechanism != nil {
			ex.Mechanism.Data = nil
		}
		if ex.Stacktrace != nil {
			scrubFrames(ex.Stacktrace.Frames)
		}
	}
	for i := range e.Threads {
		if e.Threads[i].Stacktrace != nil {
			scrubFrames(e.Threads[i].Stacktrace.Frames)
		}
	}
	for k, v := range e.Tags {
		if secretKey(k) {
			e.Tags[k] = Redacted
		} else {
			e.Tags[k] = redactText(v)
		}
	}
	for name, c := range e.Contexts {
		for k, v := range c {
			switch {
			case secretKey(k):
				c[k] = Redacted
			default:
				if s, ok := v.(string); ok {
					c[k] = redactText(s)
				}
			}
		}
		e.Contexts[name] = c
	}
	return e
}

func scrubFrames(frames []sentry.Frame) {
	for i := range frames {
		f := &frames[i]
		f.Vars, f.PreContext, f.ContextLine, f.PostContext = nil, nil, "", nil
	}
}
