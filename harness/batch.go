//go:build unix

package harness

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/racestress/racestress/harness/command"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// Batches is the Executor of batched Go test runs (racestress gotest's
// default): a subject's trials are iterations of its test binary, run
// Spec.Batch at a time in one warm process (-test.count) and read one at
// a time (command.Batch). A process is replaced after any iteration that
// can taint those after it in the same process: a data race (the race
// detector reports a race once per process, unless the command's GORACE
// says otherwise: command.Command.RepeatsRaces), a panic, a fatal error,
// a crash or a hang; the batch resumes at the next iteration in a fresh
// process. After a race the process repeats, it goes on, as go test
// -count does. Records say which process (Process.Worker, WorkerPID) and
// which iteration of it (WorkerTrial) each trial was.
//
// Run trials of one subject one at a time (Config.Parallel 1): a batch is
// read in order. Close ends the processes still running.
type Batches struct {
	// Scenario grades the records; ExecScenario when nil.
	Scenario *scenarios.Scenario
	// Subjects' New is each one's command.Command: a test binary run with
	// -test.v=test2json.
	Subjects []scenarios.Subject
	// Per is the number of top-level tests an iteration of each subject
	// runs (from -test.list), by subject name; 0 or absent: learnt from
	// the output.
	Per map[string]int
	// LogDir and LogBase are Commands'.
	LogDir, LogBase string

	mu      sync.Mutex
	live    *liveBatch // the one test process running, nil when none
	started int        // processes started
}

type liveBatch struct {
	b       *command.Batch
	subject string
	round   int
	cell    string
	next    int // the iteration the next trial must be
	worker  int
}

// tainting are the outcomes after which a batch's process is replaced.
var tainting = []result.Outcome{result.DataRace, result.Panic, result.Fatal, result.Crash, result.Hang, result.Error}

// Execute implements Executor.
func (x *Batches) Execute(ctx context.Context, spec Spec) (result.Record, bool) {
	sc := x.Scenario
	if sc == nil {
		sc = ExecScenario
	}
	rec := newRecord(spec, time.Now())
	cmd, err := commandOf(x.Subjects, spec.Registry, x.LogDir)
	if err != nil {
		return errorRecord(rec, err.Error()), true
	}
	lb, err := x.batchFor(cmd, spec)
	if err != nil {
		return CommandRecord(sc, spec, rec, command.Result{ExitCode: -1, Outcome: result.Error,
			Message: "error: cannot start: " + err.Error()}, x.LogBase), true
	}
	res, got := lb.b.Next(ctx, spec.Trial)
	if res.Interrupted {
		x.retire()
		return rec, false
	}
	iteration := lb.b.Taken() - 1
	if !got {
		// The process ended before this iteration: it ran fewer than it
		// was asked (it exited by itself). Start this one afresh.
		x.retire()
		if lb, err = x.batchFor(cmd, spec); err != nil {
			return CommandRecord(sc, spec, rec, command.Result{ExitCode: -1, Outcome: result.Error,
				Message: "error: cannot start: " + err.Error()}, x.LogBase), true
		}
		if res, got = lb.b.Next(ctx, spec.Trial); res.Interrupted {
			x.retire()
			return rec, false
		}
		if !got {
			x.retire()
			return CommandRecord(sc, spec, rec, command.Result{ExitCode: res.ExitCode, Outcome: result.Error,
				Message: "error: the test binary ran no test (does -run match any?)"}, x.LogBase), true
		}
		iteration = lb.b.Taken() - 1
	}
	lb.next++
	rec = CommandRecord(sc, spec, rec, res, x.LogBase)
	rec.Process.Isolation = "batch"
	rec.Process.Worker, rec.Process.WorkerPID, rec.Process.WorkerTrial = lb.worker, lb.b.Pid(), iteration
	switch {
	case res.Outcome == result.DataRace && cmd.RepeatsRaces() && !lb.b.Ended():
		// The next race, the same as this one or not, is reported too.
	case slices.Contains(tainting, res.Outcome):
		rec.Process.Recycled = "replaced after " + string(res.Outcome) + ": it can taint the iterations after it in the same process"
		x.retire()
	case lb.b.Ended():
		x.retire()
	}
	return rec, true
}

// batchFor returns the live batch that spec's trial continues, or starts
// one for the rest of spec's batch. One test process runs at a time: a
// batch spec does not continue is ended (one whose remaining trials were
// skipped would otherwise run ahead in the background, beside the next).
func (x *Batches) batchFor(cmd command.Command, spec Spec) (*liveBatch, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if lb := x.live; lb != nil {
		if lb.subject == spec.Registry && lb.round == spec.Round && lb.cell == spec.Cell && lb.next == spec.Iteration && !lb.b.Ended() {
			return lb, nil
		}
		lb.b.Close()
		x.live = nil
	}
	count := max(1, spec.Batch-spec.Iteration)
	b, err := cmd.StartBatch(count, x.Per[spec.Registry], spec.Trial, spec.Seed)
	if err != nil {
		return nil, err
	}
	x.started++
	x.live = &liveBatch{b: b, subject: spec.Registry, round: spec.Round, cell: spec.Cell, next: spec.Iteration, worker: x.started}
	return x.live, nil
}

// retire ends the running batch.
func (x *Batches) retire() error {
	x.mu.Lock()
	lb := x.live
	x.live = nil
	x.mu.Unlock()
	if lb != nil {
		lb.b.Close()
	}
	return nil
}

// Close ends the batch still running, if any.
func (x *Batches) Close() error { return x.retire() }
