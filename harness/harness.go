// Package harness is racestress's engine: it plans a scenario's trials
// against registries, seeds them, runs each one in a child process (or in
// this process), classifies how it ended, grades the outcome against the
// scenario's declaration and hands every trial's record to the caller as
// soon as it completes.
package harness

import (
	"context"
	"errors"
	"iter"
	"runtime"
	"slices"
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
	Round    int          `json:"round"`
	Scenario string       `json:"scenario"`
	Registry string       `json:"registry"`
	Cell     string       `json:"cell,omitempty"`
	Seed     int64        `json:"seed"`
	Knobs    result.Knobs `json:"knobs"`
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

// Admission is an Admit decision.
type Admission int

// The Admit decisions.
const (
	Start Admission = iota // run the trial
	Skip                   // leave this trial out, go on with the next
	Stop                   // start no more trials
)

// Config is what Run runs.
type Config struct {
	Scenario   *scenarios.Scenario
	Registries []finalizer.Variant
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
	Admit func(Spec) Admission
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

func (cfg Config) cells() []Cell {
	if len(cfg.Cells) > 0 {
		return cfg.Cells
	}
	return []Cell{{Knobs: cfg.Knobs}}
}

// Schedule yields cfg's trials in the order they start: round by round
// (forever when Runs is negative), in each round every cell and registry.
// Trial numbers and seeds depend only on the round, so a shard's trials are
// numbered as in the unsharded run.
func Schedule(cfg Config) iter.Seq[Spec] {
	return func(yield func(Spec) bool) {
		cells := cfg.cells()
		per := len(cells) * len(cfg.Registries)
		for r := 0; cfg.Runs < 0 || r < cfg.Runs; r++ {
			if !cfg.Shard.Has(r) {
				continue
			}
			for c, cell := range cells {
				for j, reg := range cfg.Registries {
					spec := Spec{
						Trial: r*per + c*len(cfg.Registries) + j, Round: r,
						Scenario: cfg.Scenario.Name, Registry: reg.Name, Cell: cell.Label,
						Seed: cfg.Seed + int64(r), Knobs: cell.Knobs,
					}
					if !yield(spec) {
						return
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
	if cfg.Scenario == nil || len(cfg.Registries) == 0 || cfg.Runs == 0 {
		return nil, ErrNoTrials
	}
	return RunSpecs(ctx, cfg, Schedule(cfg))
}

// RunSpecs runs the given trials as Run does.
func RunSpecs(ctx context.Context, cfg Config, specs iter.Seq[Spec]) ([]result.Record, error) {
	exec := cfg.Executor
	if exec == nil {
		exec = InProcess{Registries: cfg.Registries, Scenarios: []*scenarios.Scenario{cfg.Scenario}}
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
				rec.Cell = spec.Cell
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
	for s := range specs {
		if cfg.Admit != nil {
			switch cfg.Admit(s) {
			case Skip:
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
// cannot survive a fatal error or a deadlock: use it only for registries
// that never produce them. Hook, when set, is every registry's step-point
// hook; Now is the clock (time.Now when nil).
//
// Registries and Scenarios are looked up by name before the built-in ones,
// so that users can stress their own registry (and scenario) in-process.
type InProcess struct {
	Hook       func(spec Spec) func(finalizer.Point)
	Now        func() time.Time
	Registries []finalizer.Variant
	Scenarios  []*scenarios.Scenario
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
	sc, err := p.scenario(spec.Scenario)
	if err != nil {
		return errorRecord(rec, err.Error()), true
	}
	reg, ok := p.registry(spec.Registry)
	if !ok {
		return errorRecord(rec, "unknown registry "+spec.Registry), true
	}
	var hook func(finalizer.Point)
	if p.Hook != nil {
		hook = p.Hook(spec)
	}
	rec.Clean = reg.Clean
	if n := spec.Knobs.Procs; n > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	}
	obs := sc.Trial(ctx, scenarios.Env{Registry: reg, Knobs: spec.Knobs, Seed: spec.Seed, Hook: hook, Now: now})
	if ctx.Err() != nil {
		return rec, false
	}
	return Grade(sc, rec, obs), true
}

func (p InProcess) scenario(name string) (*scenarios.Scenario, error) {
	for _, s := range p.Scenarios {
		if s != nil && s.Name == name {
			return s, nil
		}
	}
	return scenarios.Lookup(name)
}

func (p InProcess) registry(name string) (finalizer.Variant, bool) {
	for _, v := range p.Registries {
		if v.Name == name && v.New != nil {
			return v, true
		}
	}
	return finalizer.Lookup(name)
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
