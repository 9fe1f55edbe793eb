package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/middleware"
)

// MIMEEventStream is the media type of server-sent events.
const MIMEEventStream = "text/event-stream"

// LastEventIDHeader is the header an EventSource sends when it reconnects:
// the id of the last event it received.
const LastEventIDHeader = "Last-Event-ID"

// ErrSSEField is returned by [SSE.Send] for an event whose ID or Event
// holds a line break (or the ID a NUL): written as they are, they would end
// the field and start another the client would obey.
var ErrSSEField = errors.New("server: invalid server-sent event field")

// SSEEvent is one server-sent event.
type SSEEvent struct {
	// ID is the event's id: the client sends the last one it received as
	// Last-Event-ID when it reconnects. Empty leaves it out. It must not
	// contain CR, LF or NUL.
	ID string
	// Event is the event's type (EventSource's addEventListener name);
	// empty leaves it out (the client's "message"). It must not contain CR
	// or LF.
	Event string
	// Data is the payload. Each of its lines (split at CR LF, CR or LF) is
	// written as its own data: line, so the client reads it back whole,
	// line breaks included; a line break cannot inject a field.
	Data string
	// Retry asks the client to wait this long before reconnecting; zero
	// leaves it out.
	Retry time.Duration
}

// SSEConfig configures a server-sent event stream. The zero value is
// valid.
type SSEConfig struct {
	// WriteTimeout bounds each write to the client (an event, a comment):
	// a client that stops reading is cut off after it, and the write
	// fails. Default 30 s; negative means none. It replaces the server's
	// WriteTimeout, which bounds the whole response, for this response.
	WriteTimeout time.Duration
}

// SSE writes a text/event-stream response (server-sent events) on echo:
// each event or comment is written and flushed at once. Create it with
// [NewSSE] or [SSEConfig.Start] once the handler has decided to stream
// (an error before that is still answered with the error envelope); after
// it the response is committed, and the handler returns nil when the
// stream ends (the client going away shows as a write error and as the
// request context ending).
//
// The stream works through the default middleware stack: the gzip piece
// passes text/event-stream through uncompressed and unbuffered, and Start
// lifts the request deadline ([middleware.LiftDeadline]) and replaces the
// connection's write deadline (http.ResponseController), so
// Config.RequestTimeout and WriteTimeout do not cut a long stream (nor
// does ReadTimeout, which net/http lifts once the request is read); each
// write gets SSEConfig.WriteTimeout instead. A graceful
// drain waits for open streams up to Config.ShutdownTimeout, then closes
// them: clients reconnect with Last-Event-ID.
//
// An SSE is not safe for concurrent use: one goroutine (the handler's)
// writes, e.g. selecting on its events, a keep-alive ticker and the
// request context.
type SSE struct {
	c       echo.Context
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte
}

// NewSSE starts a stream with the default [SSEConfig].
func NewSSE(c echo.Context) (*SSE, error) { return SSEConfig{}.Start(c) }

// Start starts the stream on c: it sends the 200 header (Content-Type
// text/event-stream, Cache-Control no-cache, X-Accel-Buffering no, which
// tells nginx not to buffer) and flushes it. It fails if the response is
// already committed or cannot be flushed, or if the client has gone.
func (cfg SSEConfig) Start(c echo.Context) (*SSE, error) {
	res := c.Response()
	if res.Committed {
		return nil, errors.New("server: sse: response already committed")
	}
	timeout := cfg.WriteTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	s := &SSE{c: c, rc: http.NewResponseController(res.Writer), timeout: timeout}
	middleware.LiftDeadline(c)
	h := res.Header()
	h.Set(echo.HeaderContentType, MIMEEventStream)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del(echo.HeaderContentLength)
	s.deadline()
	res.WriteHeader(http.StatusOK)
	if err := s.rc.Flush(); err != nil {
		return nil, fmt.Errorf("server: sse: %w", err)
	}
	return s, nil
}

// Send writes ev and flushes it. It returns [ErrSSEField] (writing
// nothing) for an ID or Event that would inject a field, and the write's
// error when the client has gone or stopped reading.
func (s *SSE) Send(ev SSEEvent) error {
	if strings.ContainsAny(ev.ID, "\r\n\x00") {
		return fmt.Errorf("%w: id %q", ErrSSEField, ev.ID)
	}
	if strings.ContainsAny(ev.Event, "\r\n") {
		return fmt.Errorf("%w: event %q", ErrSSEField, ev.Event)
	}
	b := s.buf[:0]
	if ev.ID != "" {
		b = append(append(append(b, "id: "...), ev.ID...), '\n')
	}
	if ev.Event != "" {
		b = append(append(append(b, "event: "...), ev.Event...), '\n')
	}
	if ev.Retry > 0 {
		b = append(strconv.AppendInt(append(b, "retry: "...), ev.Retry.Milliseconds(), 10), '\n')
	}
	b = appendLines(b, "data: ", ev.Data)
	return s.write(append(b, '\n'))
}

// Comment writes a comment, which clients ignore: a keep-alive that stops
// proxies and load balancers from closing an idle stream. Each line of
// text becomes a comment line.
func (s *SSE) Comment(text string) error {
	return s.write(append(appendLines(s.buf[:0], ": ", text), '\n'))
}

// appendLines appends each line of text (split at CR LF, CR or LF) after
// prefix, each ended by LF.
func appendLines(b []byte, prefix, text string) []byte {
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			return append(append(append(b, prefix...), text...), '\n')
		}
		b = append(append(append(b, prefix...), text[:i]...), '\n')
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
}

func (s *SSE) write(b []byte) error {
	s.buf = b
	s.deadline()
	if _, err := s.c.Response().Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// deadline sets the connection's write deadline for the next write.
func (s *SSE) deadline() {
	var t time.Time
	if s.timeout > 0 {
		t = time.Now().Add(s.timeout)
	}
	_ = s.rc.SetWriteDeadline(t) // not supported by recorders: nothing to bound
}

// LastEventID returns the id of the last event a reconnecting client
// received: the Last-Event-ID header, or else the last_event_id query
// parameter (for a client that opens a new EventSource after a reload,
// which cannot set headers). It returns "" when there is none, or when the
// value is over 256 bytes or holds a control character.
func LastEventID(c echo.Context) string {
	req := c.Request()
	id := req.Header.Get(LastEventIDHeader)
	if id == "" {
		id = req.URL.Query().Get("last_event_id")
	}
	if len(id) > 256 {
		return ""
	}
	for i := range len(id) {
		if id[i] < ' ' || id[i] == 0x7f {
			return ""
		}
	}
	return id
}
