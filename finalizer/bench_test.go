package finalizer

import (
	"fmt"
	"runtime"
	"testing"
)

// The registry paths, for the variants the in-process harness stresses:
//
//	go test -run '^$' -bench . -benchmem ./finalizer/
//
// Register is the makers' path (the scenario's objects/s is bounded by it),
// Run is the runners' path over n entries, Collect is the GC cleanup's path.

var benchVariants = []string{"unfixed", "fixed"}

func benchVariant(b *testing.B, name string) Variant {
	b.Helper()
	v, ok := Lookup(name)
	if !ok {
		b.Fatalf("no variant %q", name)
	}
	return v
}

// BenchmarkRegister registers a finalizer on a fresh self-referencing object,
// as the scenario's makers do, and drops the object once 1024 newer ones
// exist, so the GC collects it and its cleanup removes the entry: the cost
// per op includes the object, the entry, the cleanup's runtime record, and
// the amortised garbage collection and cleanup of all of them.
func BenchmarkRegister(b *testing.B) {
	for _, name := range benchVariants {
		b.Run(name, func(b *testing.B) {
			r := benchVariant(b, name).New()
			var ring [1024]*obj
			cb := func() {}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o := &obj{}
				o.self = o
				r.Register(o, cb, P(1+i%100))
				ring[i%len(ring)] = o
				i++
			}
			b.StopTimer()
			runtime.KeepAlive(ring)
		})
	}
}

// BenchmarkRegisterNoObject registers finalizers without an object (priority
// only): the registry's own insert path, without runtime.AddCleanup. The
// registry is cleared every 4096 registrations, untimed.
func BenchmarkRegisterNoObject(b *testing.B) {
	for _, name := range benchVariants {
		b.Run(name, func(b *testing.B) {
			r := benchVariant(b, name).New()
			cb := func() {}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Register(nil, cb, P(1+i%100))
				i++
				if i%4096 == 0 {
					b.StopTimer()
					r.Run(P(1000)) // calls nothing
					clearStore(r)
					b.StartTimer()
				}
			}
		})
	}
}

// clearStore empties a store-based registry without calling anything.
func clearStore(r Registry) {
	s := r.(*store)
	s.mu.Lock()
	s.clearLocked()
	s.mu.Unlock()
}

// BenchmarkRun calls Run(NoPriority) over a registry of n finalizers with
// random priorities and no objects: the snapshot (the unfixed variant's
// step-by-step walk, or the fixed variant's atomic copy), the sort, n
// removals and calls, and the clear. It also reports ns per entry.
func BenchmarkRun(b *testing.B) {
	for _, name := range benchVariants {
		for _, n := range []int{100, 10000} {
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				v := benchVariant(b, name)
				cb := func() {}
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					r := v.New()
					for i := range n {
						r.Register(nil, cb, P(1+(i*7919)%100))
					}
					b.StartTimer()
					r.Run(NoPriority)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
			})
		}
	}
}

// BenchmarkCollect is a GC cleanup's path: removing a collected object's
// entry from a registry of 1024 and calling its callback. Entries are
// registered in untimed batches of 1024.
func BenchmarkCollect(b *testing.B) {
	for _, name := range benchVariants {
		b.Run(name, func(b *testing.B) {
			v := benchVariant(b, name)
			cb := func() {}
			const batch = 1024
			hs := make([]*entry, 0, batch)
			b.ReportAllocs()
			b.StopTimer()
			for i := 0; i < b.N; {
				r := v.New().(*store)
				hs = hs[:0]
				for range batch {
					hs = append(hs, r.Register(nil, cb, P(1)).(*entry))
				}
				b.StartTimer()
				for _, e := range hs {
					if i == b.N {
						break
					}
					r.collect(e)
					i++
				}
				b.StopTimer()
			}
		})
	}
}
