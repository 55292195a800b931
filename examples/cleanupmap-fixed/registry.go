// Package cleanupmap is the fixed twin of the racestress example
// examples/cleanupmap: the Registry's map is guarded by a mutex, which its
// runtime.AddCleanup callbacks take too, and Each calls back over a
// snapshot taken under the lock, so that a callback may use the registry
// (holding the lock while calling back would deadlock it, the tempting
// wrong fix).
//
// Its test is part of the project's go test ./... (a tenth of a second
// under -short); stress it with
//
//	racestress gotest -race ./examples/cleanupmap-fixed
package cleanupmap

import (
	"runtime"
	"sync"
)

// Object is a tracked object. It is large enough to be allocated on its
// own, so that its cleanup runs when it alone becomes unreachable.
type Object struct{ _ [64]byte }

// Registry names tracked objects while they are alive. It is safe for
// concurrent use.
type Registry struct {
	mu   sync.Mutex
	m    map[uint64]string
	next uint64
}

// New returns an empty registry.
func New() *Registry { return &Registry{m: map[uint64]string{}} }

// Track registers obj under name until obj becomes unreachable, when a
// cleanup deletes the entry.
func (r *Registry) Track(obj *Object, name string) {
	r.mu.Lock()
	id := r.next
	r.next++
	r.m[id] = name
	r.mu.Unlock()
	runtime.AddCleanup(obj, r.remove, id)
}

func (r *Registry) remove(id uint64) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}

// Each calls f with the name of every entry present when it was called,
// without holding the lock.
func (r *Registry) Each(f func(name string)) {
	r.mu.Lock()
	names := make([]string, 0, len(r.m))
	for _, name := range r.m {
		names = append(names, name)
	}
	r.mu.Unlock()
	for _, name := range names {
		f(name)
	}
}
