// Package jobscli is the command line of package jobs: the commands an
// operator runs to see queues and jobs and to act on them, for any service
// to offer in its own binary.
//
//	queues                          every queue: jobs by state, latency, paused, throughput
//	ls --queue Q --state S [...]    one page of a queue's jobs in one state
//	show ID                         one job: state, attempts and their errors, arguments
//	retry ID | delete ID | cancel ID
//	retry --all-dead --queue Q      and delete --all-dead --queue Q
//	pause Q | resume Q
//	workflow ID                     a workflow: its state and each step's
//	workflow cancel ID              cancel a running workflow
//	schedules                       periodic jobs: spec, time zone, next and last fire
//	workers                         worker processes online
//	help [COMMAND]
//
// People get aligned tables (numbers right-aligned, times as the clock
// time and how long ago, text from jobs cleaned of terminal escapes);
// scripts pass --json and get the [jobs.Inspector]'s types ([jobs.QueueStats],
// [jobs.JobPage], [jobs.JobInfo], [jobs.ScheduleInfo], [jobs.WorkerInfo]) or,
// for actions, a [Result].
//
// # Use
//
// A [Command] runs one command line on an Inspector. A service's main hands
// it the arguments after its own sub-command and maps the error to an exit
// status with [ExitCode]: 2 for a [*UsageError] (the usage has been written
// to Stderr), 1 for the rest, such as an unknown job id:
//
//	err := jobscli.Command{
//		Inspector: jobs.NewInspector(backend),
//		Name:      "app jobs",
//		Logger:    logger,
//	}.Run(ctx, os.Args[2:])
//	if err != nil {
//		fmt.Fprintln(os.Stderr, "app jobs:", err)
//		os.Exit(jobscli.ExitCode(err))
//	}
//
// The commands need a backend shared with the service's workers, such as
// [jobs.NewRedisBackend]: a [jobs.MemoryBackend] lives in one process.
//
// # Audit
//
// Every action (retry, delete, cancel, the bulk actions, pause, resume,
// workflow cancel) is logged to Command.Logger with who did it
// (Command.Actor, by default the operating system user and host) and how
// it ended, also when it failed.
package jobscli
