// Package stresstest runs racestress from a user's own go test: Verify
// stresses a registry through the same engine, and fails the test with the
// same one-line verdict, as racestress run and gate.
package stresstest

import (
	"context"
	"fmt"
	"testing"

	"github.com/racestress/racestress/harness"

	"github.com/racestress/racestress/report"
)

// VerifyOption configures Verify.
type VerifyOption func(*report.Policy)

// MinPower makes Verify require every control's detection rate to have a
// lower 95% bound of at least p (besides at least one detection).
func MinPower(p float64) VerifyOption { return func(pol *report.Policy) { pol.MinPower = p } }

// RequireControl makes Verify fail when no control ran, as the gate does.
func RequireControl() VerifyOption { return func(pol *report.Policy) { pol.RequireControl = true } }

// Verify runs cfg's trials (in this process unless cfg.Executor says
// otherwise) and fails t, with the run's one-line verdict, unless they pass:
// the same verdict, from the same function, that racestress run and gate
// give. A harness error fails t too: it is never a pass.
//
//	func TestMyRegistry(t *testing.T) {
//		stresstest.Verify(t, harness.Config{Scenario: scenarios.ThreadSafety,
//			Subjects: []scenarios.Subject{mine}, Runs: 20, Knobs: k})
//	}
func Verify(t testing.TB, cfg harness.Config, opts ...VerifyOption) report.Verdict {
	t.Helper()
	var pol report.Policy
	for _, o := range opts {
		o(&pol)
	}
	for _, s := range cfg.Subjects {
		pol.Subjects = append(pol.Subjects, s.Name)
	}
	ctx := context.Background()
	if d, ok := t.(interface{ Context() context.Context }); ok {
		ctx = d.Context()
	}
	records, err := harness.Run(ctx, cfg)
	sum := report.Summarize(records)
	sum.Policy = pol
	v := sum.Verdict()
	if err != nil {
		v.Status, v.Line = report.Invalid, fmt.Sprintf("INVALID: %v (%d trials completed)", err, len(records))
		t.Errorf("racestress: %s", v.Line)
		return v
	}
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
