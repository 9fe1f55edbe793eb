package jobscli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

// Command runs the jobs commands on an [jobs.Inspector]. Only Inspector
// is required; the zero value of every other field has a default. A
// Command is a plain value: Run applies the defaults to its own copy, so
// one Command may run any number of times, also concurrently.
type Command struct {
	// Inspector reads and manages the jobs (required).
	Inspector *jobs.Inspector
	// Name is how the user runs the commands, for the usage text, e.g.
	// "app jobs". Default "jobs".
	Name string
	// Stdout receives the output, Stderr the usage text of usage errors.
	// Default os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// Actor names who acts, in the log line of every action. Default the
	// operating system user and the host name, "alice@web-1" (with the
	// user sudo ran for: "root@web-1 (sudo alice)").
	Actor string
	// Logger receives one line per action (retry, delete, cancel, the bulk
	// actions, pause, resume): the action, its target, the actor and the
	// outcome. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock relative times are computed from, in its time zone.
	// Default time.Now.
	Now func() time.Time
	// Redact returns what show and ls --json print of a job's arguments,
	// for kinds or fields operators must not read; it must not modify
	// payload. Default: the arguments as stored.
	Redact func(kind string, payload json.RawMessage) json.RawMessage
}

// UsageError reports a command line that does not parse: an unknown
// command or flag, a missing or extra argument, a bad flag value. Run has
// written the usage of the command to Stderr when it returns one; a main
// function prints the error and exits with status 2 (see [ExitCode]).
type UsageError struct {
	// Command is the command whose usage was wrong, "" for the command
	// line as a whole.
	Command string
	// Message says what is wrong.
	Message string
}

func (e *UsageError) Error() string {
	if e.Command == "" {
		return e.Message
	}
	return e.Command + ": " + e.Message
}

// ExitCode is the process exit status for an error Run returned: 0 for
// nil, 2 for a [*UsageError], 1 for anything else (an unknown job id or
// queue, a job in a state that does not allow the action, the backend
// unreachable).
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// notFoundError is the error of a command given an unknown job id.
type notFoundError struct{ id string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("no job with id %q (unknown, or finished longer ago than its retention)", e.id)
}

func (e *notFoundError) Unwrap() error { return jobs.ErrNotFound }

// errHelp ends a command that printed its help.
var errHelp = errors.New("help printed")

// Run runs one command: args is the command line after the program name,
// e.g. {"ls", "--queue", "email", "--state", "dead"}. Tables go to Stdout,
// or JSON with --json. It returns a [*UsageError] (after writing the
// command's usage to Stderr) for a command line that does not parse, an
// error wrapping [jobs.ErrNotFound] for an unknown job id, one wrapping
// [jobs.ErrFinished] for a job whose state refuses the action, and the
// backend's errors. Run writes no error message itself: the caller prints
// the error it returns, and [ExitCode] maps it to an exit status.
func (c Command) Run(ctx context.Context, args []string) error {
	if c.Inspector == nil {
		return errors.New("jobscli: nil Inspector")
	}
	r := &run{Command: c.withDefaults(), ctx: ctx}
	err := r.dispatch(args)
	if errors.Is(err, errHelp) {
		return nil
	}
	if ue := (*UsageError)(nil); errors.As(err, &ue) {
		r.writeUsage(r.Stderr, ue.Command)
	}
	return err
}

func (c Command) withDefaults() Command {
	if c.Name == "" {
		c.Name = "jobs"
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Actor == "" {
		c.Actor = defaultActor()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// defaultActor is "user@host", the user from os/user or $USER, with
// $SUDO_USER when sudo ran the command.
func defaultActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	actor := name + "@" + host
	if s := os.Getenv("SUDO_USER"); s != "" && s != name {
		actor += " (sudo " + s + ")"
	}
	return actor
}

// run is one Run: the command with its defaults and the flags every
// command shares.
type run struct {
	Command
	ctx  context.Context
	json bool
}

func (r *run) dispatch(args []string) error {
	// Flags before the command: --json, --help.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch strings.TrimLeft(args[0], "-") {
		case "json":
			r.json = true
		case "h", "help":
			r.writeUsage(r.Stdout, "")
			return errHelp
		default:
			return &UsageError{Message: fmt.Sprintf("unknown flag %s before the command", args[0])}
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return &UsageError{Message: "missing command"}
	}
	name, args := args[0], args[1:]
	switch name {
	case "queues":
		return r.queues(args)
	case "ls", "list":
		return r.ls(args)
	case "show":
		return r.show(args)
	case "retry":
		return r.retry(args)
	case "delete":
		return r.delete(args)
	case "cancel":
		return r.cancel(args)
	case "pause", "resume":
		return r.pause(name, args)
	case "workflow":
		return r.workflow(args)
	case "schedules":
		return r.schedules(args)
	case "workers":
		return r.workers(args)
	case "help":
		return r.help(args)
	}
	return &UsageError{Message: fmt.Sprintf("unknown command %q", name)}
}

// flags returns the flag set of a command, with --json.
func (r *run) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&r.json, "json", r.json, "print JSON")
	return fs
}

// parse parses args with fs, flags and arguments in any order, and checks
// the number of arguments left: between minArgs and maxArgs.
// Everything after "--" is an argument.
func (r *run) parse(fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	var pos, rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				r.writeUsage(r.Stdout, fs.Name())
				return nil, errHelp
			}
			return nil, &UsageError{Command: fs.Name(), Message: err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	pos = append(pos, rest...)
	switch {
	case len(pos) < minArgs && maxArgs == 1:
		return nil, &UsageError{Command: fs.Name(), Message: "missing argument"}
	case len(pos) < minArgs:
		return nil, &UsageError{Command: fs.Name(), Message: "missing arguments"}
	case len(pos) > maxArgs:
		return nil, &UsageError{Command: fs.Name(), Message: fmt.Sprintf("unexpected argument %q", pos[maxArgs])}
	}
	return pos, nil
}

// out writes v as JSON, or calls human.
func (r *run) out(v any, human func(w io.Writer) error) error {
	if !r.json {
		return human(r.Stdout)
	}
	enc := json.NewEncoder(r.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// queueExists returns an error naming the known queues if q is not one.
func (r *run) queueExists(q string) error {
	qs, err := r.Inspector.Queues(r.ctx)
	if err != nil {
		return err
	}
	if slices.Contains(qs, q) {
		return nil
	}
	if len(qs) == 0 {
		return fmt.Errorf("no queue %q: no job was ever enqueued", q)
	}
	slices.Sort(qs)
	return fmt.Errorf("no queue %q (queues: %s)", q, strings.Join(qs, ", "))
}

// job reads a job for a command given its id.
func (r *run) job(id string) (*jobs.JobInfo, error) {
	info, err := r.Inspector.Job(r.ctx, id)
	if errors.Is(err, jobs.ErrNotFound) {
		return nil, &notFoundError{id: id}
	}
	return info, err
}

func (r *run) redact(info *jobs.JobInfo) {
	if r.Redact != nil && len(info.Payload) > 0 {
		info.Payload = r.Redact(info.Kind, info.Payload)
	}
}

func (r *run) help(args []string) error {
	fs := r.flags("help")
	pos, err := r.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		r.writeUsage(r.Stdout, "")
		return nil
	}
	if _, ok := usageOf(pos[0]); !ok {
		return &UsageError{Command: "help", Message: fmt.Sprintf("unknown command %q", pos[0])}
	}
	r.writeUsage(r.Stdout, pos[0])
	return nil
}
