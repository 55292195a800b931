package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestAGroupWithAHarnessErrorDidNotPass(t *testing.T) {
	// Four clean trials and one the harness could not run: not a pass,
	// neither in the group nor in the JSON report.
	s := summary(policy{}, trials("fixed", result.Clean, 5, 0, 1), trials("unfixed", result.Control, 5, 4, 1))
	doc := NewJSONReport(s)
	require.Len(t, doc.Groups, 2)
	for i, g := range s.Groups {
		assert.Equal(t, 4, g.Runs)
		assert.Equal(t, 1, g.Errors)
		assert.False(t, g.Passed(), g.Registry)
		assert.False(t, doc.Groups[i].Passed, g.Registry)
	}
	assert.Equal(t, Invalid, s.Verdict().Status)
}

func TestAControlsOtherFailures(t *testing.T) {
	// A control never caught by its signature that failed otherwise twice:
	// those are its other failures, and the first one's error is the
	// group's first error.
	control := trials("unfixed", result.Control, 4, 0, 0)
	for i, msg := range []string{"lost: 1 finalizer never called", "lost: 2 finalizers never called"} {
		r := &control[i+1]
		r.Outcome, r.Grade, r.Detected, r.TTFFNanos, r.FirstError = result.Lost, result.Forbidden, true, 1e6, msg
	}
	s := summary(policy{}, control)
	g := s.Groups[0]
	assert.Equal(t, 0, g.Detected)
	assert.Equal(t, 2, g.Other)
	assert.Equal(t, "lost: 1 finalizer never called", g.FirstError)
	assert.Equal(t, 2, NewJSONReport(s).Groups[0].Other)
	assert.Equal(t, "signature only (2 other failures)", signatureCell(g))
}

func TestOutcomesMostFrequentFirstInAFixedOrder(t *testing.T) {
	g := Group{Outcomes: map[result.Outcome]int{
		result.OK: 3, result.Lost: 1, result.ChangedSize: 1, "zz-new": 1, "aa-new": 1, result.Error: 2,
	}}
	want := []result.Outcome{result.OK, result.Error}
	// Ties: known outcomes in their order, then those of other versions by
	// name.
	var ties []result.Outcome
	for _, o := range result.Outcomes {
		if o == result.Lost || o == result.ChangedSize {
			ties = append(ties, o)
		}
	}
	want = append(append(want, ties...), "aa-new", "zz-new")
	for range 20 { // map order varies from run to run
		assert.Equal(t, want, outcomesOf(g))
	}
}
