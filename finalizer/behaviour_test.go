package finalizer

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runAndRecover runs r.Run(min) and returns what it panicked with, if
// anything.
func runAndRecover(r Registry, min Priority) (v any) {
	defer func() { v = recover() }()
	r.Run(min)
	return nil
}

func TestUnfixedCountsOnlyTheRemovalsOfItsOwnWalk(t *testing.T) {
	var victim Handle
	r := NewUnfixed(WithHook(removeDuringWalk(t, &victim)))
	objs := []*obj{newObj(), newObj(), newObj(), newObj(), newObj()}
	var hs []Handle
	for i, o := range objs {
		hs = append(hs, r.Register(o, func() {}, P(i)))
	}
	// Removals before the walk: a cancel, an explicit call and a GC cleanup.
	hs[0].Cancel()
	hs[1].Call()
	collectNow(t, hs[2])
	victim = hs[4]
	v := runAndRecover(r, NoPriority)
	err, ok := v.(*ChangedError)
	require.True(t, ok, "Run panics with a *ChangedError, got %v", v)
	assert.Equal(t, ChangedError{Step: 1, Size: 2, Removed: 1}, *err)
	assert.EqualError(t, err, "registry changed size during iteration: removed 1 at step 1 of 2")
	runtime.KeepAlive(objs)
}

func TestUnfixedWalkReportsAnInsertionItSees(t *testing.T) {
	// Registrations normally wait for the walk; without that guard a walk
	// that sees one says so, counting only its own insertions.
	var r Registry
	inserted := false
	r = NewUnfixed(WithHook(func(p Point) {
		if p == PointWalkStep && !inserted {
			inserted = true
			r.Register(nil, func() {}, P(7))
		}
	}))
	r.(*store).guardWalk = false
	for i := range 3 {
		r.Register(nil, func() {}, P(i))
	}
	v := runAndRecover(r, NoPriority)
	err, ok := v.(*ChangedError)
	require.True(t, ok, "Run panics with a *ChangedError, got %v", v)
	assert.Equal(t, ChangedError{Step: 1, Size: 3, Inserted: 1}, *err)
	assert.Equal(t, "inserted", err.Kind())
	assert.EqualError(t, err, "registry changed size during iteration: inserted 1 at step 1 of 3")
}

func TestADroppedFinalizerIsGoneForGood(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			var rec recorder
			r := v.New()
			objs := []*obj{newObj(), newObj(), newObj()}
			a := r.Register(objs[0], rec.cb("a"), NoPriority)
			b := r.Register(objs[1], rec.cb("b"), NoPriority)
			r.Run(NoPriority)
			assert.False(t, a.Alive())
			assert.False(t, b.Alive())
			assert.Equal(t, uint64(2), r.(StatsSource).Stats().Dropped)

			// A finalizer registered afterwards is untouched by the dropped
			// handles.
			c := r.Register(objs[2], rec.cb("c"), P(1))
			assert.False(t, a.Call(), "a dropped finalizer cannot be called")
			assert.False(t, b.Cancel(), "nor cancelled")
			collectNow(t, a)
			assert.True(t, c.Alive())
			assert.Equal(t, 1, r.Len())
			assert.Empty(t, rec.got())
			assert.True(t, c.Call())
			assert.Equal(t, []string{"c"}, rec.got())
			runtime.KeepAlive(objs)
		})
	}
}

// eventLog records events as short strings, replacing Run ids by the order
// in which their RunBegin appeared (#1, #2, ...), so that a test can state
// which Run an event belongs to without knowing how ids are chosen.
type eventLog struct {
	names  map[Key]string
	runs   map[uint64]int
	events []string
}

func (l *eventLog) Observe(e Event) {
	if e.Kind == RunBegin {
		if _, dup := l.runs[e.Run]; dup || e.Run == 0 {
			l.events = append(l.events, fmt.Sprintf("run-begin with a reused or zero id %d", e.Run))
		}
		l.runs[e.Run] = len(l.runs) + 1
	}
	run := "-"
	if e.Run != 0 {
		n, ok := l.runs[e.Run]
		if !ok {
			run = fmt.Sprintf("unknown run %d", e.Run)
		} else {
			run = fmt.Sprintf("#%d", n)
		}
	}
	s := e.Kind.String() + " " + run
	if e.By != 0 {
		s += " by " + e.By.String()
	}
	if name, ok := l.names[e.Key]; ok {
		s += " " + name
	}
	l.events = append(l.events, s)
}

func TestEveryVariantReportsItsEvents(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			log := &eventLog{names: map[Key]string{}, runs: map[uint64]int{}}
			r := v.New(WithObserver(log))
			objs := []*obj{newObj(), newObj(), newObj(), newObj()}
			reg := func(name string, o any, p Priority) Handle {
				h := r.Register(o, func() {}, p)
				log.names[h.Key()] = name
				return h
			}
			a := reg("a", objs[0], P(1))
			reg("b", objs[1], P(2))
			reg("c", objs[2], NoPriority)
			d := reg("d", objs[3], P(3))
			d.Cancel()
			collectNow(t, a)
			r.Run(P(2))
			e := reg("e", nil, P(5))
			e.Call()
			reg("f", nil, P(0))
			reg("g", nil, P(4))
			r.Run(NoPriority)
			assert.Equal(t, []string{
				"cancelled - d",
				"called - by gc a",
				"run-begin #1",
				"called #1 by run b",
				"run-end #1",
				"called - by explicit e",
				"run-begin #2",
				"called #2 by run g",
				"called #2 by run f",
				"dropped #2 c",
				"run-end #2",
			}, log.events)
			runtime.KeepAlive(objs)
		})
	}
}

func TestASkippedFinalizerIsReportedWithItsRun(t *testing.T) {
	for _, name := range []string{"fixed", "retry"} {
		t.Run(name, func(t *testing.T) {
			v, _ := Lookup(name)
			log := &eventLog{names: map[Key]string{}, runs: map[uint64]int{}}
			var victim Handle
			done := false
			r := v.New(WithObserver(log), WithHook(func(p Point) {
				if p == PointCallStep && !done {
					done = true
					collectNow(t, victim)
				}
			}))
			objs := []*obj{newObj(), newObj()}
			r.Run(NoPriority) // an empty Run first: ids differ between Runs
			h := r.Register(objs[0], func() {}, P(2))
			log.names[h.Key()] = "x"
			victim = r.Register(objs[1], func() {}, P(1))
			log.names[victim.Key()] = "y"
			r.Run(P(1))
			assert.Equal(t, []string{
				"run-begin #1", "run-end #1",
				"run-begin #2", "called #2 by run x", "called - by gc y", "skipped #2 y", "run-end #2",
			}, log.events)
			runtime.KeepAlive(objs)
		})
	}
}

func TestKeysOrderAsCPythonSortsTuples(t *testing.T) {
	// Ascending, as sorted((exitpriority, seq)) with None below every number.
	keys := []Key{
		{NoPriority, 1}, {NoPriority, 2},
		{P(-5), 9}, {P(0), 3}, {P(0), 4}, {P(1), 1}, {P(100), 0},
	}
	for i, a := range keys {
		for j, b := range keys {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			assert.Equal(t, want, a.Compare(b), "%v vs %v", a, b)
		}
	}
}

func TestNamesAndValues(t *testing.T) {
	assert.Equal(t, "none", NoPriority.String())
	assert.Equal(t, "-3", P(-3).String())
	assert.False(t, NoPriority.IsSet())
	assert.True(t, P(0).IsSet())
	assert.Equal(t, 0, NoPriority.Value())
	assert.Equal(t, -3, P(-3).Value())
	assert.Equal(t, "(7, 12)", Key{P(7), 12}.String())
	for c, s := range map[Caller]string{ByGC: "gc", ByRun: "run", ByExplicit: "explicit", 0: "unknown", 9: "unknown"} {
		assert.Equal(t, s, c.String())
	}
	for k, s := range map[EventKind]string{Called: "called", Skipped: "skipped", Dropped: "dropped", Cancelled: "cancelled",
		RunBegin: "run-begin", RunEnd: "run-end", 0: "unknown", 99: "unknown"} {
		assert.Equal(t, s, k.String())
	}
}

func TestNewOptions(t *testing.T) {
	var got []string
	o := NewOptions(nil,
		WithObserver(ObserverFunc(func(e Event) { got = append(got, e.Kind.String()) })),
		WithHook(func(p Point) { got = append(got, fmt.Sprint("point ", int(p))) }))
	o.Observe(Event{Kind: RunBegin, Run: 1})
	o.Step(PointAlloc)
	assert.Equal(t, []string{"run-begin", "point 4"}, got)

	// Later options win; the zero Options does nothing, without panicking.
	o = NewOptions(WithHook(func(Point) { t.Error("the first hook was replaced") }), WithHook(nil))
	assert.Nil(t, o.Hook)
	assert.NotPanics(t, func() {
		var zero Options
		zero.Observe(Event{Kind: Called})
		zero.Step(PointRemove)
	})
}

func TestACallbackThatCancelsALaterFinalizerMakesRunSkipIt(t *testing.T) {
	for _, name := range []string{"unfixed", "fixed", "retry", "racy"} { // locked deadlocks on it
		t.Run(name, func(t *testing.T) {
			v, _ := Lookup(name)
			log := &eventLog{names: map[Key]string{}, runs: map[uint64]int{}}
			r := v.New(WithObserver(log))
			var later Handle
			first := r.Register(nil, func() { later.Cancel() }, P(2))
			later = r.Register(nil, func() { t.Error("a cancelled finalizer was called") }, P(1))
			log.names[first.Key()], log.names[later.Key()] = "first", "later"
			r.Run(P(1))
			assert.Equal(t, []string{"run-begin #1", "called #1 by run first", "cancelled - later", "skipped #1 later", "run-end #1"}, log.events)
			assert.Equal(t, uint64(1), r.(StatsSource).Stats().Skipped)
		})
	}
}

func TestStatsCountWhatHappened(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			r := v.New()
			objs := []*obj{newObj(), newObj(), newObj(), newObj()}
			byGC := r.Register(objs[0], func() {}, P(1))
			r.Register(objs[1], func() {}, P(2))
			r.Register(objs[2], func() {}, NoPriority)
			r.Register(nil, func() {}, P(3)).Cancel()
			r.Register(objs[3], func() {}, P(0)).Call()
			collectNow(t, byGC)
			collectNow(t, byGC) // a second cleanup of the same entry finds nothing
			r.Run(P(5))
			r.Run(NoPriority)
			assert.Equal(t, Stats{Registered: 5, CalledByGC: 1, CalledByRun: 1, CalledExplicit: 1, Dropped: 1, Cancelled: 1, Cleanups: 2, Runs: 2},
				r.(StatsSource).Stats())
			runtime.KeepAlive(objs)
		})
	}
}

// hookLog records the step points a registry reaches and, at PointRemove,
// whether the entry being collected was still registered.
type hookLog struct {
	victim Handle
	points map[Point]int
	alive  []bool
}

func (h *hookLog) step(p Point) {
	h.points[p]++
	if p == PointRemove {
		h.alive = append(h.alive, h.victim.Alive())
	}
}

func TestStepPointsAreWhereTheRaceWindowsAre(t *testing.T) {
	// Per variant, for a Run over three finalizers: the walk has a step
	// point between each two of its four steps (three entries, then the
	// check that it is done), the calls one between each two calls, the
	// retry snapshot one before its single allocation.
	want := map[string]map[Point]int{
		"unfixed": {PointWalkStep: 3, PointCallStep: 2},
		"fixed":   {PointCallStep: 2},
		"retry":   {PointAlloc: 1, PointCallStep: 2},
		"racy":    {PointWalkStep: 3},
		"locked":  {PointCallStep: 2},
	}
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			h := &hookLog{points: map[Point]int{}}
			r := v.New(WithHook(h.step))
			for i := range 3 {
				r.Register(nil, func() {}, P(i))
			}
			r.Run(NoPriority)
			assert.Equal(t, want[v.Name], h.points)

			o := newObj()
			h.victim = r.Register(o, func() {}, NoPriority)
			clear(h.points)
			collectNow(t, h.victim)
			assert.Equal(t, map[Point]int{PointRemove: 1}, h.points)
			assert.Equal(t, []bool{true}, h.alive, "a GC cleanup reaches its step point before it removes its entry")
			runtime.KeepAlive(o)
		})
	}
}

func TestRegistrationsWaitForTheSnapshotToFinish(t *testing.T) {
	// A Register that starts while unfixed walks, or while retry allocates,
	// must not finish before the snapshot is taken: it would change the
	// size the walk compares against (a false changed-size panic) or make
	// retry start over for ever under busy makers. The wait below bounds
	// how long a wrong registry gets to show it; a right one can never
	// finish the registration in time, so the test cannot fail falsely.
	for name, window := range map[string]Point{"unfixed": PointWalkStep, "retry": PointAlloc} {
		t.Run(name, func(t *testing.T) {
			v, _ := Lookup(name)
			var r Registry
			done := make(chan struct{})
			started, finishedEarly := false, false
			r = v.New(WithHook(func(p Point) {
				if p != window || started {
					return
				}
				started = true
				go func() {
					r.Register(nil, func() {}, P(9))
					close(done)
				}()
				select {
				case <-done:
					finishedEarly = true
				case <-time.After(20 * time.Millisecond):
				}
			}))
			r.Register(nil, func() {}, P(1))
			assert.NotPanics(t, func() { r.Run(P(1)) })
			require.True(t, started, "the snapshot reached its step point")
			<-done
			assert.False(t, finishedEarly, "a registration finished during the snapshot")
			assert.Equal(t, 1, r.Len(), "the finalizer registered meanwhile was not in the snapshot and stays")
			assert.Zero(t, r.(StatsSource).Stats().Restarts)
		})
	}
}

func TestAWalkCountsAnotherRunsClearAsRemovals(t *testing.T) {
	// Two runners: B's Run(NoPriority) clears the registry while A's Run
	// walks it. Channels order the steps: B walks and calls x; x's callback
	// lets A start walking; A's first step point waits for B's clear.
	bWalked, aWalking, bCleared := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once sync.Once
	aHooked := false
	var r Registry
	r = NewUnfixed(
		WithObserver(ObserverFunc(func(e Event) {
			if e.Kind == Dropped {
				once.Do(func() { close(bCleared) })
			}
		})),
		WithHook(func(p Point) {
			if p == PointWalkStep && !aHooked && isClosed(bWalked) {
				aHooked = true
				close(aWalking)
				<-bCleared
			}
		}))
	r.Register(nil, func() { close(bWalked); <-aWalking }, P(1))
	objs := []*obj{newObj(), newObj()}
	r.Register(objs[0], func() {}, NoPriority)
	r.Register(objs[1], func() {}, NoPriority)

	bDone := make(chan struct{})
	go func() { defer close(bDone); r.Run(NoPriority) }()
	<-bWalked
	v := runAndRecover(r, P(100))
	<-bDone
	err, ok := v.(*ChangedError)
	require.True(t, ok, "A's walk panics with a *ChangedError, got %v", v)
	assert.Equal(t, ChangedError{Step: 1, Size: 2, Removed: 2}, *err)
	runtime.KeepAlive(objs)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestARemovedFinalizerIsNotKeptAlive(t *testing.T) {
	// The registry must let go of a finalizer once it is removed: its
	// callback may hold on to anything. Like TestTheRealGCRemovesCollectedObjects,
	// the bound is a number of GC cycles, not time.
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			r := v.New()
			keep := r.Register(nil, func() {}, P(1))
			freed := make(chan struct{})
			func() {
				captured := &obj{}
				runtime.AddCleanup(captured, func(c chan struct{}) { close(c) }, freed)
				r.Register(nil, func() { _ = captured.pad }, P(2)).Cancel() // the last entry, removed
			}()
			const maxCycles = 1000
			for cycle := 1; !isClosed(freed); cycle++ {
				require.Less(t, cycle, maxCycles, "what the removed finalizer's callback held was never freed")
				runtime.GC()
				runtime.Gosched()
			}
			assert.True(t, keep.Alive())
			assert.Equal(t, 1, r.Len())
		})
	}
}
