package scenarios

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// countingStats is a registry whose cleanups run one at a time as teardown
// looks: every Stats call reports one more cleanup, up to max. It drives
// teardown's drain without depending on when the GC runs.
type countingStats struct {
	finalizer.Registry
	max   uint64
	calls atomic.Uint64
}

func (c *countingStats) Stats() finalizer.Stats {
	return finalizer.Stats{Cleanups: min(c.calls.Add(1), c.max)}
}

// cleanupsSeen is how many cleanups the registry has reported.
func (c *countingStats) cleanupsSeen() uint64 { return min(c.calls.Load(), c.max) }

// noStats is a registry that does not count its cleanups.
type noStats struct{ finalizer.Registry }

func testMonitor() *monitor {
	return newMonitor(Env{Knobs: result.Knobs{KeepGoing: true}}, nil)
}

func TestDrainWaitsForTheCleanups(t *testing.T) {
	registered := func() uint64 { return 5 }
	t.Run("until they catch up with the finalizers registered", func(t *testing.T) {
		m := testMonitor()
		reg := &countingStats{Registry: finalizer.NewFixed(), max: 100}
		drain(m, reg, registered, drainWait)
		assert.Equal(t, uint64(5), reg.cleanupsSeen(), "drain stops once the cleanups have caught up, not before, not after")
		assert.Empty(t, m.warnings)
	})
	t.Run("without a warning when they end exactly there", func(t *testing.T) {
		m := testMonitor()
		reg := &countingStats{Registry: finalizer.NewFixed(), max: 5}
		drain(m, reg, registered, time.Second)
		assert.Empty(t, m.warnings)
	})
	t.Run("with a warning when they do not catch up in time", func(t *testing.T) {
		m := testMonitor()
		reg := &countingStats{Registry: finalizer.NewFixed(), max: 3}
		drain(m, reg, registered, 20*time.Millisecond)
		require.Len(t, m.warnings, 1)
		assert.Equal(t, "teardown: 3 of 5 cleanups ran within 20ms", m.warnings[0])
		assert.False(t, m.failed(), "a slow drain is a warning, not a failure")
	})
	t.Run("not at all with a zero wait", func(t *testing.T) {
		m := testMonitor()
		reg := &countingStats{Registry: finalizer.NewFixed(), max: 100}
		drain(m, reg, registered, 0)
		assert.Zero(t, reg.calls.Load(), "a zero wait drains nothing")
		assert.Empty(t, m.warnings)
	})
	t.Run("with two GCs and a warning when the registry does not count", func(t *testing.T) {
		m := testMonitor()
		drain(m, noStats{finalizer.NewFixed()}, registered, drainWait)
		assert.Equal(t, []string{"teardown: registry does not count cleanups; ran the GC twice instead of draining"}, m.warnings)
	})
	t.Run("for as long as the scenario's bound, which is not zero", func(t *testing.T) {
		// drainWait is what ThreadSafety passes: a zero bound would skip the
		// drain and leave teardown's Run to race the cleanups.
		assert.GreaterOrEqual(t, drainWait, time.Second)
		// settleWait likewise bounds the checks' wait for callbacks in
		// flight (tests of registries that lose callbacks shorten it, and
		// restore it).
		assert.GreaterOrEqual(t, settleWait, time.Second)
	})
}

// liar is a fixed registry that says it holds extra entries more than it
// does.
type liar struct {
	finalizer.Registry
	extra int
}

func (l liar) Len() int { return l.Registry.Len() + l.extra }

func TestTeardownAccountsForEveryFinalizer(t *testing.T) {
	defer SetSettleWait(20 * time.Millisecond)()
	t.Run("called, cancelled and dropped finalizers are all accounted for", func(t *testing.T) {
		r := newLedgerRig(false)
		r.register("called", finalizer.P(1))
		// Cancelled before the ledger sees it: the ledger would hold the
		// next Run to calling it.
		require.True(t, r.reg.Register(nil, func() {}, finalizer.P(1)).Cancel())
		r.register("dropped", finalizer.NoPriority) // Run(NoPriority) clears it uncalled
		teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 3 }, 0)
		assert.Empty(t, r.failures(), r.mon.firstErr)
	})
	t.Run("one more registered than accounted for is lost", func(t *testing.T) {
		r := newLedgerRig(false)
		r.register("called", finalizer.P(1))
		// Cancelled before the ledger sees it: the ledger would hold the
		// next Run to calling it.
		require.True(t, r.reg.Register(nil, func() {}, finalizer.P(1)).Cancel())
		r.register("dropped", finalizer.NoPriority)
		teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 5 }, 0)
		assert.Equal(t, map[result.Outcome]int{result.Lost: 1}, r.failures())
		assert.Equal(t, "lost: 2 of 5 finalizers never called, cancelled or dropped", r.mon.firstErr)
	})
	t.Run("a registry not empty after the last Run is lost", func(t *testing.T) {
		r := newLedgerRig(false)
		r.register("called", finalizer.P(1))
		reg := liar{r.reg, 2}
		teardown(r.mon, r.iv, r.led, reg, func() uint64 { return 1 }, 0)
		assert.Equal(t, map[result.Outcome]int{result.Lost: 1}, r.failures())
		assert.Equal(t, "lost: registry holds 2 entries at teardown", r.mon.firstErr)
	})
	t.Run("after a failure, unless keep-going, it adds none", func(t *testing.T) {
		for _, keepGoing := range []bool{false, true} {
			r := newLedgerRig(false)
			r.mon.keepGoing = keepGoing
			r.mon.fail(result.Panic, "panic: earlier")
			r.register("called", finalizer.P(1))
			teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 2 }, 0)
			want := map[result.Outcome]int{result.Panic: 1}
			if keepGoing {
				want[result.Lost] = 1
			}
			assert.Equal(t, want, r.failures(), "keep-going %v", keepGoing)
		}
	})
	t.Run("a contract failure of teardown's Run ends it, unless keep-going", func(t *testing.T) {
		for _, keepGoing := range []bool{false, true} {
			r := newLedgerRig(false)
			r.reg.Registry = finalizer.NewFixed() // no Cancelled event: nothing accounts for it
			r.mon.keepGoing = keepGoing
			p := r.register("skipped", finalizer.P(1))
			r.reg.during[1] = func(func()) { p.handle.Cancel() } // removed, never called
			teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 1 }, 0)
			want := map[result.Outcome]int{result.Contract: 1}
			if keepGoing {
				want[result.Lost] = 1
			}
			assert.Equal(t, want, r.failures(), "keep-going %v: %s", keepGoing, r.mon.firstErr)
		}
	})
	t.Run("a failure of teardown's Run itself ends it", func(t *testing.T) {
		for _, keepGoing := range []bool{false, true} {
			r := newLedgerRig(false)
			r.mon.keepGoing = keepGoing
			r.register("kept", finalizer.P(1))
			r.reg.during[1] = func(func()) {} // calls nothing, clears nothing
			teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 1 }, 0)
			assert.Equal(t, map[result.Outcome]int{result.Contract: 1}, r.failures(), "keep-going %v: %s", keepGoing, r.mon.firstErr)
			assert.Contains(t, r.mon.firstErr, "it is still registered")
		}
	})
}

func TestTeardownWaitsForCallbacksInFlight(t *testing.T) {
	// A GC cleanup counts itself before it calls back: teardown gives a
	// callback still to come the settle wait to land, rather than calling
	// it lost. With the GC off but for settle's own collections, the
	// callback cannot come before teardown starts waiting.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	r := newLedgerRig(false)
	p := r.probe("in-flight", finalizer.P(1))
	func() {
		obj := &foo{}
		runtime.AddCleanup(obj, func(p *probe) { p.fire() }, p)
	}()
	teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 1 }, 0)
	assert.True(t, p.called())
	assert.Empty(t, r.failures(), r.mon.firstErr)
}
