package tracing_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsotel"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/tracing"
	"github.com/gantry-dev/gantry/tracing/otlp"
)

// receiver is an OTLP/HTTP trace receiver on loopback: it decodes each
// POST /v1/traces (protobuf) and keeps the spans' names and trace ids.
type receiver struct {
	mu    sync.Mutex
	spans map[string]string // span name -> hex trace id
	types []string
}

func newReceiver(t *testing.T) (*receiver, string) {
	r := &receiver{spans: map[string]string{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
			http.NotFound(w, req)
			return
		}
		body, _ := io.ReadAll(req.Body)
		var msg coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.types = append(r.types, req.Header.Get("Content-Type"))
		for _, rs := range msg.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					r.spans[s.Name] = trace.TraceID(s.TraceId).String()
				}
			}
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	t.Cleanup(ts.Close)
	return r, ts.URL
}

type noteArgs struct {
	Note string `json:"note"`
}

func (noteArgs) Kind() string { return "note" }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTraceChain follows ONE request through the library pieces: the
// server span (its trace id taken from an incoming traceparent), the SQL
// span of the handler's statement as its child, the enqueue, and the job's
// attempts on a runner, each a span of its own LINKED to the request's
// span (a retry too); the log lines carry the ids, the latency histogram
// the exemplar, and the same trace reaches an OTLP/HTTP receiver.
func TestTraceChain(t *testing.T) {
	rcv, url := newReceiver(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "chain-test")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	ctx := t.Context()

	rec := tracetest.NewSpanRecorder()
	tp, err := otlp.NewProvider(ctx, tracing.ProviderConfig{ServiceName: "fallback", Options: []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(rec)}})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())

	logs := &syncBuffer{}
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(logs, nil)))

	db, err := crud.Open(ctx, crud.DBConfig{URL: "sqlite://" + filepath.Join(t.TempDir(), "t.db"), Driver: tracing.SQLDriver(tp, "sqlite"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"); err != nil {
		t.Fatal(err)
	}

	jt := jobsotel.Config{TracerProvider: tp}
	rdb, prefix := testenv.Redis(t) // jobs on Redis, its commands traced
	if err := tracing.InstrumentRedis(rdb, tp); err != nil {
		t.Fatal(err)
	}
	backend, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	client, err := jobs.NewClient(backend, jobs.ClientConfig{Headers: jt.Headers()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var once sync.Once
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		log.InfoContext(ctx, "job ran", "attempt", j.Attempt)
		if j.Attempt == 1 {
			return errors.New("first attempt fails")
		}
		once.Do(func() { close(done) })
		return nil
	}))
	runner, err := jobs.NewRunner(backend, jobs.RunnerConfig{Workers: ws, Wrap: jt.Wrap(), Logger: log,
		Retry: jobs.ExponentialBackoff(time.Millisecond, time.Millisecond), MaintenanceInterval: 10 * time.Millisecond, IdleWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	rdone := make(chan error, 1)
	go func() { rdone <- runner.Run(rctx) }()
	defer stop()

	srv, err := server.New(server.Config{Logger: log, Metrics: true, Middleware: server.MiddlewareConfig{TracerProvider: tp}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Echo().POST("/notes/:id", func(c echo.Context) error {
		ctx := c.Request().Context()
		if _, err := db.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (?, ?)", c.Param("id"), "secret-value"); err != nil {
			return err
		}
		if _, err := client.Enqueue(ctx, noteArgs{Note: c.Param("id")}, jobs.MaxRetry(2)); err != nil {
			return err
		}
		log.InfoContext(ctx, "note stored")
		return c.NoContent(http.StatusCreated)
	})
	ts := httptest.NewServer(srv.Echo())
	defer ts.Close()

	const incoming = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/notes/7", nil)
	req.Header.Set("traceparent", "00-"+incoming+"-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /notes/7 = %d", res.StatusCode)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not succeed on its retry")
	}
	stop()
	<-rdone

	// Scrape in the OpenMetrics format: the latency carries the exemplar.
	sreq, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
	sreq.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	sres, err := http.DefaultClient.Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(sres.Body)
	sres.Body.Close()

	var serverSpan, sqlSpan sdktrace.ReadOnlySpan
	var runs, redisSpans []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if attr(s, "db.system") == "redis" || attr(s, "db.system.name") == "redis" {
			redisSpans = append(redisSpans, s)
		}
		switch {
		case s.Name() == "POST /notes/:id":
			serverSpan = s
		case strings.HasPrefix(s.Name(), "sql.") && strings.Contains(attr(s, "db.query.text"), "INSERT INTO notes"):
			sqlSpan = s
		case s.Name() == "jobs.run note":
			runs = append(runs, s)
		}
	}
	if serverSpan == nil || sqlSpan == nil {
		t.Fatalf("spans %v: want the server span and the INSERT's", names(rec.Ended()))
	}
	tid := serverSpan.SpanContext().TraceID()
	if tid.String() != incoming {
		t.Errorf("server span trace id = %s; want the incoming traceparent's %s", tid, incoming)
	}
	if serverSpan.SpanKind() != trace.SpanKindServer || attr(serverSpan, "http.response.status_code") != "201" || attr(serverSpan, "http.route") != "/notes/:id" {
		t.Errorf("server span kind %v, attrs %v", serverSpan.SpanKind(), serverSpan.Attributes())
	}
	for _, kv := range serverSpan.Attributes() {
		if v := kv.Value.Emit(); strings.Contains(v, "/notes/7") || strings.Contains(v, "127.0.0.1") {
			t.Errorf("server span has a high-cardinality attribute %s=%s", kv.Key, v)
		}
	}
	if sqlSpan.Parent().SpanID() != serverSpan.SpanContext().SpanID() || sqlSpan.SpanContext().TraceID() != tid {
		t.Errorf("SQL span parent %s; want the server span %s", sqlSpan.Parent().SpanID(), serverSpan.SpanContext().SpanID())
	}
	for _, kv := range sqlSpan.Attributes() {
		if strings.Contains(kv.Value.Emit(), "secret-value") {
			t.Errorf("SQL span carries an argument value: %s", kv.Key)
		}
	}
	// Redis: the enqueue is a child of the request's span; the runner's own
	// polling (no span in its context) made no trace at all.
	var enqueueSpan sdktrace.ReadOnlySpan
	for _, s := range redisSpans {
		if !s.Parent().IsValid() {
			t.Errorf("a root Redis span %q: background calls must not start traces", s.Name())
		}
		if s.Parent().SpanID() == serverSpan.SpanContext().SpanID() {
			enqueueSpan = s
		}
	}
	if enqueueSpan == nil || enqueueSpan.SpanContext().TraceID() != tid {
		t.Errorf("no Redis span under the request's span; Redis spans: %v", names(redisSpans))
	}
	if len(runs) != 2 {
		t.Fatalf("job spans = %d; want 2 (the failed attempt and its retry)", len(runs))
	}
	for i, s := range runs {
		if s.SpanContext().TraceID() == tid || s.Parent().IsValid() {
			t.Errorf("attempt %d: trace %s parent %v; want a new root", i+1, s.SpanContext().TraceID(), s.Parent())
		}
		if l := s.Links(); len(l) != 1 || l[0].SpanContext.TraceID() != tid || l[0].SpanContext.SpanID() != serverSpan.SpanContext().SpanID() {
			t.Errorf("attempt %d links = %+v; want one link to the request's span", i+1, l)
		}
		if attr(s, "jobs.attempt") != []string{"1", "2"}[i] || attr(s, "jobs.kind") != "note" || attr(s, "messaging.destination.name") != "default" || attr(s, "messaging.message.id") == "" {
			t.Errorf("attempt %d attrs = %v", i+1, s.Attributes())
		}
	}
	if runs[0].Status().Code.String() != "Error" || len(runs[0].Events()) == 0 || runs[1].Status().Code.String() == "Error" {
		t.Errorf("attempt statuses = %v, %v; want the failed one an error with its event", runs[0].Status(), runs[1].Status())
	}

	// Logs: the handler's line and the access line carry the request's
	// ids; the job's line its attempt's.
	out := logs.String()
	for _, want := range []string{
		`"msg":"note stored"`, `"msg":"request"`,
	} {
		line := lineWith(out, want)
		if !strings.Contains(line, `"trace_id":"`+incoming+`"`) || !strings.Contains(line, `"span_id":"`+serverSpan.SpanContext().SpanID().String()+`"`) {
			t.Errorf("log line %s = %s; want the request's trace_id and span_id", want, line)
		}
	}
	if line := lineWith(out, `"msg":"job ran"`); !strings.Contains(line, `"trace_id":"`+runs[0].SpanContext().TraceID().String()+`"`) {
		t.Errorf("job log line = %s; want its attempt's trace id", line)
	}

	if !strings.Contains(string(scrape), `trace_id="`+incoming+`"`) || !strings.Contains(string(scrape), "gantry_http_request_duration_seconds_bucket") {
		t.Errorf("scrape has no exemplar with trace id %s:\n%s", incoming, grep(string(scrape), "request_duration_seconds_bucket"))
	}

	// OTLP/HTTP export: the same spans reach the receiver.
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if enqueueSpan != nil && rcv.spans[enqueueSpan.Name()] == "" {
		t.Errorf("receiver got %v; want the Redis span %q too", rcv.spans, enqueueSpan.Name())
	}
	if rcv.spans["POST /notes/:id"] != incoming || rcv.spans["jobs.run note"] == "" {
		t.Errorf("receiver got %v; want the server span in trace %s and the job's", rcv.spans, incoming)
	}
	for _, ct := range rcv.types {
		if ct != "application/x-protobuf" {
			t.Errorf("export Content-Type = %q", ct)
		}
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func lineWith(out, sub string) string {
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func grep(out, sub string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
