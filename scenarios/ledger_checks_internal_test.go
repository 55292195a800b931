package scenarios

import (
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// scripted is a fixed registry whose Run calls, before or instead of the
// fixed Run, what the test says for that Run (numbered from 1).
type scripted struct {
	finalizer.Registry
	mu   sync.Mutex
	runs int
	// during is called in place of the fixed Run for the Runs it has a
	// function for; it gets the fixed Run to call if it wants to.
	during map[int]func(run func())
}

func (s *scripted) Run(min finalizer.Priority) {
	s.mu.Lock()
	s.runs++
	f := s.during[s.runs]
	s.mu.Unlock()
	run := func() { s.Registry.Run(min) }
	if f == nil {
		run()
		return
	}
	f(run)
}

// ledgerRig is a monitor, invariants and ledger that keep going after a
// failure, with a scripted registry reporting to them.
type ledgerRig struct {
	mon *monitor
	iv  *invariants
	led *ledger
	reg *scripted
	// objects keeps the objects of finalizers without a priority alive.
	objects []*foo
}

func newLedgerRig(alive bool) *ledgerRig {
	mon := testMonitor()
	iv := newInvariants(mon)
	return &ledgerRig{mon: mon, iv: iv, led: newLedger(iv, alive), reg: &scripted{
		Registry: finalizer.NewFixed(finalizer.WithObserver(iv)),
		during:   map[int]func(func()){},
	}}
}

// register registers a finalizer as a maker does: without an object, or
// on one it keeps alive when p is NoPriority.
func (r *ledgerRig) register(name string, p finalizer.Priority) *probe {
	ps := r.led.probes(1)
	pr := r.name(&ps[0], name, p)
	var obj any
	if !p.IsSet() {
		f := &foo{}
		r.objects = append(r.objects, f)
		obj = f
	}
	t := r.led.begin()
	pr.setHandle(r.reg.Register(obj, pr.fire, p))
	r.led.add(t, ps)
	return pr
}

// name gives p its name and priority.
func (r *ledgerRig) name(p *probe, name string, prio finalizer.Priority) *probe {
	p.prio = prio
	r.led.setName(p, name)
	return p
}

// probe returns a probe of the rig's ledger that add has not recorded.
func (r *ledgerRig) probe(name string, prio finalizer.Priority) *probe {
	return r.name(&r.led.probes(1)[0], name, prio)
}

// until is a teardown deadline far beyond anything a test waits for.
func (r *ledgerRig) until() time.Time { return time.Now().Add(time.Hour) }

func (r *ledgerRig) failures() map[result.Outcome]int {
	r.mon.mu.Lock()
	defer r.mon.mu.Unlock()
	out := map[result.Outcome]int{}
	for o, n := range r.mon.failures {
		out[o] = n
	}
	return out
}

func TestLedgerChecksEveryRunNotJustTheFirst(t *testing.T) {
	// The second of two Runs, one after the other, clears a finalizer
	// registered between them without calling it: a contract failure, as it
	// would be in the first.
	r := newLedgerRig(false)
	r.register("p1", finalizer.P(1))
	require.False(t, r.led.run(r.reg, finalizer.NoPriority))
	p2 := r.register("p2", finalizer.P(1))
	r.reg.during[2] = func(func()) { p2.handle.Cancel() }
	r.led.run(r.reg, finalizer.NoPriority)
	r.led.resolve(true)
	assert.Equal(t, map[result.Outcome]int{result.Lost: 1}, r.failures())
	assert.Contains(t, r.mon.firstErr, "lost: finalizer p2 (1, ")
	assert.Contains(t, r.mon.firstErr, "registered before Run 2 began, was removed from the registry but never called: not by Run 2")
}

func TestLedgerLeavesRegistrationsDuringARunToLaterRuns(t *testing.T) {
	// A finalizer added to the ledger while a Run is under way, and so not
	// one that Run had to call, is left registered by it without a failure;
	// the next Run calls it.
	r := newLedgerRig(false)
	var late *probe
	r.reg.during[1] = func(run func()) {
		run()
		late = r.register("late", finalizer.P(1))
	}
	assert.False(t, r.led.run(r.reg, finalizer.NoPriority), r.mon.firstErr)
	assert.True(t, late.alive())
	assert.False(t, r.led.run(r.reg, finalizer.NoPriority), r.mon.firstErr)
	assert.True(t, late.called())
	assert.Empty(t, r.failures())
}

func TestLedgerBlamesACallBelowTheMinimumOnTheRunOnlyWhereObjectsAreAlive(t *testing.T) {
	// A finalizer below a Run's minimum, called during that Run by someone
	// else (a GC cleanup, here an explicit call), is not the Run's doing
	// where the scenario lets objects die; where it keeps them alive, only
	// the Run can have called it.
	for _, alive := range []bool{false, true} {
		r := newLedgerRig(alive)
		low := r.register("low", finalizer.P(0))
		r.reg.during[1] = func(run func()) {
			low.handle.Call()
			run()
		}
		failed := r.led.run(r.reg, finalizer.P(5))
		assert.True(t, low.called())
		if alive {
			assert.True(t, failed)
			assert.Contains(t, r.mon.firstErr, "Run 1 (min 5) called finalizer low (0, ")
			assert.Contains(t, r.mon.firstErr, "which it must not call (priority 0)")
		} else {
			assert.False(t, failed, r.mon.firstErr)
			assert.Empty(t, r.failures())
		}
	}
}

func TestLedgerResolveWaitsForCleanupsInFlight(t *testing.T) {
	// A finalizer a Run removed but did not call may be in the hands of a
	// GC cleanup: it is not lost while a cleanup queued before is still
	// running, and not once that cleanup has called it. The cleanup here
	// blocks until the test lets it go, and then calls the probe; the GC
	// is off but for the test's own collection.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	r := newLedgerRig(false)
	p := r.probe("in-flight", finalizer.P(1))
	running, release := make(chan struct{}), make(chan struct{})
	func() {
		obj := &foo{}
		runtime.AddCleanup(obj, func(p *probe) {
			close(running)
			<-release
			p.fire()
		}, p)
	}()
	runtime.GC()
	<-running
	long := time.Now().Add(-time.Hour)
	r.led.unsettled = []unsettled{{p: p, run: 1, at: long}}
	assert.False(t, r.led.resolve(false), "a cleanup is still running: the call may be in flight")
	require.Len(t, r.led.unsettled, 1)
	close(release)
	require.True(t, quiesce(time.Now().Add(time.Hour)))
	assert.True(t, p.called())
	assert.False(t, r.led.resolve(false))
	assert.Empty(t, r.led.unsettled)
	assert.Empty(t, r.failures(), r.mon.firstErr)

	// Once the cleanups are idle and no Run is under way, one still
	// uncalled is lost, at once.
	lost := r.probe("lost", finalizer.P(1))
	r.led.unsettled = []unsettled{{p: lost, run: 2, at: long}}
	require.True(t, quiesce(time.Now().Add(time.Hour)))
	assert.True(t, r.led.resolve(false))
	assert.Equal(t, map[result.Outcome]int{result.Lost: 1}, r.failures())
	assert.Equal(t, "lost: finalizer lost, registered before Run 2 began, was removed from the registry but never called: not by Run 2, nor by whoever removed it (a GC cleanup or another Run)", r.mon.firstErr)
}

func TestLedgerResolveWaitsForTheRunsUnderWay(t *testing.T) {
	// A finalizer found removed while Run 5 was under way may be that Run's
	// to call: it is not lost before Run 5 returns.
	r := newLedgerRig(false)
	p := r.probe("p", finalizer.P(1))
	r.led.inRun[5] = struct{}{}
	r.led.unsettled = []unsettled{{p: p, run: 4, mark: 5, at: time.Now().Add(-time.Hour)}}
	r.led.lastIdle.Store(time.Now().UnixNano()) // the cleanups were seen idle since
	assert.False(t, r.led.resolve(false))
	delete(r.led.inRun, 5)
	assert.True(t, r.led.resolve(false))
	assert.Equal(t, map[result.Outcome]int{result.Lost: 1}, r.failures())
}

func TestLedgerResolveNamesThreeLostCallbacksAndCountsTheRest(t *testing.T) {
	// Five finalizers removed uncalled: three failures name one each, a
	// fourth counts the other two; one that was called is not a failure.
	r := newLedgerRig(false)
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		r.led.unsettled = append(r.led.unsettled, unsettled{p: r.probe(name, finalizer.P(1)), run: 7})
	}
	called := r.probe("called", finalizer.P(1))
	called.fire()
	r.led.unsettled = append(r.led.unsettled, unsettled{p: called, run: 7})
	r.led.resolve(true)
	assert.Equal(t, map[result.Outcome]int{result.Lost: 4}, r.failures())
	assert.Equal(t, "lost: finalizer a, registered before Run 7 began, was removed from the registry but never called: not by Run 7, nor by whoever removed it (a GC cleanup or another Run)", r.mon.firstErr)
}

func TestLedgerLetsARunLeaveWhatIsBelowItsMinimum(t *testing.T) {
	// Where objects are kept alive, a finalizer below a Run's minimum that
	// nobody called stays registered for a later Run: no failure, and the
	// Run(NoPriority) after it calls it.
	r := newLedgerRig(true)
	low := r.register("low", finalizer.P(0))
	high := r.register("high", finalizer.P(9))
	assert.False(t, r.led.run(r.reg, finalizer.P(5)), r.mon.firstErr)
	assert.True(t, high.called())
	assert.False(t, low.called())
	assert.True(t, low.alive())
	assert.Empty(t, r.failures())
	assert.False(t, r.led.run(r.reg, finalizer.NoPriority), r.mon.firstErr)
	assert.True(t, low.called())
	assert.Empty(t, r.failures())
}
