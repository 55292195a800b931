package stress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// Hooks let a caller follow a run; each may be nil.
type Hooks struct {
	// Started is called once the results file, the log folder and the
	// executor are ready, before the first trial.
	Started func()
	// Record is called with each trial's record once it is in the results
	// file, one call at a time.
	Record func(result.Record)
}

// Result is what a run did.
type Result struct {
	// Path is the results file ("" when the run kept none).
	Path    string
	Header  result.Header
	Records []result.Record
	// Summary is the records' statistics under the header's verdict
	// policy: its Verdict is the run's.
	Summary report.Summary
	// Err, when set, is an *Error saying why the run is not judged by its
	// verdict: interrupted, results not all on disk, the engine's error,
	// or no trial ran.
	Err error
}

// NoControlWarning is the warning of a run of a scenario's subjects, named
// by the command line, in which no control ran: it did not measure its
// power to detect.
const NoControlWarning = "no control ran: nothing measured the harness's power to detect (name one with --registry or --control)"

// Run runs the plan's trials (a Go test binary is built first), each record written to the results file
// before the next trial is admitted, and returns what they did. Its error
// is a *Error: the run could not start.
func (p *Plan) Run(ctx context.Context, hooks Hooks) (*Result, error) {
	c := &p.cfg
	if p.exec != nil && p.replay == nil {
		if p.exec.GoTest != nil {
			if err := buildTest(ctx, p.exec.GoTest); err != nil {
				return nil, err
			}
		}
		for i := range p.exec.GoTests {
			if err := buildTest(ctx, &p.exec.GoTests[i]); err != nil {
				return nil, err
			}
		}
		p.engine.Extra = p.exec.Extra() // with the tests counted
		maps.Copy(p.engine.Extra, p.extra)
	}
	cfg := p.engine
	header := harness.NewHeader(cfg, c.Args, p.verdict, time.Now())
	if p.preset != nil {
		header.Preset = p.preset.header()
	}
	cfg.RunID = header.RunID
	var results *result.ResultsFile
	if c.Out != "" {
		var err error
		results, err = result.CreateResults(c.Out, header)
		if errors.Is(err, result.ErrExists) {
			return nil, usage("--out: %v", err)
		}
		if err != nil {
			return nil, invalid("results file: %v", err)
		}
		defer results.Close()
	}
	var logDir string
	if c.Out != "" && (p.exec != nil || c.Isolation != "none") && c.Executor == nil {
		var err error
		if logDir, err = result.CreateLogDir(c.Out, header.RunID); err != nil {
			return nil, invalid("log folder: %v", err)
		}
		defer os.Remove(logDir) // only when empty: a run that kept no log leaves no folder
	}
	exec, err := p.executor(ctx, logDir)
	if err != nil {
		return nil, err
	}
	if cl, ok := exec.(io.Closer); ok {
		defer cl.Close()
	}
	cfg.Executor, cfg.Parallel = exec, c.Parallel
	gate := harness.NewGatekeeper(c.Budget, c.Failfast, time.Now).StopAfter(c.MaxFails)
	cfg.Admit = gate.Admit
	var effects *effectWatch
	if p.verdict.MinEffect > 0 {
		effects = &effectWatch{minEffect: p.verdict.MinEffect}
		cfg.Admit = func(s harness.Spec) harness.Decision {
			if effects.decided() {
				return harness.Stop
			}
			if s.Role == result.Control && effects.controlDone(s.Registry) {
				return harness.Skip
			}
			return gate.Admit(s)
		}
	}
	if hooks.Started != nil {
		hooks.Started()
	}
	var writeErr error
	cfg.OnRecord = func(r result.Record) error {
		if results != nil {
			if err := results.Append(r); err != nil {
				writeErr = err
				return fmt.Errorf("results file: %w", err)
			}
		}
		gate.Record(r)
		if effects != nil {
			effects.add(r)
		}
		if hooks.Record != nil {
			hooks.Record(r)
		}
		return nil
	}
	var seq iter.Seq[harness.Spec] = harness.Schedule(cfg)
	if p.specs != nil {
		specs := slices.Clone(p.specs)
		for i := range specs {
			specs[i].RunID = cfg.RunID
		}
		seq = slices.Values(specs)
	}
	records, runErr := harness.RunSpecs(ctx, cfg, seq)
	res := &Result{Path: c.Out, Header: header, Records: records}
	res.Summary = Summarize(records, &header, nil)
	if len(records) > 0 || runErr != nil || writeErr != nil {
		res.Summary.Empty = ""
	}
	if p.preset != nil {
		res.Summary.Warnings = append(res.Summary.Warnings, p.preset.warnings...)
	}
	if c.Isolation == "pool" && p.exec == nil && c.Executor == nil {
		res.Summary.Warnings = append(res.Summary.Warnings, harness.PoolIndependence)
	}
	if c.Subjects == nil && len(cfg.Subjects) > 0 && !hasControl(cfg.Subjects) && !p.verdict.RequireControl && p.exec == nil {
		res.Summary.Warnings = append(res.Summary.Warnings, NoControlWarning)
	}
	switch {
	case runErr != nil && ctx.Err() != nil:
		res.Err = &Error{Kind: Interrupted, Msg: fmt.Sprintf("interrupted after %d trials; results in %s", len(records), c.Out)}
	case writeErr != nil:
		res.Err = invalid("results file %s: %v (the run is invalid: its results are not all on disk)", c.Out, writeErr)
	case runErr != nil:
		res.Err = invalid("%v", runErr)
	case len(records) == 0 && res.Summary.Empty == "":
		res.Err = invalid("no trial ran (is --budget shorter than one trial, or are there more shards than rounds?)")
	}
	return res, nil
}

func hasControl(subs []scenarios.Subject) bool {
	return slices.ContainsFunc(subs, func(s scenarios.Subject) bool { return s.Role == result.Control })
}

// executor returns what runs the plan's trials: the given Executor; the
// commands of an exec run; in this process (nil: harness.RunSpecs's
// InProcess, which knows the run's own scenario and subjects); or this
// binary re-executed as a process or pool worker (see
// harness.MaybeWorker), race-enabled with Race.
func (p *Plan) executor(ctx context.Context, logDir string) (harness.Executor, error) {
	c := &p.cfg
	switch {
	case c.Executor != nil:
		return c.Executor, nil
	case p.tuneExec != nil:
		return p.tuneExec(ctx, logDir)
	case p.exec != nil && p.exec.Batch > 1 && p.replay == nil:
		return p.batches(p.engine.Subjects, logDir), nil
	case p.exec != nil:
		return harness.Commands{Subjects: p.engine.Subjects, LogDir: logDir, LogBase: logBase(c.Out)}, nil
	case c.Isolation == "none":
		return nil, nil
	}
	return p.worker(ctx, c.Isolation, logDir)
}

// batches returns the batched executor of subjects, the plan's commands
// (or a cell's of a tune): each subject's test binary, Per its tests.
func (p *Plan) batches(subjects []scenarios.Subject, logDir string) *harness.Batches {
	per := map[string]int{}
	if b := p.exec.GoTest; b != nil && len(subjects) == 1 {
		per[subjects[0].Name] = max(0, b.Tests)
	}
	for i, b := range p.exec.GoTests {
		per[p.exec.Targets[i].Name] = max(0, b.Tests)
	}
	return &harness.Batches{Subjects: subjects, Per: per, LogDir: logDir, LogBase: logBase(p.cfg.Out)}
}

// worker returns this binary re-executed as a process or pool worker
// (isolation "process" or "pool"), race-enabled with Race.
func (p *Plan) worker(ctx context.Context, isolation, logDir string) (harness.Executor, error) {
	c := &p.cfg
	self, err := os.Executable()
	if err != nil {
		return nil, invalid("locating the worker binary: %v", err)
	}
	w := harness.Processes{Path: self, Args: []string{harness.WorkerArg}, MemoryLimit: p.limit, LogDir: logDir, LogBase: logBase(c.Out)}
	if c.Timeout > 0 {
		w.Timeout = func(result.Knobs) time.Duration { return c.Timeout }
	}
	if c.Race {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		bin, err := harness.RaceWorker(ctx, ".", filepath.Join(cache, "racestress"))
		if err != nil {
			return nil, usage("%v", err)
		}
		w.Path, w.Env, w.Isolation = bin, harness.RaceEnv, "race"
	}
	if isolation == "pool" {
		w.Args = []string{harness.PoolWorkerArg}
		return &harness.Pool{Process: w, TrialsPerWorker: c.PoolTrials}, nil
	}
	return w, nil
}

// logBase is the folder records' log paths are relative to: the results
// file's.
func logBase(out string) string {
	if out == "" {
		return ""
	}
	return filepath.Dir(out)
}

// Summarize summarises records under the verdict policy their header h
// recorded (none for a schema-1 file, whose h is nil), with the subjects
// it meant to run; a shard that rightly holds no round says so (Empty).
// warnings, a file's, come first among the summary's.
func Summarize(records []result.Record, h *result.Header, warnings []string) report.Summary {
	sum := report.Summarize(records)
	sum.Header = h
	if h != nil {
		sum.Policy = h.Verdict
		for _, s := range h.Subjects {
			sum.Subjects = append(sum.Subjects, s.Name)
		}
		if len(records) == 0 {
			sum.Empty = emptyShard(*h)
		}
	}
	sum.Warnings = append(slices.Clone(warnings), sum.Warnings...)
	return sum
}

// Load reads the results file path and summarises it with the verdict
// policy it recorded.
func Load(path string) (report.Summary, error) {
	res, err := result.ReadResultsFile(path)
	if err != nil {
		return report.Summary{}, err
	}
	return Summarize(res.Records, res.Header, res.Warnings), nil
}

// Merge reads the results files of one run's shards, checks that they are
// parts of one run and none twice, and summarises them together; a
// missing shard makes the summary Incomplete. An error reading a file
// names it.
func Merge(paths []string) (report.Summary, error) {
	var parts []result.Part
	for _, path := range paths {
		res, err := result.ReadResultsFile(path)
		if err != nil {
			return report.Summary{}, fmt.Errorf("%s: %v", path, err)
		}
		parts = append(parts, result.Part{Path: path, Results: res})
	}
	m, err := result.Merge(parts)
	if err != nil {
		return report.Summary{}, err
	}
	sum := Summarize(m.Records, m.Header, m.Warnings)
	sum.Incomplete = m.Missing
	return sum, nil
}
