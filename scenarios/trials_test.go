package scenarios_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
	"github.com/racestress/racestress/weakcache"
)

// nilHandles returns a nil Handle from Register.
type nilHandles struct{ finalizer.Registry }

func (n nilHandles) Register(obj any, cb func(), p finalizer.Priority) finalizer.Handle {
	n.Registry.Register(obj, cb, p)
	return nil
}

// hoarder keeps every object registered with it alive, so that no GC
// cleanup ever calls back.
type hoarder struct {
	finalizer.Registry
	mu   sync.Mutex
	objs []any
}

func (h *hoarder) Register(obj any, cb func(), p finalizer.Priority) finalizer.Handle {
	h.mu.Lock()
	h.objs = append(h.objs, obj)
	h.mu.Unlock()
	return h.Registry.Register(obj, cb, p)
}

func TestFinalizeOrderFailures(t *testing.T) {
	t.Run("a nil Handle from Register is a panic naming the finalizer", func(t *testing.T) {
		// Finalize-order keeps going: teardown then finds a, registered
		// but not in the ledger, never called. Do not wait long for it.
		defer scenarios.SetSettleWait(50 * time.Millisecond)()
		sub := wrap("nil-handles", func(r finalizer.Registry) finalizer.Registry { return nilHandles{r} })
		obs := scenarios.FinalizeOrder.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: shortKnobs()})
		assert.Equal(t, 1, obs.Failures[result.Panic], obs.Failures)
		assert.Contains(t, obs.FirstError, "panic: Register(a) returned a nil Handle")
	})
	t.Run("object a never collected ends the trial in error, never a pass", func(t *testing.T) {
		// The trial's context is done: the wait for a's callback gives up at
		// once instead of after 10 s.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		sub := wrap("hoarder", func(r finalizer.Registry) finalizer.Registry { return &hoarder{Registry: r} })
		obs := scenarios.FinalizeOrder.Trial(ctx, scenarios.Env{Subject: sub, Knobs: shortKnobs()})
		assert.Equal(t, result.Error, obs.Outcome)
		assert.Equal(t, map[result.Outcome]int{result.Error: 1}, obs.Failures, "nothing else is checked")
		assert.Contains(t, obs.FirstError, "error: the GC did not collect object a within ")
	})
	t.Run("a clean trial reports the registry's counts", func(t *testing.T) {
		obs := scenarios.FinalizeOrder.Trial(context.Background(), scenarios.Env{Subject: variant(t, "fixed"), Knobs: shortKnobs()})
		require.Equal(t, result.OK, obs.Outcome, obs.FirstError)
		assert.Nil(t, obs.Failures)
		// a by the GC, b explicitly, d10, d03, d02, d01 by Run(0), r, e and
		// STOP by Run(), c dropped, x cancelled.
		assert.Equal(t, uint64(1), obs.Counts.CalledByGC)
		assert.Equal(t, uint64(1), obs.Counts.CalledExplicit)
		assert.Equal(t, uint64(7), obs.Counts.CalledByRun)
		assert.Equal(t, uint64(1), obs.Counts.Dropped)
		assert.Equal(t, uint64(1), obs.Counts.Cancelled)
	})
}

func TestWeakCacheTrialKnobs(t *testing.T) {
	sub, err := scenarios.WeakCache.Subject("compare-and-delete")
	require.NoError(t, err)
	t.Run("nothing kept and no garbage is a valid trial", func(t *testing.T) {
		k := weakKnobs(t, map[string]string{"keep": "0", "garbage": "0", "threads": "1", "keys": "1"})
		k.Seconds = 0.05
		obs := scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k, Seed: 1})
		assert.Equal(t, result.OK, obs.Outcome, obs.FirstError)
		assert.Positive(t, obs.Counts.Runs)
	})
	for _, bad := range []map[string]float64{{"threads": 0}, {"keys": 0}, {"keep": -1}, {"garbage": -1}} {
		k := weakKnobs(t, nil)
		for n, v := range bad {
			k = k.With(n, v)
		}
		obs := scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k})
		assert.Equal(t, result.Error, obs.Outcome, "%v", bad)
		assert.Contains(t, obs.FirstError, "knobs need at least one thread and one key", "%v", bad)
	}
	t.Run("a cache constructor that builds nothing is a harness error", func(t *testing.T) {
		for name, s := range map[string]scenarios.Subject{
			"builds nil":    scenarios.CacheSubject("nil", result.Clean, "", func(...weakcache.Option) weakcache.Cache { return nil }),
			"nil CacheFunc": {Name: "nil", New: scenarios.CacheFunc(nil)},
			"nil func":      {Name: "nil", New: (func(...weakcache.Option) weakcache.Cache)(nil)},
		} {
			obs := scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: s, Knobs: weakKnobs(t, nil)})
			assert.Equal(t, result.Error, obs.Outcome, name)
		}
		plain := scenarios.Subject{Name: "plain", New: func(opts ...weakcache.Option) weakcache.Cache { return weakcache.NewCompareAndDelete(opts...) }}
		k := weakKnobs(t, nil)
		k.Seconds = 0.02
		obs := scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: plain, Knobs: k})
		assert.Equal(t, result.OK, obs.Outcome, "a plain func is a cache constructor too: %s", obs.FirstError)
	})
}

func TestWeakCacheReportsEveryKeptViolationOnce(t *testing.T) {
	// With keep-going, a cache that is never canonical breaks it at every
	// Get after the first; the checker keeps the first 64 violations, and
	// the trial reports each of those exactly once.
	sub := scenarios.CacheSubject("forgetful", result.Clean, "", func(opts ...weakcache.Option) weakcache.Cache {
		return &forgetfulCache{opts: weakcache.NewOptions(opts...)}
	})
	k := weakKnobs(t, map[string]string{"keys": "1", "threads": "1"})
	k.Seconds = 0.05
	k.KeepGoing = true
	obs := scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k, Seed: 1})
	if obs.Counts.Runs < 100 {
		t.Skipf("only %d Gets in the trial: too few for 64 violations", obs.Counts.Runs)
	}
	assert.Equal(t, map[result.Outcome]int{result.Canon: 64}, obs.Failures)
}

// stopless never calls back the finalizer of priority -100 (the test's
// STOP): it registers it with a callback that does nothing.
type stopless struct{ finalizer.Registry }

func (s stopless) Register(obj any, cb func(), p finalizer.Priority) finalizer.Handle {
	if p == finalizer.P(-100) {
		cb = func() {}
	}
	return s.Registry.Register(obj, cb, p)
}

// swapper swaps the callbacks of the nth and n+1th finalizers registered
// with it.
type swapper struct {
	finalizer.Registry
	n   int
	mu  sync.Mutex
	i   int
	cbs map[int]func()
}

func (s *swapper) Register(obj any, cb func(), p finalizer.Priority) finalizer.Handle {
	s.mu.Lock()
	s.i++
	i := s.i
	s.cbs[i] = cb
	s.mu.Unlock()
	other := i
	switch i {
	case s.n:
		other = s.n + 1
	case s.n + 1:
		other = s.n
	}
	return s.Registry.Register(obj, func() {
		s.mu.Lock()
		f := s.cbs[other]
		s.mu.Unlock()
		f()
	}, p)
}

func TestFinalizeOrderChecksTheOrderItSaw(t *testing.T) {
	defer scenarios.SetSettleWait(50 * time.Millisecond)()
	t.Run("STOP missing", func(t *testing.T) {
		// The Run that had to call STOP removed it and called another
		// callback: a contract failure of that Run, found when it returns,
		// before the order is looked at.
		sub := wrap("stopless", func(r finalizer.Registry) finalizer.Registry { return stopless{r} })
		obs := scenarios.FinalizeOrder.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: shortKnobs()})
		assert.Equal(t, 1, obs.Failures[result.Contract], obs.Failures)
		assert.Contains(t, obs.FirstError, "contract: Run 2 (min none) returned without calling finalizer STOP (-100, ")
		assert.Contains(t, obs.FirstError, "it was removed from the registry but never called")
	})
	t.Run("two callbacks swapped", func(t *testing.T) {
		// The sixth and seventh finalizers registered are d02 and d03: each
		// is called back with the other's callback, in key order.
		sub := wrap("swapper", func(r finalizer.Registry) finalizer.Registry {
			return &swapper{Registry: r, n: 6, cbs: map[int]func(){}}
		})
		obs := scenarios.FinalizeOrder.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: shortKnobs()})
		assert.Equal(t, map[result.Outcome]int{result.Order: 1}, obs.Failures)
		assert.Equal(t, "order: got [a b d10 d02 d03 d01 e], want [a b d10 d03 d02 d01 e]", obs.FirstError)
	})
}
