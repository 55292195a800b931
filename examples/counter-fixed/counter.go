// Package counter is the fixed twin of the racestress example
// examples/counter: Counter counts with sync/atomic, so that its test, which
// increments it from two goroutines at once, passes in every run, under the
// race detector too.
//
// Its test is part of the project's go test ./...; stress it with
//
//	racestress gotest -race ./examples/counter-fixed
package counter

import "sync/atomic"

// Counter counts events. It is safe for concurrent use.
type Counter struct{ n atomic.Int64 }

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Value returns the count.
func (c *Counter) Value() int { return int(c.n.Load()) }
