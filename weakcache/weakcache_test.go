package weakcache

import (
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seam replaces a cache's cleanup registration by a record of the entries,
// so that a test runs a value's cleanup itself, when it chooses, instead of
// waiting for the garbage collector. No runtime cleanup is registered, so
// nothing touches the cache behind the test's back (which also makes the
// plain-map variant safe to test).
type seam struct {
	c       *cache
	mu      sync.Mutex
	entries map[uint64]*entry
}

func capture(t *testing.T, c Cache) *seam {
	t.Helper()
	cc, ok := c.(*cache)
	require.True(t, ok, "not a built-in cache: %T", c)
	s := &seam{c: cc, entries: make(map[uint64]*entry)}
	cc.registerCleanup = func(_ *Value, e *entry) {
		s.mu.Lock()
		s.entries[e.serial] = e
		s.mu.Unlock()
	}
	return s
}

func (s *seam) entry(t *testing.T, serial uint64) *entry {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[serial]
	require.True(t, ok, "no cleanup was registered for serial %d", serial)
	return e
}

// runCleanup runs the cleanup of the value with serial, as the runtime
// would once the value has been collected.
func (s *seam) runCleanup(t *testing.T, serial uint64) {
	t.Helper()
	s.c.cleanup(s.entry(t, serial))
}

// collect drops every reference the test might still have and runs the
// garbage collector until the value with serial is collected. runtime.GC
// completes a full cycle, sweep included, and the runtime clears weak
// pointers when it sweeps an unreachable object, so one call suffices for a
// value that nothing references; the loop only guards the precondition.
func (s *seam) collect(t *testing.T, serial uint64) {
	t.Helper()
	e := s.entry(t, serial)
	for range 10 {
		runtime.GC()
		if e.wp.Value() == nil {
			return
		}
	}
	t.Fatalf("value serial %d was not collected: something still references it", serial)
}

// getAndDrop calls c.Get(key) and returns only the value's serial, so that
// no stack slot of the caller keeps the value alive.
//
//go:noinline
func getAndDrop(c Cache, key int) uint64 {
	return c.Get(key).Serial
}

// recorder keeps a cache's events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Observe(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// take returns the events recorded so far and forgets them.
func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	es := r.events
	r.events = nil
	return es
}

func kinds(es []Event) []EventKind {
	var ks []EventKind
	for _, e := range es {
		ks = append(ks, e.Kind)
	}
	return ks
}

func stats(c Cache) Stats { return c.(StatsSource).Stats() }

func TestVariants(t *testing.T) {
	var names []string
	for _, v := range Variants() {
		names = append(names, v.Name)
		assert.NotEmpty(t, v.Doc)
		got, ok := Lookup(v.Name)
		assert.True(t, ok)
		assert.Equal(t, v.Name, got.Name)
	}
	assert.Equal(t, []string{"delete", "compare-and-delete", "plain-map"}, names)
	_, ok := Lookup("nope")
	assert.False(t, ok)
}

func TestEveryVariant(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			t.Run("a hit returns the same pointer", func(t *testing.T) {
				var rec recorder
				c := v.New(WithObserver(&rec))
				capture(t, c)
				a := c.Get(7)
				require.NotNil(t, a)
				assert.Equal(t, 7, a.Key)
				for range 3 {
					assert.Same(t, a, c.Get(7))
				}
				es := rec.take()
				assert.Equal(t, []EventKind{Created, Installed, Hit, Hit, Hit}, kinds(es))
				for _, e := range es {
					assert.Equal(t, 7, e.Key)
					assert.Equal(t, a.Serial, e.Serial)
				}
				assert.Same(t, a, es[0].Weak.Value(), "Created carries a weak pointer to the value")
				assert.Equal(t, Stats{Created: 1, Installed: 1, Hits: 3}, stats(c))
				runtime.KeepAlive(a)
			})
			t.Run("keys have their own values and Len counts them", func(t *testing.T) {
				c := v.New()
				capture(t, c)
				assert.Zero(t, c.Len())
				vs := []*Value{c.Get(1), c.Get(2), c.Get(3), c.Get(2)}
				assert.Equal(t, 3, c.Len())
				assert.Same(t, vs[1], vs[3])
				assert.NotEqual(t, vs[0].Serial, vs[1].Serial)
				assert.NotEqual(t, vs[1].Serial, vs[2].Serial)
				runtime.KeepAlive(vs)
			})
			t.Run("a Get eagerly deletes a dead entry and creates a new value", func(t *testing.T) {
				var rec recorder
				c := v.New(WithObserver(&rec))
				s := capture(t, c)
				old := getAndDrop(c, 4)
				s.collect(t, old)
				rec.take()
				assert.Equal(t, 1, c.Len(), "the dead entry stays until its cleanup or a Get")
				nv := c.Get(4)
				assert.NotEqual(t, old, nv.Serial)
				es := rec.take()
				assert.Equal(t, []EventKind{EagerDelete, Created, Installed}, kinds(es))
				assert.Equal(t, Event{Kind: EagerDelete, Key: 4, Serial: old, Deleted: true}, es[0])
				assert.Equal(t, 1, c.Len())
				assert.Equal(t, uint64(1), stats(c).EagerDeletes)
				runtime.KeepAlive(nv)
			})
			t.Run("a cleanup removes its own entry", func(t *testing.T) {
				var rec recorder
				c := v.New(WithObserver(&rec))
				s := capture(t, c)
				old := getAndDrop(c, 5)
				s.collect(t, old)
				rec.take()
				s.runCleanup(t, old)
				assert.Equal(t, []Event{{Kind: CleanupRan, Key: 5, Serial: old, Deleted: true, DeletedSerial: old}}, rec.take())
				assert.Zero(t, c.Len())
				st := stats(c)
				assert.Equal(t, uint64(1), st.Cleanups)
				assert.Equal(t, uint64(1), st.CleanupDeletes)
				assert.NotEqual(t, old, getAndDrop(c, 5), "a miss creates a new value")
			})
			t.Run("a Get that loses the install race returns the winner", func(t *testing.T) {
				var rec recorder
				var c Cache
				var winner *Value
				inner := false
				// The hook re-enters the cache (which real hooks must not
				// do) so that another Get installs between our Load and
				// our LoadOrStore, deterministically.
				c = v.New(WithObserver(&rec), WithHook(func(p Point) {
					if p == PointInstall && !inner {
						inner = true
						winner = c.Get(9)
					}
				}))
				capture(t, c)
				got := c.Get(9)
				assert.Same(t, winner, got)
				es := rec.take()
				assert.Equal(t, []EventKind{Created, Created, Installed, Discarded, Hit}, kinds(es))
				assert.Equal(t, es[1].Serial, winner.Serial, "the inner Get created the winner")
				assert.Equal(t, es[0].Serial, es[3].Serial, "the outer Get's value is discarded")
				assert.NotEqual(t, es[0].Serial, winner.Serial)
				assert.Equal(t, Stats{Created: 2, Installed: 1, Discarded: 1, Hits: 1}, stats(c))
				runtime.KeepAlive(got)
			})
			t.Run("the hook is called at the install and cleanup points", func(t *testing.T) {
				var mu sync.Mutex
				var points []Point
				c := v.New(WithHook(func(p Point) {
					mu.Lock()
					points = append(points, p)
					mu.Unlock()
				}))
				s := capture(t, c)
				old := getAndDrop(c, 1)
				mu.Lock()
				assert.Equal(t, []Point{PointInstall}, points, "a miss")
				points = nil
				mu.Unlock()
				s.collect(t, old)
				s.runCleanup(t, old)
				mu.Lock()
				assert.Equal(t, []Point{PointCleanup}, points)
				mu.Unlock()
			})
		})
	}
}

// TestOldCleanupAfterNewerInstall is the bug, driven step by step: a value
// dies, a Get eagerly deletes its dead entry and installs a newer value,
// then the old value's cleanup runs. Deleting by key removes the newer
// value's entry while that value is alive, and the next Get creates a
// second live value for the key; CompareAndDelete leaves it in place.
func TestOldCleanupAfterNewerInstall(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			var rec recorder
			c := v.New(WithObserver(&rec))
			s := capture(t, c)
			const key = 3
			old := getAndDrop(c, key)
			s.collect(t, old)
			newer := c.Get(key)
			require.NotEqual(t, old, newer.Serial)
			require.Equal(t, uint64(1), stats(c).EagerDeletes)
			rec.take()

			s.runCleanup(t, old)
			ran := rec.take()
			require.Len(t, ran, 1)
			again := c.Get(key)

			if v.Name == "delete" {
				assert.Equal(t, Event{Kind: CleanupRan, Key: key, Serial: old, Deleted: true, DeletedSerial: newer.Serial}, ran[0],
					"the old cleanup deleted the newer entry")
				assert.NotSame(t, newer, again, "a second value for the key while the first is alive")
				assert.NotEqual(t, newer.Serial, again.Serial)
				assert.Equal(t, []EventKind{Created, Installed}, kinds(rec.take()))
			} else {
				assert.Equal(t, Event{Kind: CleanupRan, Key: key, Serial: old}, ran[0], "the old cleanup deleted nothing")
				assert.Same(t, newer, again)
				assert.Equal(t, []EventKind{Hit}, kinds(rec.take()))
			}
			assert.Equal(t, 1, c.Len())
			runtime.KeepAlive(newer)
			runtime.KeepAlive(again)
		})
	}
}

// getAndDropAll gets keys 0..n-1 and keeps none of the values.
//
//go:noinline
func getAndDropAll(c Cache, n int) {
	for k := range n {
		c.Get(k)
	}
}

// TestRealGCRunsCleanups lets the runtime collect the values and run the
// real cleanups, which empty the cache. The plain-map variant is left out:
// the runtime may run cleanups on several goroutines at once, and two of
// them writing its map would kill the test binary.
//
// The wait is bounded but is not a trial with a failure rate: values that
// nothing references are unreachable at the first runtime.GC, which returns
// only after sweeping, by when every cleanup is queued (the runtime queues a
// value's cleanup when it sweeps it). What is left is for the scheduler to
// run the runnable cleanup goroutines; a false failure needs them starved
// for all of at least 20 s of rounds (2000 rounds, each a full GC and a
// 10 ms sleep).
func TestRealGCRunsCleanups(t *testing.T) {
	for _, name := range []string{"delete", "compare-and-delete"} {
		t.Run(name, func(t *testing.T) {
			v, _ := Lookup(name)
			c := v.New()
			const n = 100
			getAndDropAll(c, n)
			assert.Equal(t, n, c.Len())
			for round := 0; stats(c).Cleanups < n && round < 2000; round++ {
				runtime.GC()
				time.Sleep(10 * time.Millisecond)
			}
			st := stats(c)
			require.Equal(t, uint64(n), st.Cleanups, "cleanups that ran")
			assert.Equal(t, uint64(n), st.CleanupDeletes)
			assert.Zero(t, c.Len())
		})
	}
}

func TestOptions(t *testing.T) {
	var got []Event
	var points []Point
	o := NewOptions(WithObserver(ObserverFunc(func(e Event) { got = append(got, e) })),
		WithHook(func(p Point) { points = append(points, p) }))
	o.Observe(Event{Kind: Hit, Key: 1, Serial: 2})
	o.Step(PointCleanup)
	assert.Equal(t, []Event{{Kind: Hit, Key: 1, Serial: 2}}, got)
	assert.Equal(t, []Point{PointCleanup}, points)

	var zero Options
	zero.Observe(Event{}) // no observer, no panic
	zero.Step(PointInstall)
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "cleanup-ran key 3 serial 5 deleted serial 9",
		Event{Kind: CleanupRan, Key: 3, Serial: 5, Deleted: true, DeletedSerial: 9}.String())
	assert.Equal(t, "eager-delete key 1 serial 2 deleted false", Event{Kind: EagerDelete, Key: 1, Serial: 2}.String())
	assert.Equal(t, "hit key 1 serial 2", Event{Kind: Hit, Key: 1, Serial: 2}.String())
	assert.Equal(t, "EventKind(99)", EventKind(99).String())
	assert.Equal(t, "install", PointInstall.String())
	assert.Equal(t, "cleanup", PointCleanup.String())
	assert.Equal(t, "key 4 serial 8", (&Value{Key: 4, Serial: 8}).String())
	assert.Equal(t, "<nil>", (*Value)(nil).String())
}

func TestValueIsNotTiny(t *testing.T) {
	// The runtime's tiny allocator batches pointer-free objects smaller
	// than 16 bytes; a batched value might never be collected.
	assert.GreaterOrEqual(t, int(unsafe.Sizeof(Value{})), 16)
}

// TestRealGCOldCleanupAfterNewerInstall is TestOldCleanupAfterNewerInstall
// with the real collector and the runtime's own cleanups, checked by a
// Checker. The order is made certain by a hook, as chaos would: the
// cleanups wait at PointCleanup until every key has been got again, so each
// Get finds its key's entry dead, deletes it and installs a newer value
// before the old value's cleanup runs. The collection itself is certain
// (nothing references the values, and no Get runs during runtime.GC); the
// wait for the cleanups is bounded as in TestRealGCRunsCleanups.
func TestRealGCOldCleanupAfterNewerInstall(t *testing.T) {
	const n = 16
	for _, name := range []string{"delete", "compare-and-delete"} {
		t.Run(name, func(t *testing.T) {
			v, _ := Lookup(name)
			gate := make(chan struct{})
			var once sync.Once
			release := func() { once.Do(func() { close(gate) }) }
			t.Cleanup(release)
			chk := NewChecker()
			c := v.New(WithObserver(chk), WithHook(func(p Point) {
				if p == PointCleanup {
					<-gate
				}
			}))
			getAndDropAll(c, n)
			runtime.GC()
			newer := make([]*Value, n)
			for k := range newer {
				newer[k] = c.Get(k)
				chk.Got(k, newer[k])
			}
			st := stats(c)
			require.Equal(t, uint64(n), st.EagerDeletes, "every Get found a dead entry")
			require.Zero(t, st.Cleanups)
			release()
			for round := 0; stats(c).Cleanups < n && round < 2000; round++ {
				time.Sleep(10 * time.Millisecond)
			}
			require.Equal(t, uint64(n), stats(c).Cleanups)
			for k := range newer {
				chk.Got(k, c.Get(k))
			}
			if name == "delete" {
				assert.Equal(t, map[ViolationKind]int{RemovedAlive: n, TwoLive: n}, chk.Counts())
				assert.Equal(t, 2*n, chk.Count())
			} else {
				assert.NoError(t, chk.Err())
				assert.Equal(t, uint64(0), stats(c).CleanupDeletes)
			}
			assert.Equal(t, n, c.Len())
			runtime.KeepAlive(newer)
		})
	}
}
