package middleware

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LogBufferConfig configures [NewLogBuffer]. The zero value is valid.
type LogBufferConfig struct {
	// FlushSize is how many buffered bytes start a flush before the
	// interval ends; default 32 KiB.
	FlushSize int
	// Limit is the most bytes held while the sink is busy; a line that
	// would pass it is dropped and counted. Default 4×FlushSize; at least
	// FlushSize. A LogBuffer allocates 2×Limit once, in NewLogBuffer.
	Limit int
	// FlushInterval is the longest a line waits in the buffer; default
	// 200ms.
	FlushInterval time.Duration
	// Namespace prefixes the name of the dropped-lines counter the
	// LogBuffer exports as a prometheus.Collector; default "gantry".
	Namespace string
}

// LogBuffer is an io.Writer for log handlers (slog.NewJSONHandler,
// slog.NewTextHandler) that holds what they write in memory and writes it
// to the sink in large blocks: when FlushSize bytes are buffered, every
// FlushInterval, on [LogBuffer.Flush] and on [LogBuffer.Close]. A log
// line then costs no system call of its own.
//
// Write never waits for the sink: while a flush is under way, lines
// gather in a second buffer up to Limit bytes, and a line that would pass
// it is dropped whole and counted ([LogBuffer.Dropped]). A LogBuffer is a
// prometheus.Collector of that count, <ns>_log_dropped_lines_total:
// register it on the app's registry. Each Write is kept whole and in order
// (slog handlers write one record per call), so what reaches the sink is
// complete lines in the order they were written.
//
// Create it with [NewLogBuffer], which starts one goroutine; the caller
// must call Close, after the last request was served (after server.Run
// returns), so nothing written stays in memory. After Close, Write writes
// to the sink directly. Safe for concurrent use.
//
// Lines written just before a crash (a panic that ends the process,
// os.Exit) may be lost: up to FlushInterval of them.
type LogBuffer struct {
	w        io.Writer
	size     int
	limit    int
	interval time.Duration

	mu     sync.Mutex
	buf    []byte // lines waiting for the next flush
	closed bool

	wmu   sync.Mutex // one flush at a time; held while the sink writes
	spare []byte     // the buffer being written, reused (under wmu)

	kick     chan struct{} // FlushSize reached
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	dropped  atomic.Uint64
	desc     *prometheus.Desc
}

var _ prometheus.Collector = (*LogBuffer)(nil)

// NewLogBuffer returns a LogBuffer writing to w and starts its flusher.
// It fails (wrapping [ErrInvalidConfig]) on a nil w or negative sizes or
// interval.
func NewLogBuffer(w io.Writer, cfg LogBufferConfig) (*LogBuffer, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: LogBuffer: nil writer", ErrInvalidConfig)
	}
	if cfg.FlushSize < 0 || cfg.Limit < 0 || cfg.FlushInterval < 0 {
		return nil, fmt.Errorf("%w: LogBuffer: negative FlushSize, Limit or FlushInterval", ErrInvalidConfig)
	}
	if cfg.FlushSize == 0 {
		cfg.FlushSize = 32 << 10
	}
	if cfg.Limit == 0 {
		cfg.Limit = 4 * cfg.FlushSize
	}
	cfg.Limit = max(cfg.Limit, cfg.FlushSize)
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 200 * time.Millisecond
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "gantry"
	}
	b := &LogBuffer{
		w: w, size: cfg.FlushSize, limit: cfg.Limit, interval: cfg.FlushInterval,
		// Both buffers hold up to Limit bytes: appends never reallocate.
		buf: make([]byte, 0, cfg.Limit), spare: make([]byte, 0, cfg.Limit),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	b.desc = prometheus.NewDesc(prometheus.BuildFQName(cfg.Namespace, "log", "dropped_lines_total"),
		"Log lines dropped because the log buffer was full (the sink was slower than the writers).", nil, nil)
	go b.run()
	return b, nil
}

// Write buffers p as one line; it never waits for the sink. It always
// reports len(p), nil: a line dropped because the buffer is full is
// counted, not returned as an error (a log handler has no one to return
// it to).
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.wmu.Lock()
		defer b.wmu.Unlock()
		_, _ = b.w.Write(p)
		return len(p), nil
	}
	if len(b.buf)+len(p) > b.limit {
		b.mu.Unlock()
		b.dropped.Add(1)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= b.size
	b.mu.Unlock()
	if full {
		select {
		case b.kick <- struct{}{}:
		default: // a flush is already asked for
		}
	}
	return len(p), nil
}

// Dropped returns how many lines were dropped because the buffer was full.
func (b *LogBuffer) Dropped() uint64 { return b.dropped.Load() }

// Describe implements prometheus.Collector.
func (b *LogBuffer) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

// Collect implements prometheus.Collector: <ns>_log_dropped_lines_total.
func (b *LogBuffer) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(b.desc, prometheus.CounterValue, float64(b.dropped.Load()))
}

// Flush writes what is buffered to the sink and returns the sink's error.
// It waits for the sink (and for a flush already under way), so request
// paths never call it.
func (b *LogBuffer) Flush() error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	return b.flushLocked()
}

// flushLocked swaps the buffers and writes the full one; b.wmu is held.
func (b *LogBuffer) flushLocked() error {
	b.mu.Lock()
	b.buf, b.spare = b.spare[:0], b.buf
	b.mu.Unlock()
	if len(b.spare) == 0 {
		return nil
	}
	_, err := b.w.Write(b.spare)
	b.spare = b.spare[:0]
	if err != nil {
		return fmt.Errorf("middleware: log buffer: %w", err)
	}
	return nil
}

// Close stops the flusher, writes what is buffered and returns the sink's
// error; later Writes go to the sink directly, after the buffered lines.
// It waits for the sink. Closing twice returns nil.
func (b *LogBuffer) Close() error {
	b.stopOnce.Do(func() { close(b.stop) })
	<-b.done
	b.wmu.Lock() // a Write after closed waits for the last flush: order kept
	defer b.wmu.Unlock()
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.flushLocked()
}

func (b *LogBuffer) run() {
	defer close(b.done)
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		case <-b.kick:
		}
		_ = b.Flush() // a failed block is lost; the next one is tried afresh
	}
}
