package harness_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

func TestInProcessResolvesChaosItself(t *testing.T) {
	var hooked atomic.Int64
	probe := scenarios.RegistrySubject("probe", result.Clean, "", func(opts ...finalizer.Option) finalizer.Registry {
		if finalizer.NewOptions(opts...).Hook != nil {
			hooked.Add(1)
		}
		return finalizer.NewFixed(opts...)
	})
	k := scenarios.DefaultKnobs()
	k.Seconds, k.SleepScale = 0.02, 0
	spec := func(chaos string, procs int) harness.Spec {
		k := k
		k.Chaos, k.Procs = chaos, procs
		return harness.Spec{Scenario: scenarios.ThreadSafety.Name, Registry: "probe", Role: result.Clean, Seed: 1, Knobs: k}
	}
	exec := harness.InProcess{Subjects: []scenarios.Subject{probe}}
	for _, c := range []struct {
		chaos  string
		procs  int
		hooked bool
	}{{"high", 0, true}, {"low", 0, true}, {"off", 0, false}, {"", 0, false}, {"auto", 1, true}, {"auto", 2, false}} {
		hooked.Store(0)
		rec, ok := exec.Execute(context.Background(), spec(c.chaos, c.procs))
		require.True(t, ok)
		assert.Equal(t, result.OK, rec.Outcome, "chaos %q: %s", c.chaos, rec.FirstError)
		assert.Equal(t, c.hooked, hooked.Load() > 0, "chaos %q procs %d", c.chaos, c.procs)
		assert.Equal(t, c.chaos, rec.Knobs.Chaos, "the record claims what ran")
	}
	t.Run("a level the engine does not know is a harness error, never a trial without it", func(t *testing.T) {
		hooked.Store(0)
		rec, ok := exec.Execute(context.Background(), spec("max", 0))
		require.True(t, ok)
		assert.Equal(t, result.Error, rec.Outcome)
		assert.Contains(t, rec.FirstError, "chaos: ")
		assert.False(t, rec.Detected)
	})
	t.Run("a Hook given replaces the chaos hook", func(t *testing.T) {
		var calls atomic.Int64
		hooked.Store(0)
		withHook := exec
		withHook.Hook = func(harness.Spec) func(finalizer.Point) { return func(finalizer.Point) { calls.Add(1) } }
		rec, ok := withHook.Execute(context.Background(), spec("off", 0))
		require.True(t, ok)
		assert.Equal(t, result.OK, rec.Outcome)
		assert.Positive(t, hooked.Load())
	})
}
