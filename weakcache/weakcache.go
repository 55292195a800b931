// Package weakcache is the second system under test of racestress: the
// weak-pointer cache of the Go blog post "From unique to cleanups and weak:
// new low-level tools for efficiency" (go.dev/blog/cleanups-and-weak, March
// 2025), behind one interface with several variants.
//
// A Cache canonicalises values by key: Get(key) returns the one live *Value
// for key, creating it on a miss. The cache holds each value only weakly: a
// sync.Map maps a key to an entry holding a weak.Pointer to the value. On a
// miss Get creates a value and installs its entry with LoadOrStore; the
// winner registers, with runtime.AddCleanup, a cleanup that removes the
// entry once the value has been collected. A Get that finds an entry whose
// weak pointer has gone nil (the value was collected but its cleanup has not
// run yet) deletes that entry eagerly with CompareAndDelete and retries.
//
// That eager deletion is what makes the cleanup delicate. Between a value's
// collection and its cleanup, a Get may delete the dead entry and install a
// newer value for the same key. A cleanup that deletes by key alone then
// removes the newer entry while its value is still alive, and the next Get
// creates a second live value for the key: canonicalisation is broken. The
// blog's cleanup deletes only its own entry ("only delete if the weak
// pointer is equal"), with CompareAndDelete.
//
// The same bug class hit go4.org/intern, which kept its values in a map
// hidden from the GC and removed them in a finalizer: a lookup could revive
// a value whose finalizer was already queued, and the finalizer then
// deleted the entry of a value in use. It was fixed with a "resurrected"
// flag, set under the lock by the lookup, that made the finalizer keep the
// entry and re-arm itself instead of deleting it.
//
// The variants differ only in what a cleanup deletes and in the map:
//
//   - "delete": the cleanup deletes its key, whatever entry it holds (the
//     bug; a control that a scenario must catch).
//   - "compare-and-delete": the cleanup deletes the key only while it still
//     holds the cleanup's own entry, as in the blog (clean).
//   - "plain-map": the blog's logic on a plain Go map with no
//     synchronisation; the runtime's cleanup goroutine writes it while Get
//     reads it, and the runtime kills the process ("fatal error: concurrent
//     map read and map write"). A control that must only ever run in a child
//     process.
//
// Every built-in cache reports what it does to an Observer, as Events a
// Checker can verify canonicalisation from, and calls a Hook at its step
// points, so that chaos can widen the race windows.
package weakcache

import (
	"fmt"
	"sync/atomic"
	"weak"
)

// Value is a cached value: a heap object that carries its key and a serial
// number unique within the process, so that a checker can tell two values
// for one key apart. Its padding keeps it out of the runtime's tiny
// allocator, which batches small pointer-free objects so that one of them
// may never be collected while its neighbour lives. Values are created by
// caches; their fields must not be changed.
type Value struct {
	Key    int
	Serial uint64
	_      [16]byte
}

// String formats the value as "key 3 serial 17".
func (v *Value) String() string {
	if v == nil {
		return "<nil>"
	}
	return fmt.Sprintf("key %d serial %d", v.Key, v.Serial)
}

var serials atomic.Uint64

// NewValue returns a new value for key with the next serial number of the
// process. Caches written outside this package should create their values
// with it, so that serials stay unique.
func NewValue(key int) *Value {
	return &Value{Key: key, Serial: serials.Add(1)}
}

// Cache is a canonicalising weak cache. Implementations must be safe for
// concurrent use by many goroutines and the runtime's cleanup goroutines,
// except where a variant exists to show that they are not.
type Cache interface {
	// Get returns the live value for key, creating and installing one if
	// there is none. As long as a value returned for key has not been
	// collected, every Get(key) returns that same pointer.
	Get(key int) *Value
	// Len returns the number of entries, including dead ones whose cleanup
	// has not removed them yet.
	Len() int
}

// EventKind is the kind of an Event.
type EventKind uint8

// The events a cache reports to its Observer.
const (
	// Created: Get made a new value (Serial, Weak) after a miss; it is not
	// installed yet.
	Created EventKind = iota + 1
	// Installed: the created value's entry is now the key's entry and Get
	// returns the value.
	Installed
	// Discarded: another Get installed a live value first; the created
	// value is dropped and never returned.
	Discarded
	// Hit: Get found an entry with a live value (Serial) and returns it.
	Hit
	// EagerDelete: Get found an entry whose value (Serial) was collected
	// and tried to delete it; Deleted says whether it did.
	EagerDelete
	// CleanupRan: the cleanup of a collected value (Serial) ran; Deleted
	// says whether it removed an entry, DeletedSerial whose.
	CleanupRan
)

var kindNames = [...]string{Created: "created", Installed: "installed", Discarded: "discarded",
	Hit: "hit", EagerDelete: "eager-delete", CleanupRan: "cleanup-ran"}

// String returns the kind's name, e.g. "cleanup-ran".
func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is what a cache tells its Observer. It never holds a value
// strongly, so an observer that keeps events does not keep values alive.
type Event struct {
	Kind   EventKind
	Key    int
	Serial uint64 // the value the event is about (see the kinds)
	// Weak is, for Created, a weak pointer to the new value, so that an
	// observer can follow its life without keeping it alive.
	Weak weak.Pointer[Value]
	// Deleted reports, for EagerDelete and CleanupRan, whether an entry was
	// removed.
	Deleted bool
	// DeletedSerial is, for CleanupRan with Deleted, the serial of the
	// value whose entry was removed: the cleanup's own, or, when a cleanup
	// deletes by key, possibly a newer one. It is 0 when the cache cannot
	// tell.
	DeletedSerial uint64
}

// String formats the event, e.g. "cleanup-ran key 3 serial 5 deleted serial 9".
func (e Event) String() string {
	s := fmt.Sprintf("%v key %d serial %d", e.Kind, e.Key, e.Serial)
	switch {
	case e.Kind == CleanupRan && e.Deleted:
		s += fmt.Sprintf(" deleted serial %d", e.DeletedSerial)
	case e.Kind == CleanupRan || e.Kind == EagerDelete:
		s += fmt.Sprintf(" deleted %t", e.Deleted)
	}
	return s
}

// Observer receives a cache's events, synchronously, on the goroutine that
// caused them (a Get's, or a runtime cleanup goroutine). It must be safe for
// concurrent use and must not call back into the cache.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Point is a step point inside a cache operation where a Hook may widen the
// race window (chaos injection).
type Point uint8

// The step points.
const (
	// PointInstall is in Get, after the Load that missed and before the
	// LoadOrStore that installs the new value.
	PointInstall Point = iota + 1
	// PointCleanup is in a value's cleanup, before it deletes an entry.
	PointCleanup
)

// String returns "install" or "cleanup".
func (p Point) String() string {
	switch p {
	case PointInstall:
		return "install"
	case PointCleanup:
		return "cleanup"
	}
	return fmt.Sprintf("Point(%d)", uint8(p))
}

// Options are what a cache is configured with. They are exported so that a
// cache written outside this package can honour them: build them with
// NewOptions, report with Observe and call Step at the step points.
type Options struct {
	// Observer, if not nil, receives the cache's events.
	Observer Observer
	// Hook, if not nil, is called at the cache's step points. A hook may
	// yield, spin or sleep to widen race windows; it must not call the
	// cache, and it must never change what a cache does, only when.
	Hook func(Point)
}

// Option configures a cache.
type Option func(*Options)

// WithObserver makes the cache report its events to o.
func WithObserver(o Observer) Option { return func(c *Options) { c.Observer = o } }

// WithHook makes the cache call h at its step points.
func WithHook(h func(Point)) Option { return func(c *Options) { c.Hook = h } }

// NewOptions applies opts, in order, to zero Options.
func NewOptions(opts ...Option) Options {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Observe reports e to the Observer, if there is one.
func (o *Options) Observe(e Event) {
	if o.Observer != nil {
		o.Observer.Observe(e)
	}
}

// Step calls the Hook at p, if there is one.
func (o *Options) Step(p Point) {
	if o.Hook != nil {
		o.Hook(p)
	}
}

// Stats are a cache's counters. Built-in variants implement StatsSource.
type Stats struct {
	Created        uint64 // values created by Get after a miss
	Installed      uint64 // created values installed as their key's entry
	Discarded      uint64 // created values dropped because another Get installed first
	Hits           uint64 // Gets that returned an existing live value
	EagerDeletes   uint64 // dead entries Get removed
	Cleanups       uint64 // cleanups that ran, whether or not they removed an entry
	CleanupDeletes uint64 // entries removed by cleanups
}

// StatsSource is implemented by caches that count what they do.
type StatsSource interface {
	Stats() Stats
}

// Variant describes a built-in cache variant. Whether a variant is a
// control or clean is declared by the scenarios that stress it.
type Variant struct {
	Name string
	// Doc is a one-line description.
	Doc string
	// New returns a fresh, empty cache.
	New func(opts ...Option) Cache
}

var variants = []Variant{
	{Name: "delete", Doc: "the bug: a value's cleanup deletes its key, even when a newer entry was installed", New: NewDelete},
	{Name: "compare-and-delete", Doc: "the blog's cleanup: CompareAndDelete, only the cleanup's own entry", New: NewCompareAndDelete},
	{Name: "plain-map", Doc: "an unsynchronised map (fatal concurrent map access; child process only)", New: NewPlainMap},
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
