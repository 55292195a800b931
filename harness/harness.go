// Package harness is racestress's engine: it plans a scenario's trials
// against registries, seeds them, runs each one in a child process (or in
// this process), classifies how it ended, grades the outcome against the
// scenario's declaration and hands every trial's record to the caller as
// soon as it completes.
package harness

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness/result"
	"github.com/racestress/racestress/scenarios"
)

// Spec is one planned trial: everything a worker needs to run it.
type Spec struct {
	Trial    int          `json:"trial"`
	Scenario string       `json:"scenario"`
	Registry string       `json:"registry"`
	Seed     int64        `json:"seed"`
	Knobs    result.Knobs `json:"knobs"`
	// Chaos names the chaos level of the trial's step-point hook ("" = off).
	Chaos string `json:"chaos,omitempty"`
}

// Executor runs one trial and returns its graded record. It must return a
// record for every trial it was given, classifying its own failures as
// outcome error, unless ctx was cancelled, in which case it returns ok=false.
type Executor interface {
	Execute(ctx context.Context, spec Spec) (rec result.Record, ok bool)
}

// Config is what Run runs.
type Config struct {
	Scenario   *scenarios.Scenario
	Registries []finalizer.Variant
	// Runs is the number of trials per registry; trials alternate between
	// registries so that they meet the same machine conditions.
	Runs int
	// Seed is the seed of round 0; round i uses Seed+i for every registry,
	// so a trial replays with --seed set to its recorded seed and --runs 1.
	Seed  int64
	Knobs result.Knobs
	// Chaos is the chaos level name recorded in every Spec.
	Chaos string
	// Executor runs the trials; in this process when nil.
	Executor Executor
	// Parallel is the number of trials run at once; 1 when zero.
	Parallel int
	// OnRecord, when set, receives each record as soon as its trial ends,
	// one call at a time; an error from it stops the run and is returned.
	OnRecord func(result.Record) error
}

// ErrNoTrials is returned when a Config asks for nothing to run.
var ErrNoTrials = errors.New("harness: no scenario, registry or runs")

// Plan returns cfg's trials in the order they start.
func Plan(cfg Config) []Spec {
	var specs []Spec
	for i := range cfg.Runs {
		for j, reg := range cfg.Registries {
			specs = append(specs, Spec{
				Trial: i*len(cfg.Registries) + j, Scenario: cfg.Scenario.Name, Registry: reg.Name,
				Seed: cfg.Seed + int64(i), Knobs: cfg.Knobs, Chaos: cfg.Chaos,
			})
		}
	}
	return specs
}

// Run runs cfg's trials and returns their records ordered by trial number.
// When ctx is done it starts no more trials, lets the executor stop the
// running ones, and returns what completed with ctx's error.
func Run(ctx context.Context, cfg Config) ([]result.Record, error) {
	if cfg.Scenario == nil || len(cfg.Registries) == 0 || cfg.Runs < 1 {
		return nil, ErrNoTrials
	}
	return RunSpecs(ctx, cfg, Plan(cfg))
}

// RunSpecs runs the given trials as Run does.
func RunSpecs(ctx context.Context, cfg Config, specs []Spec) ([]result.Record, error) {
	exec := cfg.Executor
	if exec == nil {
		exec = InProcess{}
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
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for spec := range todo {
				rec, ok := exec.Execute(ctx, spec)
				if !ok {
					continue
				}
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
			}
		}()
	}
feed:
	for _, s := range specs {
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
// cannot survive a fatal error or a deadlock: use it only for registries
// that never produce them. Hook, when set, is every registry's step-point
// hook; Now is the clock (time.Now when nil).
type InProcess struct {
	Hook func(spec Spec) func(finalizer.Point)
	Now  func() time.Time
}

// Execute implements Executor.
func (p InProcess) Execute(ctx context.Context, spec Spec) (result.Record, bool) {
	now := p.Now
	if now == nil {
		now = time.Now
	}
	rec := result.Record{
		Trial: spec.Trial, Scenario: spec.Scenario, Registry: spec.Registry,
		Seed: spec.Seed, Knobs: spec.Knobs, Start: now().UTC(),
	}
	sc, err := scenarios.Lookup(spec.Scenario)
	if err != nil {
		return errorRecord(rec, err.Error()), true
	}
	reg, ok := finalizer.Lookup(spec.Registry)
	if !ok {
		return errorRecord(rec, "unknown registry "+spec.Registry), true
	}
	var hook func(finalizer.Point)
	if p.Hook != nil {
		hook = p.Hook(spec)
	}
	rec.Clean = reg.Clean
	obs := sc.Trial(ctx, scenarios.Env{Registry: reg, Knobs: spec.Knobs, Seed: spec.Seed, Hook: hook, Now: now})
	if ctx.Err() != nil {
		return rec, false
	}
	return Grade(sc, rec, obs), true
}

func errorRecord(rec result.Record, msg string) result.Record {
	rec.Outcome, rec.Grade, rec.Detected = result.Error, result.Forbidden, true
	rec.Failures = map[result.Outcome]int{result.Error: 1}
	rec.FirstError = "error: " + msg
	return rec
}

// Grade fills rec from obs and grades its outcome against the scenario's
// declaration.
func Grade(sc *scenarios.Scenario, rec result.Record, obs scenarios.Observation) result.Record {
	rec.Outcome = obs.Outcome
	if rec.Outcome == "" {
		rec.Outcome = result.OK
	}
	rec.Grade = sc.Grade(rec.Outcome)
	rec.Failures = obs.Failures
	rec.Detected = rec.Grade == result.Forbidden
	if rec.Detected {
		rec.TTFFNanos = int64(obs.TTFF)
	}
	rec.DurationNs = int64(obs.Duration)
	rec.FirstError = obs.FirstError
	rec.Mutations = obs.Mutations
	rec.Counts = obs.Counts
	rec.Warnings = obs.Warnings
	return rec
}
