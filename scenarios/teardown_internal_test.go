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

func testMonitor() *monitor {
	return newMonitor(Env{Knobs: result.Knobs{KeepGoing: true}}, nil)
}

func TestTeardownFitsBeforeTheWatchdog(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	k := result.Knobs{Seconds: 4}
	t.Run("a margin of a quarter of the time left before the deadline", func(t *testing.T) {
		until := teardownUntil(Env{Knobs: k, Deadline: now.Add(8 * time.Second)}, now)
		assert.Equal(t, now.Add(6*time.Second), until)
	})
	t.Run("at least minMargin", func(t *testing.T) {
		until := teardownUntil(Env{Knobs: k, Deadline: now.Add(400 * time.Millisecond)}, now)
		assert.Equal(t, now.Add(200*time.Millisecond), until)
	})
	t.Run("nothing when no time is left beyond the margin", func(t *testing.T) {
		for _, left := range []time.Duration{minMargin, time.Millisecond, 0, -time.Second} {
			assert.Equal(t, now, teardownUntil(Env{Knobs: k, Deadline: now.Add(left)}, now), "left %v", left)
		}
	})
	t.Run("for every trial length and watchdog the flags accept", func(t *testing.T) {
		// The smallest watchdog the harness accepts is the trial's length
		// plus a second, the default twice that plus 5 s; the stress phase
		// ends at the trial's length, the teardown a margin before the
		// watchdog.
		for _, secs := range []float64{0.001, 0.5, 1, 4, 60, 3600} {
			d := time.Duration(secs * float64(time.Second))
			for _, watchdog := range []time.Duration{d + time.Second, 2*d + 5*time.Second} {
				deadline := now.Add(watchdog)
				until := teardownUntil(Env{Knobs: result.Knobs{Seconds: secs}, Deadline: deadline}, now.Add(d))
				assert.LessOrEqual(t, until.Add(minMargin).Sub(deadline), time.Duration(0), "seconds %v watchdog %v", secs, watchdog)
				assert.False(t, until.Before(now.Add(d)), "seconds %v watchdog %v", secs, watchdog)
			}
		}
	})
	t.Run("without a watchdog, the trial's length within bounds", func(t *testing.T) {
		assert.Equal(t, now.Add(4*time.Second), teardownUntil(Env{Knobs: k}, now))
		assert.Equal(t, now.Add(minUnwatched), teardownUntil(Env{Knobs: result.Knobs{Seconds: 0.5}}, now))
		assert.Equal(t, now.Add(maxUnwatched), teardownUntil(Env{Knobs: result.Knobs{Seconds: 3600}}, now))
	})
}

func TestQuiesceRunsTheCleanupsOfGarbage(t *testing.T) {
	// With the GC off but for quiesce's own collections, the cleanups of
	// garbage made before the call, and of garbage their cleanups make,
	// have all run when it returns.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var ran atomic.Int32
	func() {
		for range 10 {
			obj := &foo{}
			runtime.AddCleanup(obj, func(int) {
				ran.Add(1)
				inner := &foo{}
				runtime.AddCleanup(inner, func(int) { ran.Add(1) }, 0)
			}, 0)
		}
	}()
	require.True(t, quiesce(time.Now().Add(time.Hour)))
	assert.Equal(t, int32(20), ran.Load())
	assert.True(t, cleanupsIdle())
	t.Run("and gives up when its time has passed", func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		func() {
			obj := &foo{}
			runtime.AddCleanup(obj, func(int) { <-block }, 0)
		}()
		assert.False(t, quiesce(time.Now().Add(20*time.Millisecond)))
	})
}

// counted is a fixed registry that reports n cleanups run.
type counted struct {
	finalizer.Registry
	n uint64
}

func (c counted) Stats() finalizer.Stats { return finalizer.Stats{Cleanups: c.n} }

func TestTeardownDrainStopsWhenTheRegistrysCleanupsCaughtUp(t *testing.T) {
	// A registry that counts its cleanups says when its own have run,
	// whatever other trials in the process do; one that does not, cannot.
	registered := func() uint64 { return 5 }
	assert.Nil(t, cleanupsCaughtUp(noStats{finalizer.NewFixed()}, registered))
	assert.False(t, cleanupsCaughtUp(counted{finalizer.NewFixed(), 4}, registered)())
	assert.True(t, cleanupsCaughtUp(counted{finalizer.NewFixed(), 5}, registered)())
	// quiesceOr stops at once when done says so, even with a cleanup
	// blocked (which quiesce alone waits for until its time passes).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	block := make(chan struct{})
	defer close(block)
	func() {
		obj := &foo{}
		runtime.AddCleanup(obj, func(int) { <-block }, 0)
	}()
	assert.True(t, quiesceOr(time.Now().Add(time.Hour), func() bool { return true }))
}

// noStats is a registry that does not count its cleanups.
type noStats struct{ finalizer.Registry }

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
		teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 3 }, r.until(), false)
		assert.Empty(t, r.failures(), r.mon.firstErr)
	})
	t.Run("one more registered than accounted for is lost", func(t *testing.T) {
		r := newLedgerRig(false)
		r.register("called", finalizer.P(1))
		// Cancelled before the ledger sees it: the ledger would hold the
		// next Run to calling it.
		require.True(t, r.reg.Register(nil, func() {}, finalizer.P(1)).Cancel())
		r.register("dropped", finalizer.NoPriority)
		teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 5 }, r.until(), false)
		assert.Equal(t, map[result.Outcome]int{result.Lost: 1}, r.failures())
		assert.Equal(t, "lost: 2 of 5 finalizers never called, cancelled or dropped", r.mon.firstErr)
	})
	t.Run("a registry not empty after the last Run is lost", func(t *testing.T) {
		r := newLedgerRig(false)
		r.register("called", finalizer.P(1))
		reg := liar{r.reg, 2}
		teardown(r.mon, r.iv, r.led, reg, func() uint64 { return 1 }, r.until(), false)
		assert.Equal(t, map[result.Outcome]int{result.Lost: 1}, r.failures())
		assert.Equal(t, "lost: registry holds 2 entries at teardown", r.mon.firstErr)
	})
	t.Run("after a failure, unless keep-going, it adds none", func(t *testing.T) {
		for _, keepGoing := range []bool{false, true} {
			r := newLedgerRig(false)
			r.mon.keepGoing = keepGoing
			r.mon.fail(result.Panic, "panic: earlier")
			r.register("called", finalizer.P(1))
			teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 2 }, r.until(), false)
			want := map[result.Outcome]int{result.Panic: 1}
			if keepGoing {
				want[result.Lost] = 1
			}
			assert.Equal(t, want, r.failures(), "keep-going %v", keepGoing)
		}
	})
	t.Run("a finalizer teardown's Run removed uncalled is lost, named, and ends it unless keep-going", func(t *testing.T) {
		for _, keepGoing := range []bool{false, true} {
			r := newLedgerRig(false)
			r.reg.Registry = finalizer.NewFixed() // no Cancelled event: nothing accounts for it
			r.mon.keepGoing = keepGoing
			p := r.register("skipped", finalizer.P(1))
			r.reg.during[1] = func(func()) { p.handle.Cancel() } // removed, never called
			teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 1 }, r.until(), false)
			want := map[result.Outcome]int{result.Lost: 1}
			if keepGoing {
				want[result.Lost] = 2 // and the count of those never called
			}
			assert.Contains(t, r.mon.firstErr, "lost: finalizer skipped (1, ")
			assert.Equal(t, want, r.failures(), "keep-going %v: %s", keepGoing, r.mon.firstErr)
		}
	})
	t.Run("a failure of teardown's Run itself ends it", func(t *testing.T) {
		for _, keepGoing := range []bool{false, true} {
			r := newLedgerRig(false)
			r.mon.keepGoing = keepGoing
			r.register("kept", finalizer.P(1))
			r.reg.during[1] = func(func()) {} // calls nothing, clears nothing
			teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 1 }, r.until(), false)
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
	teardown(r.mon, r.iv, r.led, r.reg, func() uint64 { return 1 }, r.until(), false)
	assert.True(t, p.called())
	assert.Empty(t, r.failures(), r.mon.firstErr)
}
