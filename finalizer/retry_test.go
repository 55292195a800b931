package finalizer

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// removeInAllocWindow returns a hook that, at each of the first n
// allocation windows of the retry variant, runs the GC cleanup of the next
// victim, as a collection triggered by that allocation would. It counts the
// windows it saw in *windows.
func removeInAllocWindow(t *testing.T, victims *[]Handle, windows *int) func(Point) {
	return func(p Point) {
		if p != PointAlloc {
			return
		}
		*windows++
		if len(*victims) > 0 {
			v := (*victims)[0]
			*victims = (*victims)[1:]
			collectNow(t, v)
		}
	}
}

func TestRetryStartsOverWhenACleanupRemovesAnEntryDuringTheAllocation(t *testing.T) {
	var victims []Handle
	var windows int
	var rec recorder
	r := NewRetry(WithHook(removeInAllocWindow(t, &victims, &windows)))
	objs := []*obj{newObj(), newObj(), newObj(), newObj()}
	hs := make([]Handle, len(objs))
	for i, o := range objs {
		hs[i] = r.Register(o, rec.cb(string(rune('a'+i))), P(i))
	}
	victims = []Handle{hs[1]} // b, in the middle of the order
	require.NotPanics(t, func() { r.Run(NoPriority) })

	assert.Equal(t, []string{"b", "d", "c", "a"}, rec.got(), "the cleanup called b; Run called every other one, in order")
	st := r.(StatsSource).Stats()
	assert.Equal(t, uint64(1), st.Restarts, "the size changed once during the allocation")
	assert.Equal(t, 2, windows, "one allocation thrown away, one kept")
	assert.Equal(t, uint64(1), st.CalledByGC)
	assert.Equal(t, uint64(3), st.CalledByRun, "no entry missed")
	assert.Zero(t, st.Skipped, "the second snapshot no longer holds b")
	assert.Zero(t, r.Len())
	runtime.KeepAlive(objs)
}

func TestRetryStartsOverAsOftenAsTheSizeChanges(t *testing.T) {
	var victims []Handle
	var windows int
	var rec recorder
	r := NewRetry(WithHook(removeInAllocWindow(t, &victims, &windows)))
	objs := []*obj{newObj(), newObj(), newObj(), newObj(), newObj()}
	hs := make([]Handle, len(objs))
	for i, o := range objs {
		hs[i] = r.Register(o, rec.cb(string(rune('a'+i))), P(10-i))
	}
	victims = []Handle{hs[0], hs[4], hs[2]}
	r.Run(P(7)) // wants a (10), b (9), c (8), d (7); e (6) stays
	assert.Equal(t, []string{"a", "e", "c", "b", "d"}, rec.got(), "three cleanups, then the Run's calls in order")
	st := r.(StatsSource).Stats()
	assert.Equal(t, uint64(3), st.Restarts)
	assert.Equal(t, 4, windows)
	assert.Equal(t, uint64(2), st.CalledByRun)
	assert.Zero(t, r.Len(), "e was removed by its cleanup, the rest by Run")

	// A Run whose size does not change allocates once and never starts over.
	r.Register(nil, rec.cb("f"), P(1))
	r.Register(nil, rec.cb("g"), P(0))
	r.Run(P(1))
	assert.Equal(t, uint64(3), r.(StatsSource).Stats().Restarts)
	assert.Equal(t, 5, windows)
	assert.Equal(t, 1, r.Len(), "g is below the minimum and stays")
	runtime.KeepAlive(objs)
}

func TestRetryAndFixedSkipWhatACleanupRemovedMidRun(t *testing.T) {
	for _, name := range []string{"fixed", "retry"} {
		t.Run(name, func(t *testing.T) {
			v, ok := Lookup(name)
			require.True(t, ok)
			var victim Handle
			var rec recorder
			var skipped []Key
			removed := false
			r := v.New(
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
			assert.Zero(t, st.Restarts)
			runtime.KeepAlive(objs)
		})
	}
}

func TestRetryRegistrationsWaitForTheSnapshot(t *testing.T) {
	var sawBlocked bool
	var r Registry
	r = NewRetry(WithHook(func(p Point) {
		if p == PointAlloc {
			s := r.(*store)
			if s.walk.TryRLock() {
				s.walk.RUnlock()
			} else {
				sawBlocked = true
			}
		}
	}))
	r.Register(nil, func() {}, P(1))
	r.Run(NoPriority)
	assert.True(t, sawBlocked, "a Register during the allocation would have waited, as under the GIL")
}

func TestTheVariantsTable(t *testing.T) {
	var names []string
	for _, v := range Variants() {
		names = append(names, v.Name)
		assert.NotEmpty(t, v.Doc, v.Name)
		got, ok := Lookup(v.Name)
		assert.True(t, ok)
		assert.Equal(t, v.Name, got.Name)
	}
	assert.Equal(t, []string{"unfixed", "fixed", "retry", "racy", "locked"}, names)
	_, ok := Lookup("nonesuch")
	assert.False(t, ok)
}
