package cleanupmap

import (
	"runtime/debug"
	"testing"
	"time"
)

// TestRegistry tracks short-lived objects and ranges over the registry for
// a second (a tenth under -short) while GOGC=1 makes collections, and so
// cleanups, frequent. A callback tracks more objects: the registry must not
// be locked while it calls back.
func TestRegistry(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	d := time.Second
	if testing.Short() {
		d = 100 * time.Millisecond
	}
	r := New()
	n := 0
	for start := time.Now(); time.Since(start) < d; {
		for range 100 {
			r.Track(new(Object), "x")
		}
		r.Each(func(string) {
			if n++; n%1000 == 0 {
				r.Track(new(Object), "from a callback")
			}
		})
	}
	t.Logf("%d names seen", n)
}
