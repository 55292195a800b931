// Package cleanupmap is a racestress example with a real GC-cleanup race,
// bpo-24484's bug in Go: a Registry is a plain map whose entries are deleted
// by runtime.AddCleanup callbacks, which the runtime runs on its own cleanup
// goroutine whenever a collection finds a tracked object unreachable, while
// the program goes on adding entries and ranging over the map. (Cleanups
// may also run concurrently with one another, as runtime.AddCleanup's
// documentation says, and in Go 1.26 they do: they race with each other
// too.) The runtime catches the unsynchronised map accesses
// and kills the process ("fatal error: concurrent map writes", "concurrent
// map iteration and map write"); under the race detector the test fails
// with a data race.
//
// Measured on a 2-core machine (Go 1.26), 50 runs of the test binary each:
// 50 of 50 failed without -race (fatal error; time to failure median 45 ms,
// max 0.76 s), 50 of 50 with -race (45 data races, 5 fatal errors; median
// 0.12 s, max 1.3 s). racestress gotest, 200 trials (2026-12-01): 200 of
// 200 failed, median 42 ms (Kaplan-Meier), max 1.6 s; with the earlier
// one-second limit 193 of 200 had.
//
// The test is built only with the tag racestress_example, so that the
// project's own go test ./... stays green. It sets GOGC to 1 for itself and
// stresses the registry for up to three seconds, failing as soon as the
// runtime catches the race. Run it with
//
//	go test -count=1 -tags racestress_example ./examples/cleanupmap
//	racestress gotest -tags racestress_example ./examples/cleanupmap
//
// Without the tag the package has no tests and every run passes.
//
// Its fixed twin, examples/cleanupmap-fixed, guards the map with a mutex and
// calls back over a snapshot.
package cleanupmap

import "runtime"

// Object is a tracked object. It is large enough to be allocated on its
// own, so that its cleanup runs when it alone becomes unreachable.
type Object struct{ _ [64]byte }

// Registry names tracked objects while they are alive. It is not safe for
// concurrent use, and its cleanups use it concurrently: that is the bug.
type Registry struct {
	m    map[uint64]string
	next uint64
}

// New returns an empty registry.
func New() *Registry { return &Registry{m: map[uint64]string{}} }

// Track registers obj under name until obj becomes unreachable, when a
// cleanup deletes the entry.
func (r *Registry) Track(obj *Object, name string) {
	id := r.next
	r.next++
	r.m[id] = name
	runtime.AddCleanup(obj, func(id uint64) { delete(r.m, id) }, id)
}

// Each calls f with the name of every entry.
func (r *Registry) Each(f func(name string)) {
	for _, name := range r.m {
		f(name)
	}
}
