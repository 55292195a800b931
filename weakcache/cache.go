package weakcache

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// entry is what the map holds for a key: a weak pointer to the value and
// the value's serial, which stays readable after the value is collected so
// that events can say whose entry was removed. It must never reference the
// value strongly. Comparing entries by pointer is comparing their weak
// pointers: one entry is made per created value.
type entry struct {
	wp     weak.Pointer[Value]
	key    int
	serial uint64
}

// store is the map under a cache: a sync.Map, or a plain map for the
// plain-map variant.
type store interface {
	load(key int) (*entry, bool)
	loadOrStore(key int, e *entry) (actual *entry, loaded bool)
	compareAndDelete(key int, old *entry) bool
	loadAndDelete(key int) (*entry, bool)
	len() int
}

type counters struct {
	created, installed, discarded, hits, eagerDeletes, cleanups, cleanupDeletes atomic.Uint64
}

func (c *counters) load() Stats {
	return Stats{
		Created:        c.created.Load(),
		Installed:      c.installed.Load(),
		Discarded:      c.discarded.Load(),
		Hits:           c.hits.Load(),
		EagerDeletes:   c.eagerDeletes.Load(),
		Cleanups:       c.cleanups.Load(),
		CleanupDeletes: c.cleanupDeletes.Load(),
	}
}

// cache is every built-in variant: the blog's Get over a store, with a
// cleanup that deletes by key (deleteByKey, the bug) or only its own entry.
type cache struct {
	m           store
	deleteByKey bool
	opts        Options
	stats       counters

	cleanupFunc func(*entry) // c.cleanup, bound once
	// registerCleanup attaches e's cleanup to v; it is runtime.AddCleanup.
	// It is the tests' seam: they replace it to capture entries and run
	// c.cleanup themselves, deterministically, instead of waiting for the
	// garbage collector.
	registerCleanup func(v *Value, e *entry)
}

func newCache(m store, deleteByKey bool, opts []Option) *cache {
	c := &cache{m: m, deleteByKey: deleteByKey, opts: NewOptions(opts...)}
	c.cleanupFunc = c.cleanup
	c.registerCleanup = func(v *Value, e *entry) { runtime.AddCleanup(v, c.cleanupFunc, e) }
	return c
}

// NewDelete returns the delete cache: the blog's cache with the bug, a
// cleanup that deletes its key whatever entry the key holds by then. When
// a Get has eagerly deleted the dead entry and installed a newer value
// before the cleanup runs, the cleanup removes the newer value's entry while
// that value is alive, and the next Get creates a second value for the key.
func NewDelete(opts ...Option) Cache { return newCache(new(syncStore), true, opts) }

// NewCompareAndDelete returns the blog's cache: a cleanup deletes its key
// only while the key still holds the cleanup's own entry
// (CompareAndDelete), so a newer entry survives the cleanup of an older
// value.
func NewCompareAndDelete(opts ...Option) Cache { return newCache(new(syncStore), false, opts) }

// NewPlainMap returns the plain-map cache: the blog's logic, with the
// correct cleanup, over a plain Go map with no synchronisation. Cleanups run
// on the runtime's cleanup goroutines while Gets run on others, so the
// runtime's concurrent-map check kills the process ("fatal error:
// concurrent map read and map write", not recoverable) and the race
// detector reports a data race. Never use it outside a child process.
func NewPlainMap(opts ...Option) Cache { return newCache(plainStore{}, false, opts) }

// Get implements Cache, as the blog does: load; on a miss create a value
// (once per call) and install it with LoadOrStore, registering its cleanup
// if it won; return an entry's value while it is live; delete an entry whose
// value was collected and start over.
func (c *cache) Get(key int) *Value {
	var v *Value
	var mine *entry
	for {
		e, ok := c.m.load(key)
		if !ok {
			if v == nil {
				v = NewValue(key)
				mine = &entry{wp: weak.Make(v), key: key, serial: v.Serial}
				c.stats.created.Add(1)
				c.opts.Observe(Event{Kind: Created, Key: key, Serial: v.Serial, Weak: mine.wp})
			}
			c.opts.Step(PointInstall)
			if e, ok = c.m.loadOrStore(key, mine); !ok {
				c.registerCleanup(v, mine)
				c.stats.installed.Add(1)
				c.opts.Observe(Event{Kind: Installed, Key: key, Serial: v.Serial})
				return v
			}
		}
		if live := e.wp.Value(); live != nil {
			if v != nil {
				c.stats.discarded.Add(1)
				c.opts.Observe(Event{Kind: Discarded, Key: key, Serial: v.Serial})
			}
			c.stats.hits.Add(1)
			c.opts.Observe(Event{Kind: Hit, Key: key, Serial: live.Serial})
			return live
		}
		deleted := c.m.compareAndDelete(key, e)
		if deleted {
			c.stats.eagerDeletes.Add(1)
		}
		c.opts.Observe(Event{Kind: EagerDelete, Key: key, Serial: e.serial, Deleted: deleted})
	}
}

// cleanup runs when e's value has been collected (its weak pointer is nil
// by then: the runtime clears weak pointers before it queues cleanups).
func (c *cache) cleanup(e *entry) {
	c.opts.Step(PointCleanup)
	var removed *entry
	if c.deleteByKey {
		removed, _ = c.m.loadAndDelete(e.key)
	} else if c.m.compareAndDelete(e.key, e) {
		removed = e
	}
	ev := Event{Kind: CleanupRan, Key: e.key, Serial: e.serial}
	if removed != nil {
		ev.Deleted, ev.DeletedSerial = true, removed.serial
		c.stats.cleanupDeletes.Add(1)
	}
	c.opts.Observe(ev)
	// Counted last, so that whoever sees the count also sees the deletion.
	c.stats.cleanups.Add(1)
}

// Len implements Cache.
func (c *cache) Len() int { return c.m.len() }

// Stats implements StatsSource.
func (c *cache) Stats() Stats { return c.stats.load() }

// syncStore is a sync.Map of *entry by key.
type syncStore struct{ m sync.Map }

func (s *syncStore) load(key int) (*entry, bool) {
	e, ok := s.m.Load(key)
	if !ok {
		return nil, false
	}
	return e.(*entry), true
}

func (s *syncStore) loadOrStore(key int, e *entry) (*entry, bool) {
	actual, loaded := s.m.LoadOrStore(key, e)
	return actual.(*entry), loaded
}

func (s *syncStore) compareAndDelete(key int, old *entry) bool {
	return s.m.CompareAndDelete(key, old)
}

func (s *syncStore) loadAndDelete(key int) (*entry, bool) {
	e, ok := s.m.LoadAndDelete(key)
	if !ok {
		return nil, false
	}
	return e.(*entry), true
}

func (s *syncStore) len() int {
	n := 0
	s.m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// plainStore is a plain map with no synchronisation at all: the plain-map
// variant's mistake.
type plainStore map[int]*entry

func (s plainStore) load(key int) (*entry, bool) {
	e, ok := s[key]
	return e, ok
}

func (s plainStore) loadOrStore(key int, e *entry) (*entry, bool) {
	if old, ok := s[key]; ok {
		return old, true
	}
	s[key] = e
	return e, false
}

func (s plainStore) compareAndDelete(key int, old *entry) bool {
	if e, ok := s[key]; ok && e == old {
		delete(s, key)
		return true
	}
	return false
}

func (s plainStore) loadAndDelete(key int) (*entry, bool) {
	e, ok := s[key]
	if ok {
		delete(s, key)
	}
	return e, ok
}

func (s plainStore) len() int { return len(s) }
