// Package stresstest runs racestress from a user's own go test: Verify
// stresses a registry through the same run library (package stress) and
// engine, and fails the test with the same one-line verdict, as racestress
// run and gate.
package stresstest

import (
	"context"
	"fmt"
	"testing"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/stress"
)

// VerifyOption configures Verify.
type VerifyOption func(*stress.Config)

// MinPower makes Verify require every control's detection rate to have a
// lower 95% bound of at least p (besides at least one detection).
func MinPower(p float64) VerifyOption { return func(c *stress.Config) { c.MinPower = p } }

// RequireControl makes Verify fail when no control ran, as the gate does.
func RequireControl() VerifyOption { return func(c *stress.Config) { c.RequireControl = true } }

// Verify runs cfg's trials (in this process unless cfg.Executor says
// otherwise) and fails t, with the run's one-line verdict, unless they pass:
// the same verdict, from the same function, that racestress run and gate
// give. Its run is a stress.Config: cfg's scenario, subjects with their
// roles, knobs (every knob resolved by the engine, chaos included), cells,
// rounds, seed, executor and parallelism, checked as racestress checks
// them; it writes no results file. A configuration out of bounds or a
// harness error fails t too: neither is ever a pass.
//
//	func TestMyRegistry(t *testing.T) {
//		stresstest.Verify(t, harness.Config{Scenario: scenarios.ThreadSafety,
//			Subjects: []scenarios.Subject{mine}, Runs: 20, Knobs: k})
//	}
func Verify(t testing.TB, cfg harness.Config, opts ...VerifyOption) report.Verdict {
	t.Helper()
	c := stress.Config{
		Declared: cfg.Scenario, Subjects: cfg.Subjects, Knobs: &cfg.Knobs, Cells: cfg.Cells,
		Runs: cfg.Runs, RunsSet: true, Seed: cfg.Seed, SeedSet: true,
		Isolation: "none", Executor: cfg.Executor, PoolTrials: harness.DefaultPoolTrials, Parallel: max(1, cfg.Parallel),
	}
	for _, o := range opts {
		o(&c)
	}
	ctx := context.Background()
	if d, ok := t.(interface{ Context() context.Context }); ok {
		ctx = d.Context()
	}
	var res *stress.Result
	plan, err := stress.Prepare(c)
	if err == nil {
		res, err = plan.Run(ctx, stress.Hooks{})
	}
	if err == nil {
		err = res.Err
	}
	if err != nil {
		n := 0
		if res != nil {
			n = len(res.Records)
		}
		v := report.Verdict{Status: report.Invalid, Line: fmt.Sprintf("INVALID: %v (%d trials completed)", err, n)}
		t.Errorf("racestress: %s", v.Line)
		return v
	}
	sum := res.Summary
	v := sum.Verdict()
	for _, w := range sum.Warnings {
		t.Logf("racestress: warning: %s", w)
	}
	if v.Status != report.Pass {
		t.Errorf("racestress: %s", v.Line)
	} else {
		t.Logf("racestress: %s", v.Line)
	}
	return v
}
