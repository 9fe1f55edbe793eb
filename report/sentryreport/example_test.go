package sentryreport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/gantry-dev/gantry/report"
	"github.com/gantry-dev/gantry/report/sentryreport"
)

func ExampleNew() {
	// A stand-in for Sentry's ingestion server (tests use
	// sentryreporttest); in production the DSN is the project's.
	var envelopes atomic.Int32
	ing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/envelope/") {
			envelopes.Add(1)
		}
	}))
	defer ing.Close()
	dsn := strings.Replace(ing.URL, "http://", "http://publickey@", 1) + "/1"

	rep, err := sentryreport.New(sentryreport.Config{DSN: dsn, Release: "1.4.2", Environment: "staging"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The server and the job runner call Report; here, by hand.
	rep.Report(context.Background(), report.Event{
		Kind: report.KindHTTP, Err: errors.New("db: connection reset"),
		RequestID: "req-1", Method: "GET", Route: "/orders/:id", Status: 500,
	})
	// At shutdown, after the server and runners stopped: send what is queued.
	if err := rep.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println("envelopes received:", envelopes.Load())
	// Output: envelopes received: 1
}
