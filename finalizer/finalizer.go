// Package finalizer is the system under test of racestress: a Go port of
// CPython's multiprocessing.util.Finalize registry and _run_finalizers, the
// code of bug bpo-24484, behind one interface with several variants.
//
// A Registry holds finalizers keyed by (exit priority, creation sequence).
// It holds each registered object only weakly: when the garbage collector
// collects the object, a runtime.AddCleanup cleanup removes the entry and
// calls its callback. Removal from the registry is the linearization point:
// whoever removes an entry (the GC cleanup, Run, or an explicit Call) calls
// its callback; anyone who finds it already removed does nothing, so a
// callback runs at most once.
//
// The variants differ only in how Run walks the registry:
//
//   - "unfixed" walks the live registry one entry at a time, as CPython did
//     before the fix; a GC cleanup that removes an entry between two steps
//     makes Run panic with a *ChangedError (ErrChangedDuringIteration).
//   - "fixed" takes an atomic snapshot of the keys first, then looks each key
//     up, skipping those already removed, as CPython does since the fix.
//   - "retry" is a second correct fix, CPython 2.7's dict.items(): it reads
//     the size, allocates the snapshot outside the lock (where CPython's
//     allocation may run the GC), and starts over when the size changed
//     meanwhile; the copy itself is atomic. Then it calls as "fixed" does.
//   - "racy" stores entries in a plain map without synchronisation (the
//     plain-Go mistake); the runtime's concurrent-map check kills the process.
//   - "locked" holds the registry lock while it calls callbacks (the tempting
//     wrong fix); a callback that re-enters the registry deadlocks.
package finalizer

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
)

// Priority is an optional exit priority. The zero value is NoPriority, which
// is CPython's exitpriority=None: such a finalizer runs only when its object
// is collected (or it is called explicitly), never from Run.
type Priority struct {
	n   int
	set bool
}

// NoPriority is the absent exit priority. Run(NoPriority) runs every
// finalizer that has a priority and then clears the registry.
var NoPriority Priority

// P returns the exit priority n.
func P(n int) Priority { return Priority{n: n, set: true} }

// IsSet reports whether p is a priority rather than NoPriority.
func (p Priority) IsSet() bool { return p.set }

// Value returns the priority's value; it is 0 for NoPriority.
func (p Priority) Value() int { return p.n }

// String returns the number, or "none" for NoPriority.
func (p Priority) String() string {
	if !p.set {
		return "none"
	}
	return strconv.Itoa(p.n)
}

// Key identifies a finalizer: its exit priority and its creation sequence
// number, which increases across all registries of the process, like
// CPython's _finalizer_counter.
type Key struct {
	Priority Priority
	Seq      uint64
}

// Compare orders keys as CPython's sort of (exitpriority, seq) tuples does:
// by priority, then by creation sequence. NoPriority sorts below every
// priority. It returns -1, 0 or +1.
func (k Key) Compare(o Key) int {
	switch {
	case k.Priority.set != o.Priority.set:
		if !k.Priority.set {
			return -1
		}
		return 1
	case k.Priority.n != o.Priority.n:
		if k.Priority.n < o.Priority.n {
			return -1
		}
		return 1
	case k.Seq != o.Seq:
		if k.Seq < o.Seq {
			return -1
		}
		return 1
	}
	return 0
}

// String formats the key as "(priority, seq)".
func (k Key) String() string { return fmt.Sprintf("(%v, %d)", k.Priority, k.Seq) }

var seqCounter atomic.Uint64

func nextSeq() uint64 { return seqCounter.Add(1) }

// Registry is a finalizer registry. Implementations must be safe for
// concurrent use by makers, runners and the runtime's cleanup goroutines,
// except where a variant exists to show that they are not.
type Registry interface {
	// Register registers callback to run when obj is collected, when the
	// returned Handle is called, or from Run if p is set. obj must be a
	// non-nil pointer to a heap object, or nil for a finalizer with no
	// object, which then needs a priority. Register panics otherwise.
	Register(obj any, callback func(), p Priority) Handle
	// Run calls every registered finalizer whose priority is set and at
	// least min (every one with a priority, when min is NoPriority),
	// highest priority first, equal priorities in reverse creation order.
	// With min NoPriority it clears the registry afterwards, in one atomic
	// step (CPython's dict.clear() under the GIL), dropping the finalizers
	// it did not call, as CPython does.
	Run(min Priority)
	// Len returns the number of registered finalizers.
	Len() int
}

// Handle is one registered finalizer.
type Handle interface {
	// Key returns the finalizer's key.
	Key() Key
	// Call removes the finalizer and calls its callback, if it is still
	// registered; it reports whether it did.
	Call() bool
	// Cancel removes the finalizer without calling it; it reports whether
	// the finalizer was still registered. A finalizer Cancel removed is
	// never called, by anyone; after Cancel returns, whatever it returned,
	// the finalizer is no longer registered.
	Cancel() bool
	// Alive reports whether the finalizer is still registered: true from
	// Register's return until it is called, cancelled, or cleared by
	// Run(NoPriority).
	Alive() bool
}

// ErrChangedDuringIteration is the error of the unfixed variant's Run when
// the registry changed while it was being walked: Go's counterpart of
// Python's "RuntimeError: dictionary changed size during iteration".
var ErrChangedDuringIteration = errors.New("registry changed size during iteration")

// ChangedError is the panic value of the unfixed variant's Run. It says which
// mutation the walk saw.
type ChangedError struct {
	Step     int // index of the walk step that noticed the change
	Size     int // registry size when the walk started
	Removed  int // entries removed since the walk started
	Inserted int // entries inserted since the walk started
}

// Error implements error.
func (e *ChangedError) Error() string {
	return fmt.Sprintf("%v: %s at step %d of %d", ErrChangedDuringIteration, e.Mutation(), e.Step, e.Size)
}

// Unwrap returns ErrChangedDuringIteration.
func (e *ChangedError) Unwrap() error { return ErrChangedDuringIteration }

// Kind returns "removed" when the walk saw removals and no insertions,
// "inserted" when it saw only insertions, "removed+inserted" when both.
func (e *ChangedError) Kind() string {
	switch {
	case e.Removed > 0 && e.Inserted > 0:
		return "removed+inserted"
	case e.Inserted > 0:
		return "inserted"
	default:
		return "removed"
	}
}

// Mutation describes the change, e.g. "removed 2".
func (e *ChangedError) Mutation() string {
	switch e.Kind() {
	case "inserted":
		return fmt.Sprintf("inserted %d", e.Inserted)
	case "removed+inserted":
		return fmt.Sprintf("removed %d, inserted %d", e.Removed, e.Inserted)
	}
	return fmt.Sprintf("removed %d", e.Removed)
}

// Caller says who removed a finalizer and called it.
type Caller uint8

// The callers of a finalizer.
const (
	ByGC       Caller = iota + 1 // the runtime cleanup after its object was collected
	ByRun                        // Run
	ByExplicit                   // Handle.Call
)

// String returns "gc", "run" or "explicit".
func (c Caller) String() string {
	switch c {
	case ByGC:
		return "gc"
	case ByRun:
		return "run"
	case ByExplicit:
		return "explicit"
	}
	return "unknown"
}

// EventKind is the kind of an Event.
type EventKind uint8

// The events a registry reports to its Observer.
const (
	Called    EventKind = iota + 1 // a finalizer was removed and is being called (before the callback)
	Skipped                        // Run found a snapshot key already removed
	Dropped                        // Run(NoPriority) cleared a finalizer without calling it
	Cancelled                      // Handle.Cancel removed a finalizer
	RunBegin                       // a Run started
	RunEnd                         // a Run returned normally
)

// String returns "called", "skipped", "dropped", "cancelled", "run-begin"
// or "run-end".
func (k EventKind) String() string {
	switch k {
	case Called:
		return "called"
	case Skipped:
		return "skipped"
	case Dropped:
		return "dropped"
	case Cancelled:
		return "cancelled"
	case RunBegin:
		return "run-begin"
	case RunEnd:
		return "run-end"
	}
	return "unknown"
}

// Event is what a registry tells its Observer. Run is the id of the Run call
// the event belongs to (0 outside Run); ids are unique within a registry.
type Event struct {
	Kind EventKind
	By   Caller
	Key  Key
	Run  uint64
}

// Observer receives a registry's events, synchronously, on the goroutine
// that caused them. It must be safe for concurrent use and must not call
// back into the registry.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Stats are a registry's counters. Built-in variants implement StatsSource.
type Stats struct {
	Registered     uint64 // finalizers registered
	CalledByGC     uint64 // callbacks called by GC cleanups
	CalledByRun    uint64 // callbacks called by Run
	CalledExplicit uint64 // callbacks called through Handle.Call
	Skipped        uint64 // snapshot keys Run found already removed
	Dropped        uint64 // finalizers cleared by Run(NoPriority) without a call
	Cancelled      uint64 // finalizers removed by Handle.Cancel
	Cleanups       uint64 // GC cleanups that ran, whether or not they found their entry
	Runs           uint64 // Run calls started
	Restarts       uint64 // snapshots the retry variant started over because the size changed
}

// StatsSource is implemented by registries that count what they do.
type StatsSource interface {
	Stats() Stats
}

// Point is a step point inside a registry operation where a Hook may widen
// the race window (chaos injection).
type Point uint8

// The step points.
const (
	PointWalkStep Point = iota + 1 // between two steps of the unfixed walk
	PointCallStep                  // between two finalizer calls of Run
	PointRemove                    // in a GC cleanup, before it removes its entry
	PointAlloc                     // outside the lock, before the retry variant allocates its snapshot
)

// Options are what a registry is configured with: where it reports its
// events and what it calls at its step points. The built-in variants hold
// one; a registry written outside this package builds its own with
// NewOptions from the options its constructor is given, and calls Observe
// and Step, which do nothing when the field is nil, so that the scenarios'
// order and at-most-once checks and their chaos injection reach it too.
//
// A registry honouring the observer reports, synchronously and on the
// goroutine that causes them:
//
//   - RunBegin when a Run starts and RunEnd when it returns normally, both
//     with the Run's id (unique within the registry, never 0);
//   - Called before every callback it calls, with By saying who removed the
//     finalizer (ByGC, ByRun or ByExplicit) and, when By is ByRun, the id of
//     that Run (0 otherwise);
//   - Skipped when Run finds a finalizer it meant to call already removed,
//     with the Run's id;
//   - Dropped for each finalizer that Run(NoPriority) clears without calling
//     it, with the Run's id;
//   - Cancelled when Handle.Cancel removes a finalizer.
//
// A registry honouring the hook calls Step at the points where a race
// window is: between the steps of a walk of the live registry
// (PointWalkStep), between two calls of Run (PointCallStep), in a GC
// cleanup before it removes its entry (PointRemove), and outside the lock
// before it allocates a snapshot (PointAlloc).
type Options struct {
	// Observer, if not nil, receives the registry's events.
	Observer Observer
	// Hook, if not nil, is called at the registry's step points. A hook may
	// yield, spin or sleep to widen race windows; it must not call the
	// registry, and it must never change what a registry does, only when.
	Hook func(Point)
}

// Option configures a registry's Options.
type Option func(*Options)

// NewOptions returns the Options that opts configure, applied in order; nil
// options are ignored.
func NewOptions(opts ...Option) Options {
	var o Options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// Observe reports e to o.Observer, if there is one.
func (o Options) Observe(e Event) {
	if o.Observer != nil {
		o.Observer.Observe(e)
	}
}

// Step calls o.Hook at point p, if there is a hook.
func (o Options) Step(p Point) {
	if o.Hook != nil {
		o.Hook(p)
	}
}

// WithObserver makes the registry report its events to o.
func WithObserver(o Observer) Option { return func(c *Options) { c.Observer = o } }

// WithHook makes the registry call h at its step points (see Options.Hook).
func WithHook(h func(Point)) Option { return func(c *Options) { c.Hook = h } }

// Variant describes a built-in registry variant.
type Variant struct {
	Name string
	// Doc is a one-line description.
	Doc string
	// New returns a fresh, empty registry.
	New func(opts ...Option) Registry
}

var variants = []Variant{
	{Name: "unfixed", Doc: "CPython before bpo-24484's fix: Run snapshots by walking the live registry", New: NewUnfixed},
	{Name: "fixed", Doc: "CPython after the fix: atomic snapshot of keys, removed ones skipped", New: NewFixed},
	{Name: "retry", Doc: "CPython 2.7's dict.items(): allocate outside the lock, start over when the size changed", New: NewRetry},
	{Name: "racy", Doc: "the plain-Go mistake: an unsynchronised map (fatal concurrent map access)", New: NewRacy},
	{Name: "locked", Doc: "the wrong fix: callbacks called under the registry lock (deadlocks on re-entry)", New: NewLocked},
}

// Variants returns the built-in variants in a fixed order.
func Variants() []Variant { return append([]Variant(nil), variants...) }

// Lookup returns the built-in variant called name.
func Lookup(name string) (Variant, bool) {
	for _, v := range variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}
