package stresstest_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
	"github.com/racestress/racestress/stresstest"
)

// recordingTB is a testing.TB whose failures are collected, not reported.
type recordingTB struct {
	testing.TB
	errors, logs []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// skipper is a user's registry whose Run returns without calling anything:
// it never panics, so only Run's contract check catches it.
type skipper struct{ finalizer.Registry }

func (skipper) Run(finalizer.Priority) {}

func TestVerifyGivesTheRunsVerdict(t *testing.T) {
	k := scenarios.DefaultKnobs()
	k.Seconds = 0.1
	fixed, err := scenarios.FinalizeOrder.Subject("fixed")
	require.NoError(t, err)
	t.Run("a clean registry passes", func(t *testing.T) {
		tb := &recordingTB{TB: t}
		v := stresstest.Verify(tb, harness.Config{Scenario: scenarios.FinalizeOrder, Subjects: []scenarios.Subject{fixed}, Runs: 2, Knobs: k})
		assert.Equal(t, report.Pass, v.Status)
		assert.Empty(t, tb.errors)
		require.NotEmpty(t, tb.logs)
		assert.Contains(t, tb.logs[len(tb.logs)-1], "racestress: PASS fixed clean in 2 trials (failure rate < 84.2% at 95%)")
	})
	t.Run("a registry that breaks Run's contract without panicking fails t with the one-line verdict", func(t *testing.T) {
		tb := &recordingTB{TB: t}
		mine := scenarios.RegistrySubject("mine", result.Clean, "", func(opts ...finalizer.Option) finalizer.Registry {
			return skipper{finalizer.NewFixed(opts...)}
		})
		v := stresstest.Verify(tb, harness.Config{Scenario: scenarios.FinalizeOrder, Subjects: []scenarios.Subject{mine}, Runs: 1, Knobs: k})
		assert.Equal(t, report.Regression, v.Status)
		require.Len(t, tb.errors, 1)
		assert.Contains(t, tb.errors[0], "racestress: FAIL regression: mine showed forbidden outcomes in 1 of 1 trials")
		assert.Contains(t, tb.errors[0], "contract: Run 1 (min 0) returned without calling finalizer d10")
	})
	t.Run("the gate's policy: a run with no control fails", func(t *testing.T) {
		tb := &recordingTB{TB: t}
		v := stresstest.Verify(tb, harness.Config{Scenario: scenarios.FinalizeOrder, Subjects: []scenarios.Subject{fixed}, Runs: 1, Knobs: k}, stresstest.RequireControl())
		assert.Equal(t, report.LostPower, v.Status)
		assert.Contains(t, tb.errors[0], "no control ran")
	})
}
