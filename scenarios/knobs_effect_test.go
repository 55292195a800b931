package scenarios_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// recorder is a fixed registry that remembers the priority of every
// finalizer registered with it.
type recorder struct {
	finalizer.Registry
	mu    sync.Mutex
	prios []finalizer.Priority
}

func (r *recorder) Register(obj any, cb func(), p finalizer.Priority) finalizer.Handle {
	r.mu.Lock()
	r.prios = append(r.prios, p)
	r.mu.Unlock()
	return r.Registry.Register(obj, cb, p)
}

func (r *recorder) priorities() []finalizer.Priority {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]finalizer.Priority(nil), r.prios...)
}

// recordingSubject returns a subject whose every registry is a recorder,
// and a function returning the recorders built so far.
func recordingSubject() (scenarios.Subject, func() []*recorder) {
	var mu sync.Mutex
	var built []*recorder
	sub := wrap("recorder", func(r finalizer.Registry) finalizer.Registry {
		rec := &recorder{Registry: r}
		mu.Lock()
		built = append(built, rec)
		mu.Unlock()
		return rec
	})
	return sub, func() []*recorder {
		mu.Lock()
		defer mu.Unlock()
		return append([]*recorder(nil), built...)
	}
}

func TestThreadSafetyTakesTheSmallestKnobs(t *testing.T) {
	// One slot of one object with priority 1 is a valid trial, not an error.
	k := shortKnobs()
	k.Seconds = 0.05
	k.SleepScale = 0.05
	k.Slots, k.PerSlot, k.MaxPriority = 1, 1, 1
	require.NoError(t, scenarios.ThreadSafety.CheckKnobs(k))
	sub, regs := recordingSubject()
	obs := scenarios.ThreadSafety.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k, Seed: 1})
	require.Equal(t, result.OK, obs.Outcome, obs.FirstError)
	assert.Positive(t, obs.Counts.Objects)
	require.Len(t, regs(), 1)
	for _, p := range withoutTeardownsCheck(t, regs()[0].priorities(), 1) {
		if !p.IsSet() {
			continue // a maker's sentinel (see threadSafety)
		}
		assert.Equal(t, finalizer.P(1), p)
	}
}

// withoutTeardownsCheck returns ps without the finalizer h of bpo24484's
// teardown check (registerDuringRun), the one registered with priority
// max+1, above every maker's (its d has priority max).
func withoutTeardownsCheck(t *testing.T, ps []finalizer.Priority, max int) []finalizer.Priority {
	t.Helper()
	i := slices.Index(ps, finalizer.P(max+1))
	require.GreaterOrEqual(t, i, 0, "teardown's check registered h")
	out := slices.Delete(slices.Clone(ps), i, i+1)
	require.NotContains(t, out, finalizer.P(max+1), "only h is above max")
	return out
}

func TestThreadSafetyDrawsPrioritiesFromOneToMaxPriority(t *testing.T) {
	// The makers' finalizers and, with reentrant, those their callbacks
	// register are all drawn from 1..max-priority; only the makers'
	// sentinels, registered again each time a Run cleared them, have none.
	k := shortKnobs()
	k.Seconds = 0.05
	k.SleepScale = 0.05
	k.MaxPriority = 3
	k.Reentrant = true
	sub, regs := recordingSubject()
	obs := scenarios.ThreadSafety.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k, Seed: 2})
	require.Equal(t, result.OK, obs.Outcome, obs.FirstError)
	require.Len(t, regs(), 1)
	var prios []finalizer.Priority
	sentinels := 0
	for _, p := range withoutTeardownsCheck(t, regs()[0].priorities(), 3) {
		if p.IsSet() {
			prios = append(prios, p)
		} else {
			sentinels++
		}
	}
	assert.LessOrEqual(t, uint64(sentinels), obs.Counts.Runs+1, "a sentinel per Run's clear, and the first")
	// Every maker's finalizer is called by teardown at the latest, and each
	// call re-enters once: more registrations than objects.
	assert.Greater(t, uint64(len(prios)), obs.Counts.Objects, "the callbacks re-entered the registry")
	seen := map[int]bool{}
	for _, p := range prios {
		require.GreaterOrEqual(t, p.Value(), 1, "priority %v", p)
		require.LessOrEqual(t, p.Value(), 3, "priority %v", p)
		seen[p.Value()] = true
	}
	assert.Len(t, seen, 3, "every priority of 1..3 drawn")
}

// gcCycles reads the runtime's count of completed GC cycles, as the
// scenarios do.
func gcCycles(t *testing.T) uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	require.Equal(t, metrics.KindUint64, s[0].Value.Kind())
	return s[0].Value.Uint64()
}

func TestTrialsCountTheGCCyclesTheyRan(t *testing.T) {
	// A trial's GCCycles are the cycles completed during it: never more
	// than the process completed meanwhile. A count that added the cycles
	// before the trial instead of subtracting them would exceed that bound
	// as soon as the process had completed more cycles before the trial than
	// the trial window does (a 50 ms trial completes about 3 to 15): make
	// sure of 64 first.
	for gcCycles(t) < 64 {
		runtime.GC()
	}
	trials := map[string]func() scenarios.Observation{
		"bpo24484": func() scenarios.Observation {
			k := shortKnobs()
			k.Seconds = 0.05
			return scenarios.ThreadSafety.Trial(context.Background(), scenarios.Env{Subject: variant(t, "fixed"), Knobs: k, Seed: 1})
		},
		"weakcache": func() scenarios.Observation {
			sub, err := scenarios.WeakCache.Subject("compare-and-delete")
			require.NoError(t, err)
			k := weakKnobs(t, nil)
			k.Seconds = 0.05
			return scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k, Seed: 1})
		},
	}
	for name, trial := range trials {
		before := gcCycles(t)
		obs := trial()
		after := gcCycles(t)
		require.Equal(t, result.OK, obs.Outcome, "%s: %s", name, obs.FirstError)
		assert.LessOrEqual(t, obs.Counts.GCCycles, after-before, name)
	}
}

func TestTheHookReachesTheSubject(t *testing.T) {
	// Env.Hook (the chaos level's hook) is passed to the registry or cache
	// the trial builds: it is called at their step points.
	var calls atomic.Int64
	hook := func(finalizer.Point) { calls.Add(1) }
	obs := scenarios.FinalizeOrder.Trial(context.Background(), scenarios.Env{Subject: variant(t, "fixed"), Knobs: shortKnobs(), Hook: hook})
	require.Equal(t, result.OK, obs.Outcome, obs.FirstError)
	assert.Positive(t, calls.Load(), "finalize-order: Run's calls step the hook")

	calls.Store(0)
	sub, err := scenarios.WeakCache.Subject("compare-and-delete")
	require.NoError(t, err)
	k := weakKnobs(t, nil)
	k.Seconds = 0.05
	obs = scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k, Seed: 1, Hook: hook})
	require.Equal(t, result.OK, obs.Outcome, obs.FirstError)
	assert.Positive(t, calls.Load(), "weakcache: installs step the hook")
}

// reentryForgetter is a fixed registry that registers the finalizers a
// callback registers (re-entering the registry) with a callback that does
// nothing: it loses every re-entrant registration's callback.
type reentryForgetter struct {
	finalizer.Registry
}

func (r reentryForgetter) Register(obj any, cb func(), p finalizer.Priority) finalizer.Handle {
	if inCallback() {
		return r.Registry.Register(obj, func() {}, p)
	}
	return r.Registry.Register(obj, func() { r.callback(cb) }, p)
}

// callback calls cb; inCallback finds it on the stack.
//
//go:noinline
func (reentryForgetter) callback(cb func()) { cb() }

// inCallback reports whether the calling goroutine is inside a callback of
// a reentryForgetter.
func inCallback() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".reentryForgetter.callback") {
			return true
		}
		if !more {
			return false
		}
	}
}

func TestThreadSafetyCountsReentrantFinalizersAsRegistered(t *testing.T) {
	// With reentrant, the finalizers that callbacks register count among
	// those teardown must see called: a registry that loses their callbacks
	// is caught as lost. Deterministic: at sleep-scale 1000 the runner's
	// first sleep, drawn from its seeded generator, outlasts the trial, so
	// no runner Run overlaps a registration; every maker's object is
	// collected by teardown's drain at the latest, and its callback
	// re-enters outside any Run. Those re-entrant finalizers are removed
	// uncalled by teardown's Run (lost, each named) and, with keep-going,
	// counted as never called.
	defer scenarios.SetSettleWait(50 * time.Millisecond)()
	k := shortKnobs()
	k.Seconds = 0.05
	k.SleepScale = 1000
	k.Reentrant = true
	k.KeepGoing = true
	sub := wrap("reentry-forgetter", func(r finalizer.Registry) finalizer.Registry { return reentryForgetter{r} })
	obs := scenarios.ThreadSafety.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k, Seed: 1})
	require.Zero(t, obs.Counts.Runs, "the runner's first sleep outlasts the trial")
	require.Positive(t, obs.Counts.Objects)
	assert.Equal(t, result.Lost, obs.Outcome, obs.Failures)
	assert.Contains(t, obs.FirstError, "lost: finalizer (")
	assert.Contains(t, obs.FirstError, "was removed from the registry but never called")
	assert.GreaterOrEqual(t, obs.Failures[result.Lost], 2, obs.Failures)
}
