package scenarios_test

import (
	"context"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// mini is a small registry written as a user would, outside the finalizer
// package and without its observer: a map under a mutex, GC cleanups by
// runtime.AddCleanup. Its bug knob breaks Run's contract without a panic.
type mini struct {
	mu   sync.Mutex
	m    map[*miniEntry]bool
	seq  uint64
	bug  string
	runs int
}

type miniEntry struct {
	r   *mini
	key finalizer.Key
	cb  func()
}

func (e *miniEntry) Key() finalizer.Key { return e.key }
func (e *miniEntry) Alive() bool {
	e.r.mu.Lock()
	defer e.r.mu.Unlock()
	return e.r.m[e]
}
func (e *miniEntry) Call() bool {
	if !e.r.remove(e) {
		return false
	}
	e.cb()
	return true
}
func (e *miniEntry) Cancel() bool { return e.r.remove(e) }

func (r *mini) remove(e *miniEntry) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.m[e] {
		return false
	}
	delete(r.m, e)
	return true
}

func (r *mini) Register(obj any, cb func(), p finalizer.Priority) finalizer.Handle {
	r.mu.Lock()
	r.seq++
	e := &miniEntry{r: r, key: finalizer.Key{Priority: p, Seq: r.seq}, cb: cb}
	r.m[e] = true
	r.mu.Unlock()
	if obj != nil {
		// A cleanup is keyed by the object's address, not its type.
		runtime.AddCleanup((*byte)(reflect.ValueOf(obj).UnsafePointer()), func(e *miniEntry) { e.Call() }, e)
	}
	return e
}

func (r *mini) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

func (r *mini) Run(min finalizer.Priority) {
	r.mu.Lock()
	r.runs++
	n := r.runs
	var keys []*miniEntry
	for e := range r.m {
		if e.key.Priority.IsSet() && (!min.IsSet() || e.key.Priority.Value() >= min.Value()) {
			keys = append(keys, e)
		}
		if r.bug == "below-min" && e.key.Priority.IsSet() && min.IsSet() && e.key.Priority.Value() < min.Value() {
			keys = append(keys, e)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(keys, func(a, b *miniEntry) int { return b.key.Compare(a.key) })
	switch r.bug {
	case "skip-every-run":
		return // returns early: calls nothing, clears nothing
	case "half":
		keys = keys[:len(keys)/2] // calls half, then clears the rest uncalled
	case "goexit":
		if n > 1 || len(keys) > 0 {
			runtime.Goexit()
		}
	case "nil":
		var p *miniEntry
		_ = p.key // a nil dereference inside Run
	}
	for _, e := range keys {
		if r.remove(e) {
			e.cb()
		}
	}
	if !min.IsSet() {
		r.mu.Lock()
		clear(r.m)
		r.mu.Unlock()
	}
}

func miniSubject(bug string) scenarios.Subject {
	return scenarios.RegistrySubject("mini-"+bug, result.Clean, "a user's registry with a bug", func(...finalizer.Option) finalizer.Registry {
		return &mini{m: map[*miniEntry]bool{}, bug: bug}
	})
}

func TestRunContractInTheOrderScenario(t *testing.T) {
	// finalize-order is deterministic: every case below is caught in every
	// trial, whatever the GC does.
	trial := func(bug string) scenarios.Observation {
		return scenarios.FinalizeOrder.Trial(context.Background(), scenarios.Env{Subject: miniSubject(bug), Knobs: shortKnobs()})
	}
	t.Run("a correct registry from outside the module passes", func(t *testing.T) {
		obs := trial("")
		assert.Equal(t, result.OK, obs.Outcome, obs.FirstError)
	})
	t.Run("a Run that returns early without calling is a contract failure naming the finalizer and the Run", func(t *testing.T) {
		obs := trial("skip-every-run")
		assert.Positive(t, obs.Failures[result.Contract], obs.Failures)
		assert.Contains(t, obs.FirstError, "contract: Run 1 (min 0) returned without calling finalizer d10 (1, ")
		assert.Contains(t, obs.FirstError, "it is still registered")
	})
	t.Run("a Run that calls a finalizer below its minimum is caught", func(t *testing.T) {
		obs := trial("below-min")
		assert.Positive(t, obs.Failures[result.Contract], obs.Failures)
		assert.Contains(t, obs.FirstError, "which it must not call (priority -10)")
	})
	t.Run("a Run that clears what it did not call is caught", func(t *testing.T) {
		// The lost callbacks never come: do not wait the full settle time for them.
		defer scenarios.SetSettleWait(50 * time.Millisecond)()
		obs := trial("half")
		assert.Positive(t, obs.Failures[result.Contract], obs.Failures)
		assert.Contains(t, obs.FirstError, "returned without calling finalizer")
	})
	t.Run("a Run that ends its goroutine with runtime.Goexit is caught", func(t *testing.T) {
		obs := trial("goexit")
		assert.Equal(t, 1, obs.Failures[result.Contract], obs.Failures)
		assert.Contains(t, obs.FirstError, "contract: Run 1 (min 0) did not return (runtime.Goexit)")
	})
	t.Run("a nil dereference in Run is a panic of its own class, with its message and stack head", func(t *testing.T) {
		obs := trial("nil")
		assert.Equal(t, result.Panic, obs.Outcome)
		assert.Contains(t, obs.FirstError, "panic: runtime error: invalid memory address or nil pointer dereference")
		assert.Contains(t, obs.FirstError, "(*mini).Run")
		assert.Contains(t, obs.Stack, "contract_test.go")
		assert.NotContains(t, obs.FirstError, "changed size")
	})
}

func TestRunContractInTheStressScenario(t *testing.T) {
	k := shortKnobs()
	k.SleepScale = 0.05
	trial := func(bug string) scenarios.Observation {
		return scenarios.ThreadSafety.Trial(context.Background(), scenarios.Env{Subject: miniSubject(bug), Knobs: k, Seed: 3})
	}
	t.Run("a correct registry from outside the module passes", func(t *testing.T) {
		obs := trial("")
		assert.Equal(t, result.OK, obs.Outcome, obs.FirstError)
	})
	// Deterministic: the runner's first Run comes within U(0, 5 ms) of the
	// start, when the maker has registered sets that its slots still hold,
	// so the broken Run leaves live entries registered (or uncalled) and
	// the check after that very Run sees them.
	t.Run("a Run that returns early without calling anything is caught at that Run", func(t *testing.T) {
		obs := trial("skip-every-run")
		require.Equal(t, result.Contract, obs.Outcome, obs.FirstError)
		// Run 1 as a rule; a later Run when a starved maker had registered
		// nothing by Run 1 (as TestAnEarlierSkippedRunIsNotHiddenByTeardown
		// saw once under load 12).
		assert.Regexp(t, `contract: Run [0-9]+ `, obs.FirstError)
		// The first check to see it names either a finalizer with a
		// priority that Run 1 did not call, or one without (the makers'
		// sentinel) that it did not clear; either is still registered.
		assert.Regexp(t, `returned without calling finalizer|must clear the registry`, obs.FirstError)
		assert.Contains(t, obs.FirstError, "still registered")
	})
	t.Run("a Run that calls half and clears the rest is caught: the callbacks it cleared are lost", func(t *testing.T) {
		// Objects die here: who removed a finalizer uncalled (the Run, a
		// GC cleanup) cannot be told; its callback is lost, named.
		// Or, when the stress phase's Runs all overlapped registrations
		// (which they may clear uncalled), teardown's Run with a minimum,
		// which had only h to call, calls none.
		// The outcome is the worse of the failures seen (lost, when a lost
		// callback was proven), the message the first's.
		obs := trial("half")
		require.Contains(t, []result.Outcome{result.Lost, result.Contract}, obs.Outcome, obs.FirstError)
		assert.Regexp(t, `was removed from the registry but never called: not by Run |returned without calling finalizer h \(`, obs.FirstError)
	})
}

// teardownHider calls nothing from the runners' Runs but lets teardown's
// final Run call everything: the tearDown check alone would pass it.
type teardownHider struct {
	finalizer.Registry
	mu    sync.Mutex
	calls int
}

func (h *teardownHider) Run(min finalizer.Priority) {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
}

func TestAnEarlierSkippedRunIsNotHiddenByTeardown(t *testing.T) {
	k := shortKnobs()
	k.SleepScale = 0.05
	sub := wrap("hider", func(r finalizer.Registry) finalizer.Registry { return &teardownHider{Registry: r} })
	obs := scenarios.ThreadSafety.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: k, Seed: 4})
	require.Equal(t, result.Contract, obs.Outcome, obs.FirstError)
	// The first finalizer it left: a maker's, or the maker's sentinel
	// (without a priority, which only the clear removes).
	// Run 1 as a rule; a later runner's Run when a starved maker had
	// registered nothing by Run 1 (seen once under load 12).
	assert.Regexp(t, `contract: Run [0-9]+ \(min none\) returned`, obs.FirstError)
	assert.Regexp(t, "returned without calling finalizer|is still registered: Run\\(NoPriority\\) must clear the registry", obs.FirstError)
}
