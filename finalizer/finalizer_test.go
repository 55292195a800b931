package finalizer

import (
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collectNow drives the GC cleanup path of h directly, as if its object had
// just been collected, so tests need not wait for the garbage collector.
func collectNow(t *testing.T, h Handle) {
	t.Helper()
	switch e := h.(type) {
	case *entry:
		e.s.collect(e)
	case *racyEntry:
		e.r.collect(e)
	default:
		t.Fatalf("unknown handle type %T", h)
	}
}

type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) cb(name string) func() {
	return func() {
		r.mu.Lock()
		r.calls = append(r.calls, name)
		r.mu.Unlock()
	}
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

type obj struct {
	self *obj
	pad  [16]byte
}

// immortal keeps every test object alive for the life of the test binary:
// cleanups of objects from earlier tests would otherwise run later, in
// parallel, and race on the racy registry's map.
var immortal struct {
	sync.Mutex
	objs []*obj
}

func newObj() *obj {
	o := &obj{}
	o.self = o
	immortal.Lock()
	immortal.objs = append(immortal.objs, o)
	immortal.Unlock()
	return o
}

func TestEveryVariant(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			t.Run("runs highest priority first and equal priorities in reverse creation order", func(t *testing.T) {
				var rec recorder
				r := v.New()
				objs := []*obj{newObj(), newObj(), newObj(), newObj(), newObj()}
				r.Register(objs[0], rec.cb("p1-first"), P(1))
				r.Register(objs[1], rec.cb("p5"), P(5))
				r.Register(objs[2], rec.cb("p1-second"), P(1))
				r.Register(objs[3], rec.cb("none"), NoPriority)
				r.Register(nil, rec.cb("p-3"), P(-3))
				r.Run(NoPriority)
				assert.Equal(t, []string{"p5", "p1-second", "p1-first", "p-3"}, rec.got())
				assert.Zero(t, r.Len(), "Run with no minimum clears the registry")
				runtime.KeepAlive(objs)
			})
			t.Run("runs only priorities at or above the minimum and keeps the rest", func(t *testing.T) {
				var rec recorder
				r := v.New()
				o := newObj()
				r.Register(o, rec.cb("p0"), P(0))
				r.Register(o, rec.cb("p2"), P(2))
				r.Register(o, rec.cb("p-1"), P(-1))
				r.Register(o, rec.cb("none"), NoPriority)
				r.Run(P(0))
				assert.Equal(t, []string{"p2", "p0"}, rec.got())
				assert.Equal(t, 2, r.Len())
				runtime.KeepAlive(o)
			})
			t.Run("calls a finalizer at most once whoever removes it", func(t *testing.T) {
				var rec recorder
				r := v.New()
				o := newObj()
				h := r.Register(o, rec.cb("x"), P(1))
				assert.True(t, h.Alive())
				assert.True(t, h.Call())
				assert.False(t, h.Call(), "a second call does nothing")
				collectNow(t, h)
				r.Run(NoPriority)
				assert.Equal(t, []string{"x"}, rec.got())
				assert.False(t, h.Alive())
				runtime.KeepAlive(o)
			})
			t.Run("the GC cleanup calls the callback and Run then skips it", func(t *testing.T) {
				var rec recorder
				r := v.New()
				o := newObj()
				h := r.Register(o, rec.cb("x"), P(1))
				collectNow(t, h)
				r.Run(NoPriority)
				assert.Equal(t, []string{"x"}, rec.got())
				st := r.(StatsSource).Stats()
				assert.Equal(t, uint64(1), st.CalledByGC)
				assert.Equal(t, uint64(0), st.CalledByRun)
				assert.Equal(t, uint64(1), st.Cleanups)
				runtime.KeepAlive(o)
			})
			t.Run("a cancelled finalizer is never called", func(t *testing.T) {
				var rec recorder
				r := v.New()
				o := newObj()
				h := r.Register(o, rec.cb("x"), P(1))
				assert.True(t, h.Cancel())
				assert.False(t, h.Cancel())
				collectNow(t, h)
				r.Run(NoPriority)
				assert.Empty(t, rec.got())
				assert.Equal(t, uint64(1), r.(StatsSource).Stats().Cancelled)
				runtime.KeepAlive(o)
			})
			t.Run("clearing drops finalizers without a priority and reports them", func(t *testing.T) {
				var rec recorder
				var dropped []Key
				r := v.New(WithObserver(ObserverFunc(func(e Event) {
					if e.Kind == Dropped {
						dropped = append(dropped, e.Key)
					}
				})))
				o := newObj()
				h := r.Register(o, rec.cb("none"), NoPriority)
				r.Run(NoPriority)
				assert.Empty(t, rec.got())
				assert.Equal(t, []Key{h.Key()}, dropped)
				assert.Zero(t, r.Len())
				runtime.KeepAlive(o)
			})
			t.Run("Register rejects what CPython rejects", func(t *testing.T) {
				r := v.New()
				assert.Panics(t, func() { r.Register(nil, func() {}, NoPriority) }, "no object and no priority")
				assert.Panics(t, func() { r.Register(obj{}, func() {}, P(1)) }, "not a pointer")
				assert.Panics(t, func() { r.Register((*obj)(nil), func() {}, P(1)) }, "nil pointer")
			})
		})
	}
}

func TestOriginalFinalizeOrder(t *testing.T) {
	// _test_finalize from CPython's test suite, driving the GC path directly.
	for _, name := range []string{"unfixed", "fixed", "retry", "locked", "racy"} {
		t.Run(name+" calls back a, b, d10, d03, d02, d01, e", func(t *testing.T) {
			v, ok := Lookup(name)
			require.True(t, ok)
			var rec recorder
			r := v.New()
			a, b, c := newObj(), newObj(), newObj()
			d10, d01, d02, d03 := newObj(), newObj(), newObj(), newObj()
			ha := r.Register(a, rec.cb("a"), NoPriority)
			collectNow(t, ha) // del a
			hb := r.Register(b, rec.cb("b"), NoPriority)
			hb.Call()
			hb.Call() // calling twice does nothing
			r.Register(c, rec.cb("c"), NoPriority)
			r.Register(d10, rec.cb("d10"), P(1))
			r.Register(d01, rec.cb("d01"), P(0))
			r.Register(d02, rec.cb("d02"), P(0))
			r.Register(d03, rec.cb("d03"), P(0))
			r.Register(nil, rec.cb("e"), P(-10))
			r.Register(nil, rec.cb("STOP"), P(-100))
			r.Run(P(0))
			r.Run(NoPriority)
			assert.Equal(t, []string{"a", "b", "d10", "d03", "d02", "d01", "e", "STOP"}, rec.got())
			runtime.KeepAlive([]*obj{c, d10, d01, d02, d03})
		})
	}
}

// removeDuringWalk returns a hook that, at the first walk step, runs the GC
// cleanup of victim, as a collection at that moment would.
func removeDuringWalk(t *testing.T, victim *Handle) func(Point) {
	done := false
	return func(p Point) {
		if p == PointWalkStep && !done {
			done = true
			collectNow(t, *victim)
		}
	}
}

func TestUnfixedPanicsWhenACleanupRemovesAnEntryMidWalk(t *testing.T) {
	var victim Handle
	var rec recorder
	r := NewUnfixed(WithHook(removeDuringWalk(t, &victim)))
	objs := []*obj{newObj(), newObj(), newObj()}
	for i, o := range objs {
		h := r.Register(o, rec.cb(string(rune('a'+i))), P(i))
		if i == 2 {
			victim = h
		}
	}
	v := func() (v any) {
		defer func() { v = recover() }()
		r.Run(NoPriority)
		return nil
	}()
	require.NotNil(t, v, "Run must panic")
	err, ok := v.(error)
	require.True(t, ok, "panic value %T is an error", v)
	assert.ErrorIs(t, err, ErrChangedDuringIteration)
	var ce *ChangedError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "removed", ce.Kind())
	assert.Equal(t, 1, ce.Removed)
	assert.Equal(t, 0, ce.Inserted)
	assert.Equal(t, 3, ce.Size)
	assert.Contains(t, err.Error(), "registry changed size during iteration: removed 1")
	assert.Equal(t, []string{"c"}, rec.got(), "only the GC cleanup called back")
	assert.Equal(t, 2, r.Len(), "the failed Run removed nothing")
	runtime.KeepAlive(objs)
}

func TestFixedSkipsWhatACleanupRemovedMidRun(t *testing.T) {
	var victim Handle
	var rec recorder
	var skipped []Key
	removed := false
	r := NewFixed(
		WithObserver(ObserverFunc(func(e Event) {
			if e.Kind == Skipped {
				skipped = append(skipped, e.Key)
			}
		})),
		WithHook(func(p Point) {
			if p == PointCallStep && !removed {
				removed = true
				collectNow(t, victim) // the lowest key: still ahead in the snapshot
			}
		}))
	objs := []*obj{newObj(), newObj(), newObj()}
	for i, o := range objs {
		h := r.Register(o, rec.cb(string(rune('a'+i))), P(i))
		if i == 0 {
			victim = h
		}
	}
	assert.NotPanics(t, func() { r.Run(NoPriority) })
	assert.Equal(t, []string{"c", "a", "b"}, rec.got())
	assert.Equal(t, []Key{victim.Key()}, skipped)
	st := r.(StatsSource).Stats()
	assert.Equal(t, uint64(1), st.Skipped)
	assert.Equal(t, uint64(1), st.CalledByGC)
	assert.Equal(t, uint64(2), st.CalledByRun)
	runtime.KeepAlive(objs)
}

func TestUnfixedRegistrationsWaitForTheWalk(t *testing.T) {
	var sawBlocked bool
	var r Registry
	r = NewUnfixed(WithHook(func(p Point) {
		if p == PointWalkStep {
			s := r.(*store)
			if s.walk.TryRLock() {
				s.walk.RUnlock()
			} else {
				sawBlocked = true
			}
		}
	}))
	o := newObj()
	r.Register(o, func() {}, P(1))
	r.Register(o, func() {}, P(2))
	r.Run(NoPriority)
	assert.True(t, sawBlocked, "a Register during the walk would have waited")
	runtime.KeepAlive(o)
}

func TestLockedCallsCallbacksUnderTheLock(t *testing.T) {
	var r Registry
	var heldDuringCallback bool
	r = NewLocked()
	o := newObj()
	r.Register(o, func() {
		s := r.(*store)
		if s.mu.TryLock() {
			s.mu.Unlock()
		} else {
			heldDuringCallback = true
		}
	}, P(1))
	r.Run(NoPriority)
	assert.True(t, heldDuringCallback, "a callback re-entering the registry would deadlock")
	runtime.KeepAlive(o)
}

func TestRunReportsOrderedCallsPerRun(t *testing.T) {
	var keys []Key
	var runs []uint64
	r := NewFixed(WithObserver(ObserverFunc(func(e Event) {
		if e.Kind == Called && e.By == ByRun {
			keys = append(keys, e.Key)
			runs = append(runs, e.Run)
		}
	})))
	o := newObj()
	for _, p := range []int{3, 1, 3, 2} {
		r.Register(o, func() {}, P(p))
	}
	r.Run(NoPriority)
	require.Len(t, keys, 4)
	for i := 1; i < len(keys); i++ {
		assert.Equal(t, 1, keys[i-1].Compare(keys[i]), "key %v before %v", keys[i-1], keys[i])
		assert.Equal(t, runs[0], runs[i])
	}
	runtime.KeepAlive(o)
}

func TestTheRealGCRemovesCollectedObjects(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name+" calls back once the object is collected", func(t *testing.T) {
			r := v.New()
			called := make(chan struct{}, 1)
			func() {
				o := &obj{}
				o.self = o
				r.Register(o, func() { called <- struct{}{} }, P(1))
			}()
			// The object is unreachable once the closure returns: the first
			// full GC finds it dead and queues its cleanup, which the
			// runtime's cleanup goroutine runs as soon as it is scheduled.
			// runtime.GC blocks its caller for a whole cycle, so each round
			// gives that runnable goroutine a chance to run; it is normally
			// done after the first. No clock is involved: the bound is a
			// number of GC cycles, three orders of magnitude above need,
			// and a registry that never attached a cleanup fails it.
			const maxCycles = 1000
			for cycle := 1; ; cycle++ {
				runtime.GC()
				select {
				case <-called:
					assert.Zero(t, r.Len(), "the cleanup removed the entry")
					st := r.(StatsSource).Stats()
					assert.Equal(t, uint64(1), st.Cleanups)
					assert.Equal(t, uint64(1), st.CalledByGC)
					return
				default:
				}
				if cycle == maxCycles {
					t.Fatalf("no cleanup after %d GC cycles: the registry does not hold its object weakly", maxCycles)
				}
				runtime.Gosched()
			}
		})
	}
}

func TestChangedErrorDescribesTheMutation(t *testing.T) {
	cases := []struct {
		err  ChangedError
		kind string
		text string
	}{
		{ChangedError{Removed: 2}, "removed", "removed 2"},
		{ChangedError{Inserted: 1}, "inserted", "inserted 1"},
		{ChangedError{Removed: 1, Inserted: 3}, "removed+inserted", "removed 1, inserted 3"},
	}
	for _, c := range cases {
		assert.Equal(t, c.kind, c.err.Kind())
		assert.Equal(t, c.text, c.err.Mutation())
		assert.True(t, errors.Is(&c.err, ErrChangedDuringIteration))
	}
}

func TestKeyCompare(t *testing.T) {
	assert.Equal(t, -1, Key{NoPriority, 5}.Compare(Key{P(-100), 1}))
	assert.Equal(t, 1, Key{P(2), 1}.Compare(Key{P(1), 9}))
	assert.Equal(t, -1, Key{P(1), 1}.Compare(Key{P(1), 2}))
	assert.Equal(t, 0, Key{P(1), 1}.Compare(Key{P(1), 1}))
	assert.Equal(t, "(none, 3)", Key{NoPriority, 3}.String())
}
