// Package rarerace is a racestress example with a rare real data race: Pool
// counts the connections in use under a mutex, but InUse, to stay cheap
// while an update is under way, answers from the counter without the lock
// (the bug: that read races with the update). The race detector reports it
// only when a reader happens to run while a writer is inside its critical
// section: on the project's 2-core machine (2026-12-05, load about 2) in 20
// of 547 iterations of a warm test process (-test.count; 3.7%), but in 0 of
// 40 fresh processes. Reached through two callers on each side (Acquire
// and Release; Idle and Report), it is one race: one pair of source lines.
//
// The test is built only with the tag racestress_example, so that the
// project's own go test ./... stays green. Run it with
//
//	go test -race -tags racestress_example -count 200 ./examples/rarerace
//	racestress gotest -race -tags racestress_example ./examples/rarerace
//
// Its fixed twin, examples/rarerace-fixed, always takes the lock.
package rarerace

import (
	"sync"
	"sync/atomic"
)

// Pool tracks connections in use.
type Pool struct {
	mu       sync.Mutex
	updating atomic.Bool
	inUse    int
}

// Acquire notes a connection taken.
func (p *Pool) Acquire() { p.add(1) }

// Release notes a connection given back.
func (p *Pool) Release() { p.add(-1) }

func (p *Pool) add(d int) {
	p.mu.Lock()
	p.updating.Store(true)
	p.inUse += d
	p.updating.Store(false)
	p.mu.Unlock()
}

// InUse returns the number of connections in use. While an update is under
// way it does not wait for the lock: it reads the counter as it is.
func (p *Pool) InUse() int {
	if p.updating.Load() {
		return p.inUse // the race: read without the lock, concurrently with add
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// Idle reports whether no connection is in use.
func (p *Pool) Idle() bool { return p.InUse() == 0 }

// Report returns the count for a status page.
func (p *Pool) Report() int { return p.InUse() }
