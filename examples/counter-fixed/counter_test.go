package counter

import (
	"sync"
	"testing"
)

// TestCounter increments one Counter from two goroutines.
func TestCounter(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range 1000 {
				c.Inc()
			}
		})
	}
	wg.Wait()
	if got := c.Value(); got != 2000 {
		t.Errorf("count = %d, want 2000", got)
	}
}
