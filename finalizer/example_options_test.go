package finalizer_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/racestress/racestress/finalizer"
)

// tinyRegistry is a registry written outside package finalizer: a map under
// one mutex, Run snapshotting it atomically. It honours the options it is
// built with, so a scenario's observer checks it and its chaos hook reaches
// its step points.
type tinyRegistry struct {
	opts finalizer.Options
	mu   sync.Mutex
	m    map[*tinyEntry]bool
	seq  uint64
	runs uint64
}

type tinyEntry struct {
	r   *tinyRegistry
	key finalizer.Key
	cb  func()
}

func newTiny(opts ...finalizer.Option) finalizer.Registry {
	return &tinyRegistry{opts: finalizer.NewOptions(opts...), m: map[*tinyEntry]bool{}}
}

func (r *tinyRegistry) Register(obj any, cb func(), p finalizer.Priority) finalizer.Handle {
	r.mu.Lock()
	r.seq++
	e := &tinyEntry{r: r, key: finalizer.Key{Priority: p, Seq: r.seq}, cb: cb}
	r.m[e] = true
	r.mu.Unlock()
	if o, ok := obj.(*[16]byte); ok {
		runtime.AddCleanup(o, func(e *tinyEntry) {
			r.opts.Step(finalizer.PointRemove)
			if r.remove(e) {
				r.call(e, finalizer.ByGC, 0)
			}
		}, e)
	}
	return e
}

func (r *tinyRegistry) remove(e *tinyEntry) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	ok := r.m[e]
	delete(r.m, e)
	return ok
}

// call reports Called (who, and which Run) before it calls the callback.
func (r *tinyRegistry) call(e *tinyEntry, by finalizer.Caller, run uint64) {
	r.opts.Observe(finalizer.Event{Kind: finalizer.Called, By: by, Key: e.key, Run: run})
	e.cb()
}

func (r *tinyRegistry) Run(min finalizer.Priority) {
	r.mu.Lock()
	r.runs++
	id := r.runs
	var keys []*tinyEntry
	for e := range r.m {
		if p := e.key.Priority; p.IsSet() && (!min.IsSet() || p.Value() >= min.Value()) {
			keys = append(keys, e)
		}
	}
	r.mu.Unlock()
	r.opts.Observe(finalizer.Event{Kind: finalizer.RunBegin, Run: id})
	slices.SortFunc(keys, func(a, b *tinyEntry) int { return b.key.Compare(a.key) })
	for i, e := range keys {
		if i > 0 {
			r.opts.Step(finalizer.PointCallStep)
		}
		if r.remove(e) {
			r.call(e, finalizer.ByRun, id)
		} else {
			r.opts.Observe(finalizer.Event{Kind: finalizer.Skipped, Key: e.key, Run: id})
		}
	}
	if !min.IsSet() {
		r.mu.Lock()
		var dropped []*tinyEntry
		for e := range r.m {
			dropped = append(dropped, e)
		}
		clear(r.m)
		r.mu.Unlock()
		slices.SortFunc(dropped, func(a, b *tinyEntry) int { return a.key.Compare(b.key) })
		for _, e := range dropped {
			r.opts.Observe(finalizer.Event{Kind: finalizer.Dropped, Key: e.key, Run: id})
		}
	}
	r.opts.Observe(finalizer.Event{Kind: finalizer.RunEnd, Run: id})
}

func (r *tinyRegistry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

func (e *tinyEntry) Key() finalizer.Key { return e.key }

func (e *tinyEntry) Call() bool {
	if !e.r.remove(e) {
		return false
	}
	e.r.call(e, finalizer.ByExplicit, 0)
	return true
}

func (e *tinyEntry) Cancel() bool {
	if !e.r.remove(e) {
		return false
	}
	e.r.opts.Observe(finalizer.Event{Kind: finalizer.Cancelled, Key: e.key})
	return true
}

func (e *tinyEntry) Alive() bool {
	e.r.mu.Lock()
	defer e.r.mu.Unlock()
	return e.r.m[e]
}

// A registry written outside this package honours the observer and the
// chaos hook by building its Options with NewOptions and calling Observe
// and Step, which do nothing for options that were not given.
func ExampleNewOptions() {
	steps := 0
	r := newTiny(
		finalizer.WithObserver(finalizer.ObserverFunc(func(e finalizer.Event) {
			switch e.Kind {
			case finalizer.RunBegin, finalizer.RunEnd:
				fmt.Printf("%-9s run %d\n", e.Kind, e.Run)
			case finalizer.Called:
				fmt.Printf("%-9s %v by %v, run %d\n", e.Kind, e.Key, e.By, e.Run)
			default:
				fmt.Printf("%-9s %v, run %d\n", e.Kind, e.Key, e.Run)
			}
		})),
		finalizer.WithHook(func(finalizer.Point) { steps++ }))
	r.Register(nil, func() {}, finalizer.P(1))
	r.Register(nil, func() {}, finalizer.P(5)).Cancel()
	r.Register(nil, func() {}, finalizer.P(3))
	objA, objB := new([16]byte), new([16]byte)
	r.Register(objA, func() {}, finalizer.NoPriority).Call()
	r.Register(objB, func() {}, finalizer.NoPriority)
	r.Run(finalizer.NoPriority)
	runtime.KeepAlive(objA) // no GC cleanup may call them before the Run: the
	runtime.KeepAlive(objB) // output must not depend on when the GC runs
	fmt.Println("step points:", steps, "left:", r.Len())

	// A registry built with no options runs the same, reporting to no one.
	quiet := newTiny()
	quiet.Register(nil, func() { fmt.Println("called quietly") }, finalizer.P(0))
	quiet.Run(finalizer.NoPriority)
	// Output:
	// cancelled (5, 2), run 0
	// called    (none, 4) by explicit, run 0
	// run-begin run 1
	// called    (3, 3) by run, run 1
	// called    (1, 1) by run, run 1
	// dropped   (none, 5), run 1
	// run-end   run 1
	// step points: 1 left: 0
	// called quietly
}
