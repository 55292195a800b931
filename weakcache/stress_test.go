package weakcache

import (
	"flag"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stressConfig sizes a real-GC stress of a cache checked by a Checker.
type stressConfig struct {
	workers int  // goroutines calling Get
	keys    int  // keys 0..keys-1, drawn uniformly
	keep    int  // values each goroutine keeps alive (a ring)
	garbage int  // bytes of garbage allocated per Get, so that the GC runs
	gcLoop  bool // a goroutine calling runtime.GC back to back
	// pause makes the workers stop while the GC loop collects: a value
	// whose key a Get hits during the mark phase is resurrected by its weak
	// pointer's Value (which shades it), so hot keys never die otherwise.
	// With it, every value not in a ring dies at every cycle.
	pause bool
	// yields is how many times a cleanup yields at PointCleanup (chaos),
	// widening the window in which a Get deletes a dead entry first.
	yields int
	seed   uint64
}

// stressResult is what a stress saw.
type stressResult struct {
	gets                uint64
	elapsed             time.Duration
	stats               Stats
	first               time.Duration // to the first violation; 0 if none
	eagerDeletesAtFirst uint64        // EagerDeletes when the first violation was seen
	cycles              uint64        // runtime.GC calls by the GC loop
	checker             *Checker
}

var sink atomic.Pointer[[]byte]

// stress runs cfg's goroutines on a fresh cache of v with a Checker as its
// observer, each Get's result reported to it, until done returns true
// (polled by the workers every 64 Gets).
func stress(v Variant, cfg stressConfig, done func(st Stats, cycles uint64, c *Checker) bool) stressResult {
	chk := NewChecker()
	c := v.New(WithObserver(chk), WithHook(func(p Point) {
		if p == PointCleanup {
			for range cfg.yields {
				runtime.Gosched()
			}
		}
	}))
	src := c.(StatsSource)
	var gets atomic.Uint64
	var first atomic.Int64
	var eagerAtFirst atomic.Uint64
	var finished atomic.Bool
	var cycles atomic.Uint64
	var gate sync.RWMutex // workers hold it for reading during bursts of Gets; the GC loop for writing
	start := time.Now()
	var wg sync.WaitGroup
	if cfg.gcLoop {
		wg.Go(func() {
			for !finished.Load() {
				if cfg.pause {
					gate.Lock()
				}
				runtime.GC()
				cycles.Add(1)
				if cfg.pause {
					gate.Unlock()
					runtime.Gosched()
				}
			}
		})
	}
	for w := range cfg.workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(w)))
			ring := make([]*Value, cfg.keep)
			locked := false
			defer func() {
				if locked {
					gate.RUnlock()
				}
			}()
			for i := 0; ; i++ {
				if i%64 == 0 {
					if locked {
						gate.RUnlock()
						locked = false
					}
					if finished.Load() {
						return
					}
					if done(src.Stats(), cycles.Load(), chk) {
						finished.Store(true)
						return
					}
					if cfg.pause {
						gate.RLock()
						locked = true
					}
				}
				k := rng.IntN(cfg.keys)
				got := c.Get(k)
				chk.Got(k, got)
				if len(ring) > 0 {
					ring[i%len(ring)] = got
				}
				if cfg.garbage > 0 {
					b := make([]byte, cfg.garbage)
					sink.Store(&b)
				}
				gets.Add(1)
				if first.Load() == 0 && chk.Count() > 0 {
					if first.CompareAndSwap(0, int64(time.Since(start))) {
						eagerAtFirst.Store(src.Stats().EagerDeletes)
					}
				}
			}
		})
	}
	wg.Wait()
	return stressResult{gets: gets.Load(), elapsed: time.Since(start), stats: src.Stats(),
		first: time.Duration(first.Load()), eagerDeletesAtFirst: eagerAtFirst.Load(), cycles: cycles.Load(), checker: chk}
}

// A probe, not a test of the package: it measures how soon a Checker
// catches each variant under real garbage collection, for sizing scenarios.
//
//	go test -run TestStressProbe -v ./weakcache/ -weakcache.stress=1s
var (
	stressFor     = flag.Duration("weakcache.stress", 0, "run TestStressProbe for this long per variant and trial")
	stressTrials  = flag.Int("weakcache.trials", 5, "TestStressProbe: trials per variant")
	stressWorkers = flag.Int("weakcache.workers", 4, "TestStressProbe: goroutines calling Get")
	stressKeys    = flag.Int("weakcache.keys", 16, "TestStressProbe: keys")
	stressKeep    = flag.Int("weakcache.keep", 2, "TestStressProbe: values each goroutine keeps alive (a ring)")
	stressGOGC    = flag.Int("weakcache.gogc", 5, "TestStressProbe: GC percentage")
	stressGarbage = flag.Int("weakcache.garbage", 64, "TestStressProbe: bytes of garbage allocated per Get")
	stressGCLoop  = flag.Bool("weakcache.gcloop", false, "TestStressProbe: a goroutine running the GC back to back")
	stressYields  = flag.Int("weakcache.yields", 0, "TestStressProbe: yields of a cleanup at PointCleanup (chaos)")
	stressPause   = flag.Bool("weakcache.pause", false, "TestStressProbe: with -weakcache.gcloop, workers pause while the GC runs")
)

func TestStressProbe(t *testing.T) {
	if *stressFor == 0 {
		t.Skip("a probe; run with -weakcache.stress=DURATION")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(*stressGOGC))
	for _, name := range benchVariants {
		v, _ := Lookup(name)
		detected := 0
		var maxEager uint64
		for trial := range *stressTrials {
			cfg := stressConfig{workers: *stressWorkers, keys: *stressKeys, keep: *stressKeep,
				garbage: *stressGarbage, gcLoop: *stressGCLoop, pause: *stressPause, yields: *stressYields, seed: uint64(trial)}
			start := time.Now()
			r := stress(v, cfg, func(Stats, uint64, *Checker) bool { return time.Since(start) >= *stressFor })
			st := r.stats
			ttff := "-"
			if r.first > 0 {
				detected++
				maxEager = max(maxEager, r.eagerDeletesAtFirst)
				ttff = r.first.Round(10*time.Microsecond).String() + " after eager delete " + u(r.eagerDeletesAtFirst)
			}
			t.Logf("%s trial %d: %.2f M gets/s, %d forced GCs, created %d, eager deletes %d, cleanups %d (deleting %d), violations %v, first at %s",
				name, trial, float64(r.gets)/r.elapsed.Seconds()/1e6, r.cycles, st.Created, st.EagerDeletes, st.Cleanups, st.CleanupDeletes,
				r.checker.Counts(), ttff)
			if vs := r.checker.Violations(); len(vs) > 0 {
				t.Logf("  first: %v", vs[0])
			}
		}
		t.Logf("%s: detected in %d of %d trials, at the latest after eager delete %d", name, detected, *stressTrials, maxEager)
	}
}
