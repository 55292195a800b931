package weakcache

import (
	"errors"
	"runtime"
	"strconv"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checker's tests feed it hand-made event sequences about real values:
// live ones the test holds, dead ones it has let the collector take.

// dead returns the serial of, and a weak pointer to, a value for key that
// has been collected.
func dead(t *testing.T, key int) (uint64, weak.Pointer[Value]) {
	t.Helper()
	serial, wp := deadValue(key)
	for range 10 {
		runtime.GC()
		if wp.Value() == nil {
			return serial, wp
		}
	}
	t.Fatalf("value serial %d was not collected", serial)
	return 0, wp
}

//go:noinline
func deadValue(key int) (uint64, weak.Pointer[Value]) {
	v := NewValue(key)
	return v.Serial, weak.Make(v)
}

// created is the Created event of v.
func created(v *Value) Event {
	return Event{Kind: Created, Key: v.Key, Serial: v.Serial, Weak: weak.Make(v)}
}

func ev(k EventKind, key int, serial uint64) Event { return Event{Kind: k, Key: key, Serial: serial} }

func feed(c *Checker, es ...Event) {
	for _, e := range es {
		c.Observe(e)
	}
}

func TestCheckerCleanSequences(t *testing.T) {
	t.Run("create, install, hits", func(t *testing.T) {
		c := NewChecker()
		v := NewValue(1)
		feed(c, created(v), ev(Installed, 1, v.Serial))
		c.Got(1, v)
		feed(c, ev(Hit, 1, v.Serial))
		c.Got(1, v)
		assert.NoError(t, c.Err())
		runtime.KeepAlive(v)
	})
	t.Run("a dead value replaced through an eager delete, its cleanup finding nothing", func(t *testing.T) {
		c := NewChecker()
		s1, w1 := dead(t, 1)
		v2 := NewValue(1)
		feed(c,
			Event{Kind: Created, Key: 1, Serial: s1, Weak: w1}, ev(Installed, 1, s1),
			Event{Kind: EagerDelete, Key: 1, Serial: s1, Deleted: true},
			created(v2), ev(Installed, 1, v2.Serial),
			Event{Kind: CleanupRan, Key: 1, Serial: s1})
		c.Got(1, v2)
		assert.NoError(t, c.Err())
		runtime.KeepAlive(v2)
	})
	t.Run("a cleanup removing its own entry", func(t *testing.T) {
		c := NewChecker()
		s1, w1 := dead(t, 1)
		feed(c, Event{Kind: Created, Key: 1, Serial: s1, Weak: w1}, ev(Installed, 1, s1),
			Event{Kind: CleanupRan, Key: 1, Serial: s1, Deleted: true, DeletedSerial: s1})
		assert.NoError(t, c.Err())
		assert.Empty(t, c.bySerial, "the collected value is forgotten")
	})
	t.Run("a lost install race: two values created, one discarded", func(t *testing.T) {
		c := NewChecker()
		a, b := NewValue(2), NewValue(2)
		feed(c, created(a), created(b), ev(Installed, 2, b.Serial), ev(Discarded, 2, a.Serial), ev(Hit, 2, b.Serial))
		c.Got(2, b)
		c.Got(2, b)
		assert.NoError(t, c.Err())
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
	})
	t.Run("a hit handled before the Installed event of its value", func(t *testing.T) {
		c := NewChecker()
		v := NewValue(3)
		feed(c, created(v), ev(Hit, 3, v.Serial), ev(Installed, 3, v.Serial))
		c.Got(3, v)
		assert.NoError(t, c.Err())
		runtime.KeepAlive(v)
	})
	t.Run("a cleanup by key removing a newer entry whose value is dead too", func(t *testing.T) {
		c := NewChecker()
		s1, w1 := dead(t, 1)
		s2, w2 := dead(t, 1)
		feed(c, Event{Kind: Created, Key: 1, Serial: s1, Weak: w1}, ev(Installed, 1, s1),
			Event{Kind: EagerDelete, Key: 1, Serial: s1, Deleted: true},
			Event{Kind: Created, Key: 1, Serial: s2, Weak: w2}, ev(Installed, 1, s2),
			Event{Kind: CleanupRan, Key: 1, Serial: s1, Deleted: true, DeletedSerial: s2})
		assert.NoError(t, c.Err(), "harmless: nobody can get the newer value any more")
	})
	t.Run("a cache that reports nothing, checked through Got alone", func(t *testing.T) {
		c := NewChecker()
		v := NewValue(4)
		c.Got(4, v)
		c.Got(4, v)
		assert.NoError(t, c.Err())
		runtime.KeepAlive(v)
	})
}

func TestCheckerViolations(t *testing.T) {
	t.Run("a cleanup deleting the newer live entry, then a second live value", func(t *testing.T) {
		c := NewChecker()
		s1, w1 := dead(t, 3)
		v2, v3 := NewValue(3), NewValue(3)
		feed(c, Event{Kind: Created, Key: 3, Serial: s1, Weak: w1}, ev(Installed, 3, s1),
			Event{Kind: EagerDelete, Key: 3, Serial: s1, Deleted: true},
			created(v2), ev(Installed, 3, v2.Serial),
			Event{Kind: CleanupRan, Key: 3, Serial: s1, Deleted: true, DeletedSerial: v2.Serial},
			created(v3), ev(Installed, 3, v3.Serial))
		c.Got(3, v3)
		c.Got(3, v2) // the same pair again: reported once
		c.Got(3, v3)
		vs := c.Violations()
		require.Len(t, vs, 2)
		assert.Equal(t, Violation{Kind: RemovedAlive, Key: 3, Serial: v2.Serial, Other: s1,
			Detail: "the cleanup of serial " + u(s1) + " removed the entry of serial " + u(v2.Serial) + ", which is alive"}, vs[0])
		assert.Equal(t, Violation{Kind: TwoLive, Key: 3, Serial: v3.Serial, Other: v2.Serial,
			Detail: "serial " + u(v2.Serial) + " and serial " + u(v3.Serial) + " are both alive"}, vs[1])
		assert.Equal(t, "two-live: key 3: serial "+u(v2.Serial)+" and serial "+u(v3.Serial)+" are both alive", vs[1].Error())
		assert.Equal(t, 2, c.Count())
		assert.Equal(t, map[ViolationKind]int{RemovedAlive: 1, TwoLive: 1}, c.Counts())
		err := c.Err()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "2 violations, the first: removed-alive: key 3")
		var first Violation
		require.True(t, errors.As(err, &first))
		assert.Equal(t, vs[0], first)
		runtime.KeepAlive(v2)
		runtime.KeepAlive(v3)
	})
	t.Run("an eager delete of a live entry", func(t *testing.T) {
		c := NewChecker()
		v := NewValue(5)
		feed(c, created(v), ev(Installed, 5, v.Serial), Event{Kind: EagerDelete, Key: 5, Serial: v.Serial, Deleted: true})
		assert.Equal(t, []Violation{{Kind: RemovedAlive, Key: 5, Serial: v.Serial,
			Detail: "a Get eagerly deleted the entry of serial " + u(v.Serial) + ", which is alive"}}, c.Violations())
		runtime.KeepAlive(v)
	})
	t.Run("a cleanup that runs while its value is alive", func(t *testing.T) {
		c := NewChecker()
		v := NewValue(5)
		feed(c, created(v), ev(Installed, 5, v.Serial),
			Event{Kind: CleanupRan, Key: 5, Serial: v.Serial, Deleted: true, DeletedSerial: v.Serial})
		require.Equal(t, 1, c.Count())
		assert.Equal(t, RemovedAlive, c.Violations()[0].Kind)
		assert.Contains(t, c.Violations()[0].Detail, "cleanup of serial "+u(v.Serial))
		runtime.KeepAlive(v)
	})
	t.Run("two live values installed for a key", func(t *testing.T) {
		c := NewChecker()
		a, b := NewValue(6), NewValue(6)
		feed(c, created(a), ev(Installed, 6, a.Serial), created(b), ev(Installed, 6, b.Serial))
		assert.Equal(t, []Violation{{Kind: TwoLive, Key: 6, Serial: b.Serial, Other: a.Serial,
			Detail: "serial " + u(a.Serial) + " and serial " + u(b.Serial) + " are both alive"}}, c.Violations())
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
	})
	t.Run("two live values returned by a cache that reports nothing", func(t *testing.T) {
		c := NewChecker()
		a, b := NewValue(6), NewValue(6)
		c.Got(6, a)
		c.Got(6, b)
		require.Equal(t, 1, c.Count())
		assert.Equal(t, TwoLive, c.Violations()[0].Kind)
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
	})
	t.Run("Get returning nil, another key's value, a discarded value", func(t *testing.T) {
		c := NewChecker()
		other, discarded := NewValue(8), NewValue(7)
		feed(c, created(discarded), ev(Discarded, 7, discarded.Serial))
		c.Got(7, nil)
		c.Got(7, other)
		c.Got(7, discarded)
		assert.Equal(t, []Violation{
			{Kind: NotCanonical, Key: 7, Detail: "Get returned nil"},
			{Kind: NotCanonical, Key: 7, Serial: other.Serial, Detail: "Get returned serial " + u(other.Serial) + ", a value of key 8"},
			{Kind: NotCanonical, Key: 7, Serial: discarded.Serial, Detail: "Get returned serial " + u(discarded.Serial) + ", which its Get discarded"},
		}, c.Violations())
		runtime.KeepAlive(other)
		runtime.KeepAlive(discarded)
	})
	t.Run("one violation", func(t *testing.T) {
		c := NewChecker()
		c.Got(1, nil)
		assert.EqualError(t, c.Err(), "weakcache: not-canonical: key 1: Get returned nil")
		assert.Equal(t, "ViolationKind(9)", ViolationKind(9).String())
	})
	t.Run("keeps the first 64 and counts them all", func(t *testing.T) {
		c := NewChecker()
		for range 100 {
			c.Got(1, nil)
		}
		assert.Len(t, c.Violations(), maxKept)
		assert.Equal(t, 100, c.Count())
	})
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

// TestCheckerKeepsNothingAlive: a value the checker has seen in every way
// is collected once the test drops it.
func TestCheckerKeepsNothingAlive(t *testing.T) {
	c := NewChecker()
	wp := seeAndDrop(c)
	for range 10 {
		runtime.GC()
		if wp.Value() == nil {
			return
		}
	}
	t.Fatal("the checker keeps a value it was shown alive")
}

//go:noinline
func seeAndDrop(c *Checker) weak.Pointer[Value] {
	v := NewValue(1)
	feed(c, created(v), ev(Installed, 1, v.Serial), ev(Hit, 1, v.Serial))
	c.Got(1, v)
	return weak.Make(v)
}

// TestCheckerForgetsDeadValues: the checker's tables follow the live
// values, not every value ever seen.
func TestCheckerForgetsDeadValues(t *testing.T) {
	c := NewChecker()
	const n = 5000
	showAndDrop(c, n)
	runtime.GC()
	showAndDrop(c, n) // the sweeps on the way forget the first batch
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Less(t, len(c.bySerial), 2*n)
}

//go:noinline
func showAndDrop(c *Checker, n int) {
	for k := range n {
		v := NewValue(k)
		feed(c, created(v), ev(Installed, k, v.Serial))
		c.Got(k, v)
	}
}

// TestCheckerOnTheSeam runs the bug of TestOldCleanupAfterNewerInstall
// with a Checker as the observer: it catches the delete variant and finds
// nothing wrong with the others.
func TestCheckerOnTheSeam(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			chk := NewChecker()
			c := v.New(WithObserver(chk))
			s := capture(t, c)
			old := getAndDrop(c, 3)
			s.collect(t, old)
			newer := c.Get(3)
			chk.Got(3, newer)
			s.runCleanup(t, old)
			again := c.Get(3)
			chk.Got(3, again)
			if v.Name != "delete" {
				assert.NoError(t, chk.Err())
				return
			}
			assert.Equal(t, map[ViolationKind]int{RemovedAlive: 1, TwoLive: 1}, chk.Counts())
			vs := chk.Violations()
			require.Len(t, vs, 2)
			assert.Equal(t, [2]uint64{newer.Serial, old}, [2]uint64{vs[0].Serial, vs[0].Other})
			assert.Equal(t, [2]uint64{again.Serial, newer.Serial}, [2]uint64{vs[1].Serial, vs[1].Other})
			runtime.KeepAlive(newer)
			runtime.KeepAlive(again)
		})
	}
}
