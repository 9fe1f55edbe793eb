package jobscli

import (
	"fmt"
	"io"
	"strings"
)

// usage describes one command for help and usage errors.
type usage struct {
	name     string
	synopses []string // without the program name
	brief    string   // the synopsis in the list of all commands, if shorter
	more     string   // the summary of the second synopsis
	summary  string
	details  string
}

// usages lists the commands in the order help shows them.
var usages = []usage{
	{name: "queues", synopses: []string{"queues [--minutes N]"},
		summary: "queues: jobs by state, latency, throughput, paused",
		details: `LATENCY is the age of the oldest pending job. PROCESSED and FAILED count
the attempts that ended over the last N minutes (default 15, at most 60).`},
	{name: "ls", synopses: []string{"ls --queue Q --state S [--kind K] [--order newest|oldest] [--limit N] [--cursor C]"},
		brief:   "ls --queue Q --state S [...]",
		summary: "a page of one queue's jobs in one state",
		details: `States: pending, scheduled, running (or active), retrying, succeeded, dead,
cancelled. Order: oldest first (the order they run in) for pending,
scheduled, running and retrying; newest first for the finished states.
--limit is the page size (default 50, at most 1000). When there is more,
the command for the next page is printed (its --cursor).`},
	{name: "show", synopses: []string{"show ID"},
		summary: "a job: state, attempts, errors, arguments, result"},
	{name: "retry", synopses: []string{"retry ID", "retry --all-dead --queue Q"},
		summary: "run a dead, retrying or scheduled job now",
		more:    "requeue every dead job of queue Q",
		details: `A dead job starts again with its attempts reset.`},
	{name: "delete", synopses: []string{"delete ID", "delete --all-dead --queue Q"},
		summary: "delete a job that is not running",
		more:    "delete every dead job of queue Q"},
	{name: "cancel", synopses: []string{"cancel ID"},
		summary: "cancel a job that has not finished",
		details: `A running job sees its context cancelled at its worker's next heartbeat.`},
	{name: "pause", synopses: []string{"pause Q"},
		summary: "stop workers taking jobs from queue Q",
		details: `Jobs running finish; workers take no new ones until resume.`},
	{name: "resume", synopses: []string{"resume Q"},
		summary: "let workers take jobs from queue Q again"},
	{name: "workflow", synopses: []string{"workflow ID", "workflow cancel ID"},
		summary: "a workflow: its state and each step's",
		more:    "cancel a running workflow",
		details: `A step's job id is the workflow's id, a dot and the step's number (see
show). WAITS FOR lists the steps a step waits for. Cancel stops a running
workflow: its waiting steps never run, its released ones are cancelled
(a running step sees its context cancelled at its worker's next
heartbeat).`},
	{name: "schedules", synopses: []string{"schedules"},
		summary: "periodic jobs: spec, zone, next and last fire"},
	{name: "workers", synopses: []string{"workers"},
		summary: "worker processes online, busy slots, heartbeat"},
	{name: "help", synopses: []string{"help [COMMAND]"},
		summary: "this text, or a command's"},
}

func usageOf(name string) (usage, bool) {
	for _, u := range usages {
		if u.name == name {
			return u, true
		}
	}
	return usage{}, false
}

// writeUsage prints the usage of one command, or of all when name is "".
func (c *Command) writeUsage(w io.Writer, name string) {
	var b strings.Builder
	if u, ok := usageOf(name); ok && name != "" {
		for i, s := range u.synopses {
			lead := "usage: "
			if i > 0 {
				lead = "       "
			}
			fmt.Fprintf(&b, "%s%s %s\n", lead, c.Name, s)
		}
		fmt.Fprintf(&b, "\n%s.\n", capitalize(u.summary))
		if u.more != "" {
			fmt.Fprintf(&b, "With %s: %s.\n", strings.Fields(u.synopses[1])[1], u.more)
		}
		if u.details != "" {
			fmt.Fprintf(&b, "\n%s\n", u.details)
		}
		if name != "help" {
			b.WriteString("\n--json prints the result as JSON, for scripts.\n")
		}
		_, _ = io.WriteString(w, b.String())
		return
	}
	fmt.Fprintf(&b, "usage: %s COMMAND [ARGS] [--json]\n\nCommands:\n", c.Name)
	t := newTable("", "")
	t.indent = "  "
	for _, u := range usages {
		for i, s := range u.synopses {
			sum := u.summary
			if i > 0 {
				sum = u.more
			} else if u.brief != "" {
				s = u.brief
			}
			t.rows = append(t.rows, []string{s, sum})
		}
	}
	_ = t.write(&b, false)
	fmt.Fprintf(&b, "\nEvery command takes --json, for scripts. Run %q for its flags.\n", c.Name+" help COMMAND")
	_, _ = io.WriteString(w, b.String())
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
