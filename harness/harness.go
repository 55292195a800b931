// Package harness is racestress's engine: it plans a scenario's trials
// against registries, seeds them, runs each one in a child process (or in
// this process), classifies how it ended, grades the outcome against the
// scenario's declaration and hands every trial's record to the caller as
// soon as it completes.
package harness

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// Spec is one planned trial: everything a worker needs to run it.
type Spec struct {
	Trial    int    `json:"trial"`
	Round    int    `json:"round"`
	Scenario string `json:"scenario"`
	// Registry names the subject under test.
	Registry string `json:"registry"`
	// Role is the subject's role in this run, and Signature its signature
	// outcomes: what the trial's record is graded against.
	Role      result.Role      `json:"role"`
	Signature []result.Outcome `json:"signature,omitempty"`
	Cell      string           `json:"cell,omitempty"`
	Seed      int64            `json:"seed"`
	Knobs     result.Knobs     `json:"knobs"`
	// RunID names the run the trial belongs to.
	RunID string `json:"run_id,omitempty"`
	// WatchdogNs is the watchdog the executor arms for this trial (0: none); a trial fits its teardown inside it.
	WatchdogNs int64 `json:"watchdog_ns,omitempty"`
	// Batch, when more than 1, is the number of iterations of this
	// subject that run one after another in one warm process (Config's
	// Batch), and Iteration this trial's index among them.
	Batch     int `json:"batch,omitempty"`
	Iteration int `json:"iteration,omitempty"`
}

// Executor runs one trial and returns its graded record. It must return a
// record for every trial it was given, classifying its own failures as
// outcome error, unless ctx was cancelled, in which case it returns ok=false.
type Executor interface {
	Execute(ctx context.Context, spec Spec) (rec result.Record, ok bool)
}

// Cell is one point of a parameter sweep: a label and the knobs it runs.
type Cell struct {
	Label string
	Knobs result.Knobs
}

// Shard selects a deterministic part of a run's rounds: shard K of N (1-based)
// holds the rounds r with r mod N == K-1, every registry and cell of them.
// The zero Shard holds every round.
type Shard struct{ K, N int }

// Has reports whether round r belongs to the shard.
func (s Shard) Has(r int) bool { return s.N <= 1 || r%s.N == s.K-1 }

// Decision is what Config.Admit decides about a trial.
type Decision int

// The Admit decisions.
const (
	Start Decision = iota // run the trial
	Skip                  // leave this trial out, go on with the next
	Stop                  // start no more trials
)

// Config is what Run runs.
type Config struct {
	Scenario *scenarios.Scenario
	// Subjects are the systems under test, each with the role it runs
	// with (the scenario's declaration, or an override).
	Subjects []scenarios.Subject
	// Runs is the number of rounds; a round runs one trial per cell and
	// registry, so trials alternate between registries and meet the same
	// machine conditions. Negative means rounds until Admit says Stop.
	Runs int
	// Seed is the seed of round 0; round i uses Seed+i for every registry and
	// cell, so a trial replays with its recorded seed.
	Seed  int64
	Knobs result.Knobs
	// Cells, when set, replaces Knobs: every round runs each cell.
	Cells []Cell
	// Shard restricts the run to some rounds, for running across machines.
	Shard Shard
	// Admit, when set, is asked before each trial starts.
	Admit func(Spec) Decision
	// Executor runs the trials; in this process when nil.
	Executor Executor
	// Parallel is the number of trials run at once; 1 when zero.
	Parallel int
	// Batch, when more than 1, makes each round run each subject's trials
	// in batches of Batch consecutive trials (iterations of a Go test in
	// one warm process, see Batches) rather than one: a round is then
	// Batch trials of each subject, interleaved batch by batch.
	Batch int
	// RunID, when set, is stamped on every spec and record.
	RunID string
	// Extra describes the run's targets beyond the scenario and subjects'
	// names (an exec run's command lines): it goes into the results
	// header's Extra, and into a sharded run's id.
	Extra map[string]any
	// OnRecord, when set, receives each record as soon as its trial ends,
	// one call at a time; an error from it stops the run and is returned.
	OnRecord func(result.Record) error
}

// ErrNoTrials is returned when a Config asks for nothing to run.
var ErrNoTrials = errors.New("harness: no scenario, registry or runs")

func (cfg Config) cells() []Cell {
	if len(cfg.Cells) > 0 {
		return cfg.Cells
	}
	return []Cell{{Knobs: cfg.Knobs}}
}

// Schedule yields cfg's trials in the order they start: round by round
// (forever when Runs is negative), in each round every cell and registry
// (each Batch times in a row, when batched).
// Trial numbers and seeds depend only on the round, so a shard's trials are
// numbered as in the unsharded run.
func Schedule(cfg Config) iter.Seq[Spec] {
	return func(yield func(Spec) bool) {
		cells := cfg.cells()
		batch := max(1, cfg.Batch)
		per := len(cells) * len(cfg.Subjects) * batch
		for r := 0; cfg.Runs < 0 || r < cfg.Runs; r++ {
			if !cfg.Shard.Has(r) {
				continue
			}
			for c, cell := range cells {
				for j, sub := range cfg.Subjects {
					for i := range batch {
						spec := Spec{
							Trial: r*per + (c*len(cfg.Subjects)+j)*batch + i, Round: r,
							Scenario: cfg.Scenario.Name, Registry: sub.Name, Role: sub.Role, Signature: sub.Signature,
							Cell: cell.Label, Seed: cfg.Seed + int64(r), Knobs: cell.Knobs, RunID: cfg.RunID,
						}
						if batch > 1 {
							spec.Batch, spec.Iteration = batch, i
						}
						if !yield(spec) {
							return
						}
					}
				}
			}
		}
	}
}

// Plan returns cfg's trials as a slice; Runs must not be negative.
func Plan(cfg Config) []Spec { return slices.Collect(Schedule(cfg)) }

// Run runs cfg's trials and returns their records ordered by trial number.
// When ctx is done it starts no more trials, lets the executor stop the
// running ones, and returns what completed with ctx's error.
func Run(ctx context.Context, cfg Config) ([]result.Record, error) {
	if cfg.Scenario == nil || len(cfg.Subjects) == 0 || cfg.Runs == 0 {
		return nil, ErrNoTrials
	}
	for _, s := range cfg.Subjects {
		if !s.Role.Valid() {
			return nil, fmt.Errorf("harness: subject %q has no role (want %s or %s)", s.Name, result.Control, result.Clean)
		}
	}
	return RunSpecs(ctx, cfg, Schedule(cfg))
}

// RunSpecs runs the given trials as Run does.
func RunSpecs(ctx context.Context, cfg Config, specs iter.Seq[Spec]) ([]result.Record, error) {
	exec := cfg.Executor
	if exec == nil {
		exec = InProcess{Subjects: cfg.Subjects, Scenarios: []*scenarios.Scenario{cfg.Scenario}}
	}
	parallel := max(1, cfg.Parallel)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu      sync.Mutex
		records []result.Record
		sinkErr error
		wg      sync.WaitGroup
	)
	todo := make(chan Spec)
	// A worker hands its token back once its record is taken: the next
	// trial is admitted only then, so that Admit sees every record of the
	// trials that ended before it starts (failfast, --max-fails, budget).
	idle := make(chan struct{}, parallel)
	for range parallel {
		idle <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for spec := range todo {
				rec, ok := exec.Execute(ctx, spec)
				if !ok {
					idle <- struct{}{}
					continue
				}
				rec.Cell, rec.RunID = spec.Cell, spec.RunID
				mu.Lock()
				if sinkErr == nil {
					records = append(records, rec)
					if cfg.OnRecord != nil {
						if err := cfg.OnRecord(rec); err != nil {
							sinkErr = err
							cancel()
						}
					}
				}
				mu.Unlock()
				idle <- struct{}{}
			}
		}()
	}
feed:
	for s := range specs {
		select {
		case <-idle:
		case <-ctx.Done():
			break feed
		}
		if cfg.Admit != nil {
			switch cfg.Admit(s) {
			case Skip:
				idle <- struct{}{}
				continue
			case Stop:
				break feed
			}
		}
		select {
		case todo <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	sort.Slice(records, func(i, j int) bool { return records[i].Trial < records[j].Trial })
	if sinkErr != nil {
		return records, sinkErr
	}
	return records, context.Cause(ctx)
}

// InProcess runs trials in this process, one goroutine group at a time. It
// cannot survive a fatal error or a deadlock: use it only for subjects that
// never produce them. Each trial's registry gets the step-point hook of the
// chaos level its spec's knobs name (see scenarios.ResolveChaos), so that
// every executor built on InProcess (a process or pool worker too) runs a
// trial with the chaos its record claims. Hook, when set, replaces that
// hook (a test's probe); Now is the clock (time.Now when nil).
//
// Subjects and Scenarios are looked up by name before the scenario's own,
// so that users can stress their own registry (and scenario) in-process.
type InProcess struct {
	Hook      func(spec Spec) func(finalizer.Point)
	Now       func() time.Time
	Subjects  []scenarios.Subject
	Scenarios []*scenarios.Scenario
}

// Execute implements Executor.
func (p InProcess) Execute(ctx context.Context, spec Spec) (result.Record, bool) {
	armed := time.Now() // the watchdog is real time, whatever the record's clock
	now := p.Now
	if now == nil {
		now = time.Now
	}
	rec := newRecord(spec, now())
	sc, err := p.scenario(spec.Scenario)
	if err != nil {
		return errorRecord(rec, err.Error()), true
	}
	sub, err := p.subject(sc, spec.Registry)
	if err != nil {
		return errorRecord(rec, err.Error()), true
	}
	var hook func(finalizer.Point)
	if p.Hook != nil {
		hook = p.Hook(spec)
	} else if hook, err = ChaosHook(spec); err != nil {
		return errorRecord(rec, err.Error()), true
	}
	if n := spec.Knobs.Procs; n > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	}
	env := scenarios.Env{Subject: sub, Knobs: spec.Knobs, Seed: spec.Seed, Hook: hook, Now: now}
	if spec.WatchdogNs > 0 {
		// The watchdog was armed before the trial reached this process:
		// counted from here, the deadline errs late by the hand-over,
		// which the trial's margin covers.
		env.Deadline = armed.Add(time.Duration(spec.WatchdogNs))
	}
	obs, ended := runTrial(ctx, sc, env)
	if ctx.Err() != nil {
		return rec, false
	}
	if !ended {
		return errorRecord(rec, "scenario "+sc.Name+"'s trial did not return (runtime.Goexit in the scenario)"), true
	}
	return Grade(sc, spec, rec, obs), true
}

// ChaosHook returns the step-point hook of the chaos level spec's knobs
// name, resolved for the trial's GOMAXPROCS (its procs knob, or this
// process's), seeded with the trial's seed; nil when chaos is off. A level
// it does not know is an error: the trial cannot run with what its record
// would claim.
func ChaosHook(spec Spec) (func(finalizer.Point), error) {
	procs := spec.Knobs.Procs
	if procs <= 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	c, err := scenarios.ResolveChaos(spec.Knobs.Chaos, procs)
	if err != nil {
		return nil, fmt.Errorf("chaos: %v", err)
	}
	return c.Hook(spec.Seed), nil
}

// runTrial runs one trial on a goroutine of its own, so that a scenario
// that ends its goroutine with runtime.Goexit cannot take the caller's.
func runTrial(ctx context.Context, sc *scenarios.Scenario, env scenarios.Env) (obs scenarios.Observation, ended bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		obs = sc.Trial(ctx, env)
		ended = true
	}()
	<-done
	return obs, ended
}

// newRecord starts the record of spec's trial.
func newRecord(spec Spec, start time.Time) result.Record {
	return result.Record{
		Trial: spec.Trial, Scenario: spec.Scenario, Registry: spec.Registry, Role: spec.Role,
		Cell: spec.Cell, RunID: spec.RunID, Seed: spec.Seed, Knobs: spec.Knobs, Start: start.UTC(),
	}
}

func (p InProcess) scenario(name string) (*scenarios.Scenario, error) {
	for _, s := range p.Scenarios {
		if s != nil && s.Name == name {
			return s, nil
		}
	}
	return scenarios.Lookup(name)
}

func (p InProcess) subject(sc *scenarios.Scenario, name string) (scenarios.Subject, error) {
	for _, s := range p.Subjects {
		if s.Name == name && s.New != nil {
			return s, nil
		}
	}
	return sc.Subject(name)
}

// errorRecord makes rec a harness error: never a detection, never a pass.
func errorRecord(rec result.Record, msg string) result.Record {
	rec.Outcome, rec.Grade = result.Error, result.Forbidden
	rec.Detected, rec.Signature = false, false
	rec.Failures = map[result.Outcome]int{result.Error: 1}
	rec.FirstError = "error: " + msg
	rec.TTFFNanos = 0
	return rec
}

// Grade fills rec from obs and grades its outcome against the scenario's
// declaration and spec's role and signature.
func Grade(sc *scenarios.Scenario, spec Spec, rec result.Record, obs scenarios.Observation) result.Record {
	o := obs.Outcome
	if o == "" {
		o = result.OK
	}
	rec.Failures = obs.Failures
	rec.DurationNs = int64(obs.Duration)
	rec.FirstError = obs.FirstError
	rec.Stack = obs.Stack
	rec.Mutations = obs.Mutations
	rec.Counts = obs.Counts
	rec.Warnings = obs.Warnings
	rec = gradeOutcome(sc, spec, rec, o)
	if rec.Detected {
		rec.TTFFNanos = int64(obs.TTFF)
	}
	return rec
}

// gradeOutcome sets rec's outcome o, its grade, and whether it is a failure
// of the subject (Detected: forbidden, and not a harness error) and one of
// its signature outcomes (Signature: a detection, for a control).
func gradeOutcome(sc *scenarios.Scenario, spec Spec, rec result.Record, o result.Outcome) result.Record {
	rec.Outcome = o
	rec.Role = spec.Role
	rec.Grade = sc.Grade(o)
	rec.Detected = rec.Grade == result.Forbidden && o != result.Error
	rec.Signature = rec.Detected && slices.Contains(spec.Signature, o)
	if o == result.Error {
		rec.TTFFNanos = 0
	}
	return rec
}
