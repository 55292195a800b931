// Package harness is racestress's engine: it runs a scenario's trials against
// registries, seeds them, grades each outcome against the scenario's
// declaration and hands every trial's record to the caller as it completes.
package harness

import (
	"context"
	"errors"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness/result"
	"github.com/racestress/racestress/scenarios"
)

// Config is what Run runs.
type Config struct {
	Scenario   *scenarios.Scenario
	Registries []finalizer.Variant
	// Runs is the number of trials per registry; trials alternate between
	// registries so that they meet the same machine conditions.
	Runs int
	// Seed is the seed of trial 0; trial i uses Seed+i (one seed per round,
	// shared by the registries of that round), so a trial replays with
	// --seed set to its recorded seed and --runs 1.
	Seed  int64
	Knobs result.Knobs
	// Hook, when set, is installed as every registry's step-point hook.
	Hook func(finalizer.Point)
	// OnRecord, when set, receives each record as soon as its trial ends;
	// an error from it stops the run and is returned.
	OnRecord func(result.Record) error
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// ErrNoTrials is returned when a Config asks for nothing to run.
var ErrNoTrials = errors.New("harness: no scenario, registry or runs")

// Run runs cfg's trials in this process, one after another, and returns their
// records in order. It stops early, returning what completed and ctx's
// error, when ctx is done.
func Run(ctx context.Context, cfg Config) ([]result.Record, error) {
	if cfg.Scenario == nil || len(cfg.Registries) == 0 || cfg.Runs < 1 {
		return nil, ErrNoTrials
	}
	var records []result.Record
	for i := range cfg.Runs {
		for j, reg := range cfg.Registries {
			if err := ctx.Err(); err != nil {
				return records, err
			}
			rec := Trial(ctx, cfg, reg, i*len(cfg.Registries)+j, cfg.Seed+int64(i))
			records = append(records, rec)
			if cfg.OnRecord != nil {
				if err := cfg.OnRecord(rec); err != nil {
					return records, err
				}
			}
		}
	}
	return records, nil
}

// Trial runs one trial of cfg.Scenario on reg in this process and returns
// its graded record.
func Trial(ctx context.Context, cfg Config, reg finalizer.Variant, n int, seed int64) result.Record {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	env := scenarios.Env{Registry: reg, Knobs: cfg.Knobs, Seed: seed, Hook: cfg.Hook, Now: now}
	start := now()
	obs := cfg.Scenario.Trial(ctx, env)
	return Grade(cfg.Scenario, result.Record{
		Trial: n, Scenario: cfg.Scenario.Name, Registry: reg.Name, Clean: reg.Clean,
		Seed: seed, Knobs: cfg.Knobs, Start: start.UTC(),
	}, obs)
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
