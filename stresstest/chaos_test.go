package stresstest_test

import (
	"sync/atomic"
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

// hookProbe is a user's registry, the fixed one, whose constructor notes
// the step hook its Options carry and counts the hook's calls.
type hookProbe struct {
	built, hooked atomic.Int64
	calls         atomic.Int64
}

func (p *hookProbe) subject() scenarios.Subject {
	return scenarios.RegistrySubject("probe", result.Clean, "the fixed registry, its step hook observed", func(opts ...finalizer.Option) finalizer.Registry {
		p.built.Add(1)
		hook := finalizer.NewOptions(opts...).Hook
		if hook == nil {
			return finalizer.NewFixed(opts...)
		}
		p.hooked.Add(1)
		return finalizer.NewFixed(append(opts, finalizer.WithHook(func(pt finalizer.Point) {
			p.calls.Add(1)
			hook(pt)
		}))...)
	})
}

func TestVerifyRunsTheChaosItsRecordsClaim(t *testing.T) {
	k := scenarios.DefaultKnobs()
	k.Seconds, k.SleepScale = 0.05, 0
	t.Run("chaos high: the registry gets the chaos hook, and the trial calls it", func(t *testing.T) {
		var p hookProbe
		k := k
		k.Chaos = "high"
		tb := &recordingTB{TB: t}
		v := stresstest.Verify(tb, harness.Config{Scenario: scenarios.ThreadSafety, Subjects: []scenarios.Subject{p.subject()}, Runs: 2, Knobs: k})
		assert.Equal(t, report.Pass, v.Status, tb.errors)
		require.Positive(t, p.built.Load())
		assert.Equal(t, p.built.Load(), p.hooked.Load(), "every registry of the run got the hook")
		// A 50 ms trial with no runner sleep makes and runs thousands of
		// finalizers, each run step a hook call: at least one is certain.
		assert.Positive(t, p.calls.Load())
	})
	t.Run("chaos off: no hook", func(t *testing.T) {
		var p hookProbe
		k := k
		k.Chaos = "off"
		stresstest.Verify(&recordingTB{TB: t}, harness.Config{Scenario: scenarios.ThreadSafety, Subjects: []scenarios.Subject{p.subject()}, Runs: 1, Knobs: k})
		require.Positive(t, p.built.Load())
		assert.Zero(t, p.hooked.Load())
	})
	t.Run("an unknown chaos level is refused, not run without it", func(t *testing.T) {
		var p hookProbe
		k := k
		k.Chaos = "max"
		tb := &recordingTB{TB: t}
		v := stresstest.Verify(tb, harness.Config{Scenario: scenarios.ThreadSafety, Subjects: []scenarios.Subject{p.subject()}, Runs: 1, Knobs: k})
		assert.Equal(t, report.Invalid, v.Status)
		assert.Zero(t, p.built.Load())
	})
}
