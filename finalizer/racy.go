package finalizer

import (
	"runtime"
	"sync/atomic"
)

// racy is the plain-Go mistake: the registry is a map with no
// synchronisation at all. Makers, runners and GC cleanups touch it at once,
// which the Go runtime's concurrent-map check turns into a fatal error
// ("concurrent map iteration and map write", exit 2, not recoverable) and
// the race detector reports as a data race.
type racy struct {
	m           map[*racyEntry]struct{}
	opts        Options
	collectFunc func(*racyEntry)
	runIDs      atomic.Uint64
	stats       counters
}

type racyEntry struct {
	key     Key
	cb      func()
	r       *racy
	removed atomic.Bool // only so that Alive has an answer; the map is what races
}

// NewRacy returns the racy registry. Never use it outside a child process:
// its failure kills the process.
func NewRacy(opts ...Option) Registry {
	r := &racy{m: make(map[*racyEntry]struct{}), opts: NewOptions(opts...)}
	r.collectFunc = r.collect
	return r
}

func (r *racy) observe(e Event) { r.opts.Observe(e) }

func (r *racy) Register(obj any, callback func(), p Priority) Handle {
	ptr := checkObject(obj, p)
	e := &racyEntry{key: Key{Priority: p, Seq: nextSeq()}, cb: callback, r: r}
	r.m[e] = struct{}{}
	r.stats.registered.Add(1)
	if ptr != nil {
		runtime.AddCleanup(ptr, r.collectFunc, e)
	}
	runtime.KeepAlive(obj)
	return e
}

func (r *racy) remove(e *racyEntry) bool {
	if _, ok := r.m[e]; !ok {
		return false
	}
	delete(r.m, e)
	e.removed.Store(true)
	return true
}

func (r *racy) collect(e *racyEntry) {
	r.stats.cleanups.Add(1)
	r.opts.Step(PointRemove)
	if r.remove(e) {
		r.call(e, ByGC, 0)
	}
}

func (r *racy) call(e *racyEntry, by Caller, run uint64) {
	switch by {
	case ByGC:
		r.stats.byGC.Add(1)
	case ByRun:
		r.stats.byRun.Add(1)
	default:
		r.stats.explicit.Add(1)
	}
	r.observe(Event{Kind: Called, By: by, Key: e.key, Run: run})
	e.cb()
}

func (r *racy) Run(min Priority) {
	id := r.runIDs.Add(1)
	r.stats.runs.Add(1)
	r.observe(Event{Kind: RunBegin, Run: id})
	var keys []*entry
	byKey := make(map[*entry]*racyEntry)
	for e := range r.m {
		if p := e.key.Priority; p.set && (!min.set || p.n >= min.n) {
			k := &entry{key: e.key}
			byKey[k] = e
			keys = append(keys, k)
		}
		r.opts.Step(PointWalkStep)
	}
	sortDescending(keys)
	for _, k := range keys {
		e := byKey[k]
		if r.remove(e) {
			r.call(e, ByRun, id)
		} else {
			r.stats.skipped.Add(1)
			r.observe(Event{Kind: Skipped, Key: e.key, Run: id})
		}
	}
	if !min.set {
		n := uint64(0)
		for e := range r.m {
			e.removed.Store(true)
			r.observe(Event{Kind: Dropped, Key: e.key, Run: id})
			n++
		}
		clear(r.m)
		r.stats.dropped.Add(n)
	}
	r.observe(Event{Kind: RunEnd, Run: id})
}

func (r *racy) Len() int { return len(r.m) }

func (r *racy) Stats() Stats { return r.stats.load() }

func (e *racyEntry) Key() Key { return e.key }

func (e *racyEntry) Call() bool {
	if !e.r.remove(e) {
		return false
	}
	e.r.call(e, ByExplicit, 0)
	return true
}

func (e *racyEntry) Cancel() bool {
	if !e.r.remove(e) {
		return false
	}
	e.r.stats.cancelled.Add(1)
	e.r.observe(Event{Kind: Cancelled, Key: e.key})
	return true
}

func (e *racyEntry) Alive() bool { return !e.removed.Load() }
