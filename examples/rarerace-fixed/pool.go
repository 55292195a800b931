// Package rarerace is the fixed twin of the racestress example
// examples/rarerace: InUse always takes the lock, so its test passes in
// every run, under the race detector too.
//
// Its test is part of the project's go test ./...; stress it with
//
//	racestress gotest -race ./examples/rarerace-fixed
package rarerace

import (
	"sync"
	"sync/atomic"
)

// Pool tracks connections in use. It is safe for concurrent use.
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

// InUse returns the number of connections in use.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// Idle reports whether no connection is in use.
func (p *Pool) Idle() bool { return p.InUse() == 0 }

// Report returns the count for a status page.
func (p *Pool) Report() int { return p.InUse() }
