package finalizer

import (
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// entry is one registered finalizer; it is also its Handle. It must never
// reference the registered object, or the object would never be collected.
type entry struct {
	key Key
	cb  func()
	idx int // position in store.items; -1 once removed
	s   *store
}

func (e *entry) Key() Key { return e.key }

func (e *entry) Call() bool {
	if !e.s.remove(e) {
		return false
	}
	e.s.call(e, ByExplicit, 0)
	return true
}

func (e *entry) Cancel() bool {
	if !e.s.remove(e) {
		return false
	}
	e.s.stats.cancelled.Add(1)
	e.s.observe(Event{Kind: Cancelled, Key: e.key})
	return true
}

func (e *entry) Alive() bool {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	return e.idx >= 0
}

type counters struct {
	registered, byGC, byRun, explicit, skipped, dropped, cancelled, cleanups, runs, restarts atomic.Uint64
}

// snapshotFunc returns the entries Run must consider, in any order.
type snapshotFunc func(s *store, min Priority, run uint64) []*entry

// store is the registry shared by the unfixed, fixed and locked variants: a
// dense slice of entries (swap-remove), guarded by mu. The variants differ in
// how Run takes its snapshot and whether it calls callbacks under mu.
type store struct {
	mu       sync.Mutex
	items    []*entry
	removed  uint64 // removals so far, under mu
	inserted uint64 // insertions so far, under mu
	// spare is the array of the items a clear dropped, emptied once Run
	// has reported them: the next clear's items start from it, so that
	// the registry does not grow its array again from nothing after every
	// Run(NoPriority). Under mu.
	spare []*entry

	// walk, when guardWalk is set, makes a registration atomic with respect
	// to a walk of the unfixed variant, as CPython's GIL does: Register
	// holds it for reading, the walk for writing.
	walk      sync.RWMutex
	guardWalk bool

	snapshot    snapshotFunc
	callLocked  bool // call callbacks while holding mu (the locked variant)
	opts        Options
	collectFunc func(*entry)
	runIDs      atomic.Uint64
	stats       counters
}

func newStore(snap snapshotFunc, opts []Option) *store {
	s := &store{snapshot: snap, opts: NewOptions(opts...)}
	s.collectFunc = s.collect
	return s
}

func (s *store) observe(e Event) { s.opts.Observe(e) }

func (s *store) hook(p Point) { s.opts.Step(p) }

// checkObject validates Register's arguments and returns obj as a pointer
// the runtime can attach a cleanup to (nil for no object).
func checkObject(obj any, p Priority) *byte {
	if obj == nil {
		if !p.set {
			panic("finalizer: Register without an object needs an exit priority")
		}
		return nil
	}
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("finalizer: Register needs a non-nil pointer, got " + v.Type().String())
	}
	// A cleanup is keyed by the object's address, not its type.
	return (*byte)(v.UnsafePointer())
}

func (s *store) Register(obj any, callback func(), p Priority) Handle {
	ptr := checkObject(obj, p)
	e := &entry{key: Key{Priority: p, Seq: nextSeq()}, cb: callback, s: s}
	s.insert(e)
	s.stats.registered.Add(1)
	if ptr != nil {
		runtime.AddCleanup(ptr, s.collectFunc, e)
	}
	runtime.KeepAlive(obj)
	return e
}

func (s *store) insert(e *entry) {
	if s.guardWalk {
		s.walk.RLock()
		defer s.walk.RUnlock()
	}
	s.mu.Lock()
	e.idx = len(s.items)
	s.items = append(s.items, e)
	s.inserted++
	s.mu.Unlock()
}

func (s *store) removeLocked(e *entry) bool {
	if e.idx < 0 {
		return false
	}
	last := len(s.items) - 1
	moved := s.items[last]
	s.items[e.idx] = moved
	moved.idx = e.idx
	s.items[last] = nil
	s.items = s.items[:last]
	e.idx = -1
	s.removed++
	return true
}

func (s *store) remove(e *entry) bool {
	s.mu.Lock()
	ok := s.removeLocked(e)
	s.mu.Unlock()
	return ok
}

// collect is the GC cleanup of a registered object.
func (s *store) collect(e *entry) {
	s.stats.cleanups.Add(1)
	s.hook(PointRemove)
	if s.remove(e) {
		s.call(e, ByGC, 0)
	}
}

func (s *store) call(e *entry, by Caller, run uint64) {
	switch by {
	case ByGC:
		s.stats.byGC.Add(1)
	case ByRun:
		s.stats.byRun.Add(1)
	default:
		s.stats.explicit.Add(1)
	}
	s.observe(Event{Kind: Called, By: by, Key: e.key, Run: run})
	e.cb()
}

func (s *store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

func (s *store) Stats() Stats { return s.stats.load() }

func wanted(e *entry, min Priority) bool {
	p := e.key.Priority
	return p.set && (!min.set || p.n >= min.n)
}

// sortDescending orders entries highest key first, as CPython's
// items.sort(reverse=True).
func sortDescending(es []*entry) {
	slices.SortFunc(es, func(a, b *entry) int { return b.key.Compare(a.key) })
}

func (s *store) Run(min Priority) {
	id := s.runIDs.Add(1)
	s.stats.runs.Add(1)
	s.observe(Event{Kind: RunBegin, Run: id})
	if s.callLocked {
		s.runLocked(min, id)
	} else {
		s.runUnlocked(min, id)
	}
	s.observe(Event{Kind: RunEnd, Run: id})
}

func (s *store) runUnlocked(min Priority, id uint64) {
	s.callInOrder(s.snapshot(s, min, id), id, s.remove)
	if !min.set {
		s.mu.Lock()
		dropped := s.clearLocked()
		s.mu.Unlock()
		s.reportDropped(dropped, id)
		clear(dropped) // private since the clear
		s.mu.Lock()
		s.keepSpare(dropped)
		s.mu.Unlock()
	}
}

// runLocked is the locked variant's Run: the lock is held from the snapshot
// to the clear, callbacks included.
func (s *store) runLocked(min Priority, id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []*entry
	for _, e := range s.items {
		if wanted(e, min) {
			keys = append(keys, e)
		}
	}
	s.callInOrder(keys, id, s.removeLocked)
	if !min.set {
		dropped := s.clearLocked()
		s.reportDropped(dropped, id)
		clear(dropped)
		s.keepSpare(dropped)
	}
}

// callInOrder is the heart of Run after the snapshot: highest key first, it
// removes each entry (the linearization point) and calls it, or skips it
// when someone removed it first.
func (s *store) callInOrder(keys []*entry, id uint64, remove func(*entry) bool) {
	sortDescending(keys)
	for i, e := range keys {
		if i > 0 {
			s.hook(PointCallStep)
		}
		if remove(e) {
			s.call(e, ByRun, id)
		} else {
			s.stats.skipped.Add(1)
			s.observe(Event{Kind: Skipped, Key: e.key, Run: id})
		}
	}
}

// clearLocked empties the registry, under mu, and returns the entries it
// held, in an array that only the caller holds now; the caller hands it
// back, emptied, with keepSpare.
func (s *store) clearLocked() []*entry {
	dropped := s.items
	for _, e := range dropped {
		e.idx = -1
	}
	s.removed += uint64(len(dropped))
	s.items, s.spare = s.spare[:0], nil
	return dropped
}

// keepSpare keeps a, whose elements are nil, for the next clear's items,
// under mu.
func (s *store) keepSpare(a []*entry) {
	if s.spare == nil {
		s.spare = a[:0]
	}
}

func (s *store) reportDropped(dropped []*entry, id uint64) {
	s.stats.dropped.Add(uint64(len(dropped)))
	for _, e := range dropped {
		s.observe(Event{Kind: Dropped, Key: e.key, Run: id})
	}
}

// NewFixed returns the fixed registry: Run snapshots the keys atomically,
// then looks each one up and skips those a GC cleanup removed meanwhile.
func NewFixed(opts ...Option) Registry {
	return newStore(func(s *store, min Priority, _ uint64) []*entry {
		s.mu.Lock()
		defer s.mu.Unlock()
		keys := make([]*entry, 0, len(s.items))
		for _, e := range s.items {
			if wanted(e, min) {
				keys = append(keys, e)
			}
		}
		return keys
	}, opts)
}

// NewUnfixed returns the unfixed registry: Run takes its snapshot by walking
// the live registry one entry at a time, releasing the lock between steps,
// so GC cleanups may remove entries mid-walk; when the size changed, Run
// panics with a *ChangedError. Registrations wait for a walk to finish (as
// under CPython's GIL), so the change it sees is a GC-driven removal. It is
// free of data races: the bug is logical.
func NewUnfixed(opts ...Option) Registry {
	s := newStore(walkSnapshot, opts)
	s.guardWalk = true
	return s
}

func walkSnapshot(s *store, min Priority, _ uint64) []*entry {
	s.walk.Lock()
	defer s.walk.Unlock()
	s.mu.Lock()
	size, removed0, inserted0 := len(s.items), s.removed, s.inserted
	s.mu.Unlock()
	var keys []*entry
	for i := 0; ; i++ {
		if i > 0 {
			s.hook(PointWalkStep)
		}
		s.mu.Lock()
		if len(s.items) != size {
			err := &ChangedError{Step: i, Size: size, Removed: int(s.removed - removed0), Inserted: int(s.inserted - inserted0)}
			s.mu.Unlock()
			panic(err)
		}
		if i >= size {
			s.mu.Unlock()
			return keys
		}
		e := s.items[i]
		s.mu.Unlock()
		if wanted(e, min) {
			keys = append(keys, e)
		}
	}
}

// NewLocked returns the locked registry: Run holds the registry lock while
// it calls callbacks. It never shows the changed-size race, but a callback
// that registers or cancels a finalizer deadlocks Run.
func NewLocked(opts ...Option) Registry {
	s := newStore(nil, opts)
	s.callLocked = true
	return s
}

func (c *counters) load() Stats {
	return Stats{
		Registered:     c.registered.Load(),
		CalledByGC:     c.byGC.Load(),
		CalledByRun:    c.byRun.Load(),
		CalledExplicit: c.explicit.Load(),
		Skipped:        c.skipped.Load(),
		Dropped:        c.dropped.Load(),
		Cancelled:      c.cancelled.Load(),
		Cleanups:       c.cleanups.Load(),
		Runs:           c.runs.Load(),
		Restarts:       c.restarts.Load(),
	}
}
