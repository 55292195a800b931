//go:build racestress_example

package cleanupmap

import (
	"runtime/debug"
	"testing"
	"time"
)

// TestRegistry tracks short-lived objects and ranges over the registry for
// a second while GOGC=1 makes collections, and so cleanups, frequent.
func TestRegistry(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	r := New()
	n := 0
	for start := time.Now(); time.Since(start) < time.Second; {
		for range 100 {
			r.Track(new(Object), "x")
		}
		r.Each(func(string) { n++ })
	}
	t.Logf("%d names seen", n)
}
