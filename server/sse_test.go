package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

// sseRecorder returns a context on a recorder.
func sseRecorder(target string, h http.Header) (echo.Context, *httptest.ResponseRecorder) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	return echo.New().NewContext(req, rec), rec
}

func TestSSEFraming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ev      server.SSEEvent
		want    string
		wantErr error
	}{
		{name: "data only", ev: server.SSEEvent{Data: "hello"}, want: "data: hello\n\n"},
		{name: "empty data is one empty line", ev: server.SSEEvent{}, want: "data: \n\n"},
		{name: "all fields", ev: server.SSEEvent{ID: "1-0", Event: "state", Data: `{"a":1}`, Retry: 1500 * time.Millisecond},
			want: "id: 1-0\nevent: state\nretry: 1500\ndata: {\"a\":1}\n\n"},
		{name: "data lines split at LF, CR LF and CR", ev: server.SSEEvent{Data: "a\nb\r\nc\rd"},
			want: "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{name: "trailing newline keeps an empty line", ev: server.SSEEvent{Data: "a\n"}, want: "data: a\ndata: \n\n"},
		{name: "data cannot inject a field", ev: server.SSEEvent{Data: "x\nid: 666\nevent: admin"},
			want: "data: x\ndata: id: 666\ndata: event: admin\n\n"},
		{name: "LF in id refused", ev: server.SSEEvent{ID: "1\nevent: admin", Data: "x"}, wantErr: server.ErrSSEField},
		{name: "CR in id refused", ev: server.SSEEvent{ID: "1\rdata: x", Data: "x"}, wantErr: server.ErrSSEField},
		{name: "NUL in id refused", ev: server.SSEEvent{ID: "1\x00", Data: "x"}, wantErr: server.ErrSSEField},
		{name: "LF in event refused", ev: server.SSEEvent{Event: "state\ndata: forged", Data: "x"}, wantErr: server.ErrSSEField},
		{name: "CR in event refused", ev: server.SSEEvent{Event: "state\r", Data: "x"}, wantErr: server.ErrSSEField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := sseRecorder("/", nil)
			s, err := server.NewSSE(c)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(tt.ev)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Send(%+v) = %v; want %v", tt.ev, err, tt.wantErr)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("Send(%+v) wrote %q; want %q", tt.ev, got, tt.want)
			}
			if !rec.Flushed {
				t.Error("not flushed")
			}
		})
	}
}

func TestSSEStartAndComment(t *testing.T) {
	t.Parallel()
	c, rec := sseRecorder("/", nil)
	s, err := server.NewSSE(c)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed || rec.Code != http.StatusOK {
		t.Errorf("after Start: code %d, flushed %v; want 200 flushed", rec.Code, rec.Flushed)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("header %s = %q; want %q", k, got, want)
		}
	}
	if err := s.Comment("keep-alive"); err != nil {
		t.Fatal(err)
	}
	if err := s.Comment("two\nlines"); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Body.String(), ": keep-alive\n\n: two\n: lines\n\n"; got != want {
		t.Errorf("comments wrote %q; want %q", got, want)
	}
	if _, err := server.NewSSE(c); err == nil {
		t.Error("a second Start on a committed response succeeded")
	}
}

func TestLastEventID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, target, header, want string
	}{
		{"none", "/", "", ""},
		{"header", "/", "5-1", "5-1"},
		{"query fallback", "/?last_event_id=7-0", "", "7-0"},
		{"header wins", "/?last_event_id=7-0", "5-1", "5-1"},
		{"control character refused", "/?last_event_id=7%0A0", "", ""},
		{"too long refused", "/?last_event_id=" + strings.Repeat("9", 257), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set(server.LastEventIDHeader, tt.header)
			}
			c, _ := sseRecorder(tt.target, h)
			if got := server.LastEventID(c); got != tt.want {
				t.Errorf("LastEventID(%s, %q) = %q; want %q", tt.target, tt.header, got, tt.want)
			}
		})
	}
}

// sseReader reads events (blocks of lines up to an empty line) from a
// stream; comments are returned as ":text" lines.
type sseReader struct{ r *bufio.Reader }

func (s sseReader) next() ([]string, error) {
	var lines []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return lines, nil
		}
		lines = append(lines, line)
	}
}

// TestSSEThroughDefaultStack streams through a real server with the whole
// default stack, gzip on and the client accepting gzip, and every timeout
// (request deadline, ReadTimeout, WriteTimeout) far shorter than the
// stream: each event reaches the client before the handler writes the next
// (it waits for the client's word), uncompressed, and the stream outlives
// all three timeouts.
func TestSSEThroughDefaultStack(t *testing.T) {
	t.Parallel()
	const n = 8
	srv, err := server.New(server.Config{
		Logger:         slog.New(slog.DiscardHandler),
		RequestTimeout: 200 * time.Millisecond,
		ReadTimeout:    300 * time.Millisecond,
		WriteTimeout:   300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int)
	handlerErr := make(chan error, 1)
	srv.Group("/api").GET("/stream", func(c echo.Context) error {
		handlerErr <- func() error {
			s, err := server.NewSSE(c)
			if err != nil {
				return err
			}
			if err := s.Comment("hello " + server.LastEventID(c)); err != nil {
				return err
			}
			for i := range n {
				if err := s.Send(server.SSEEvent{ID: fmt.Sprint(i), Event: "tick", Data: strings.Repeat("x", 600)}); err != nil {
					return fmt.Errorf("send %d: %w", i, err)
				}
				select { // the client must have it before the next is written
				case j := <-got:
					if j != i {
						return fmt.Errorf("client got %d; want %d", j, i)
					}
				case <-time.After(5 * time.Second):
					return fmt.Errorf("event %d did not reach the client: buffered", i)
				}
				time.Sleep(100 * time.Millisecond) // 800 ms in all: past every timeout
			}
			return c.Request().Context().Err()
		}()
		return nil
	})
	base := servertest.Start(t, srv)

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/stream", nil)
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the transport then leaves the body as sent
	req.Header.Set(server.LastEventIDHeader, "3")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("Content-Encoding") != "" {
		t.Fatalf("response %d, Content-Type %q, Content-Encoding %q; want 200 text/event-stream, not encoded",
			res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"))
	}
	r := sseReader{bufio.NewReader(res.Body)}
	if lines, err := r.next(); err != nil || strings.Join(lines, "|") != ": hello 3" {
		t.Fatalf("first block %q, %v; want the comment", lines, err)
	}
	for i := range n {
		lines, err := r.next()
		want := fmt.Sprintf("id: %d|event: tick|data: %s", i, strings.Repeat("x", 600))
		if err != nil || strings.Join(lines, "|") != want {
			t.Fatalf("event %d: %q, %v", i, lines, err)
		}
		got <- i
	}
	if rest, err := io.ReadAll(res.Body); err != nil || len(rest) != 0 {
		t.Errorf("after the last event: %q, %v; want EOF", rest, err)
	}
	if err := <-handlerErr; err != nil {
		t.Errorf("handler: %v", err)
	}
}
