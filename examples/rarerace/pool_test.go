//go:build racestress_example

package rarerace

import (
	"sync"
	"testing"
)

// TestPool takes and gives back connections on one goroutine while two
// others read the count through Idle and Report, the two callers of InUse.
func TestPool(t *testing.T) {
	var p Pool
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 50 {
			p.Acquire()
			p.Release()
		}
	})
	wg.Go(func() {
		for range 4 {
			p.Idle()
		}
	})
	wg.Go(func() {
		for range 4 {
			p.Report()
		}
	})
	wg.Wait()
	if n := p.InUse(); n != 0 {
		t.Errorf("in use at the end = %d, want 0", n)
	}
}
