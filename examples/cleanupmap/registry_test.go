//go:build racestress_example

package cleanupmap

import (
	"runtime/debug"
	"testing"
	"time"
)

// TestRegistry tracks short-lived objects and ranges over the registry for
// up to three seconds while GOGC=1 makes collections, and so cleanups,
// frequent. The runtime usually catches the race within 0.1 s, but one
// trial in 30 to 50 goes a second without (measured on 2 cores), hence
// three.
func TestRegistry(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	r := New()
	n := 0
	for start := time.Now(); time.Since(start) < 3*time.Second; {
		for range 100 {
			r.Track(new(Object), "x")
		}
		r.Each(func(string) { n++ })
	}
	t.Logf("%d names seen", n)
}
