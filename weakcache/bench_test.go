package weakcache

import (
	"runtime"
	"testing"
)

// The cache paths, for the variants a scenario stresses in-process
// (plain-map is left out: its cleanups would kill the benchmark):
//
//	go test -run '^$' -bench . -benchmem ./weakcache/

var benchVariants = []string{"delete", "compare-and-delete"}

func benchVariant(b *testing.B, name string) Variant {
	b.Helper()
	v, ok := Lookup(name)
	if !ok {
		b.Fatalf("no variant %q", name)
	}
	return v
}

// BenchmarkGetHit gets a key whose value is alive: a Load and a weak
// pointer's Value.
func BenchmarkGetHit(b *testing.B) {
	for _, name := range benchVariants {
		b.Run(name, func(b *testing.B) {
			c := benchVariant(b, name).New()
			keep := c.Get(1)
			b.ReportAllocs()
			for b.Loop() {
				c.Get(1)
			}
			runtime.KeepAlive(keep)
		})
	}
}

// BenchmarkGetHitParallel is BenchmarkGetHit on every P at once, over 16
// keys.
func BenchmarkGetHitParallel(b *testing.B) {
	for _, name := range benchVariants {
		b.Run(name, func(b *testing.B) {
			c := benchVariant(b, name).New()
			var keep [16]*Value
			for k := range keep {
				keep[k] = c.Get(k)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				k := 0
				for pb.Next() {
					c.Get(k % len(keep))
					k++
				}
			})
			runtime.KeepAlive(keep)
		})
	}
}

// BenchmarkGetMiss gets a key never seen before: a Load that misses, a new
// value, its weak pointer and entry, LoadOrStore and runtime.AddCleanup. The
// value is dropped once 1024 newer ones exist, so the cost per op includes
// the amortised garbage collection of it and the cleanup that removes its
// entry.
func BenchmarkGetMiss(b *testing.B) {
	for _, name := range benchVariants {
		b.Run(name, func(b *testing.B) {
			c := benchVariant(b, name).New()
			var ring [1024]*Value
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ring[i%len(ring)] = c.Get(i)
				i++
			}
			runtime.KeepAlive(ring)
		})
	}
}

// BenchmarkGetHitChecked is BenchmarkGetHitParallel with a Checker as the
// observer and every result reported to it: the cost of checking, one
// mutex for all goroutines.
func BenchmarkGetHitChecked(b *testing.B) {
	c := benchVariant(b, "compare-and-delete")
	chk := NewChecker()
	cache := c.New(WithObserver(chk))
	var keep [16]*Value
	for k := range keep {
		keep[k] = cache.Get(k)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := 0
		for pb.Next() {
			key := k % len(keep)
			chk.Got(key, cache.Get(key))
			k++
		}
	})
	runtime.KeepAlive(keep)
}
