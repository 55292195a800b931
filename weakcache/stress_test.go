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

// A probe, not a test of the package: it measures how soon a Checker
// catches each variant under real garbage collection, for sizing scenarios.
//
//	go test -run TestStressProbe -v -weakcache.stress=2s ./weakcache/
var (
	stressFor     = flag.Duration("weakcache.stress", 0, "run TestStressProbe for this long per variant and trial")
	stressTrials  = flag.Int("weakcache.trials", 5, "TestStressProbe: trials per variant")
	stressWorkers = flag.Int("weakcache.workers", 4, "TestStressProbe: goroutines calling Get")
	stressKeys    = flag.Int("weakcache.keys", 16, "TestStressProbe: keys")
	stressKeep    = flag.Int("weakcache.keep", 2, "TestStressProbe: values each goroutine keeps alive (a ring)")
	stressGOGC    = flag.Int("weakcache.gogc", 5, "TestStressProbe: GC percentage")
	stressGarbage = flag.Int("weakcache.garbage", 64, "TestStressProbe: bytes of garbage allocated per Get")
)

var sink atomic.Pointer[[]byte]

func TestStressProbe(t *testing.T) {
	if *stressFor == 0 {
		t.Skip("a probe; run with -weakcache.stress=DURATION")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(*stressGOGC))
	for _, name := range benchVariants {
		v, _ := Lookup(name)
		detected := 0
		for trial := range *stressTrials {
			chk := NewChecker()
			c := v.New(WithObserver(chk))
			var gets atomic.Uint64
			var first atomic.Int64 // ns from the start to the first violation, 0 while none
			start := time.Now()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range *stressWorkers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(trial), uint64(w)))
					ring := make([]*Value, *stressKeep)
					for i := 0; ; i++ {
						if i%64 == 0 {
							select {
							case <-stop:
								return
							default:
							}
						}
						k := rng.IntN(*stressKeys)
						got := c.Get(k)
						chk.Got(k, got)
						if len(ring) > 0 {
							ring[i%len(ring)] = got
						}
						if *stressGarbage > 0 {
							b := make([]byte, *stressGarbage)
							sink.Store(&b)
						}
						gets.Add(1)
						if first.Load() == 0 && chk.Count() > 0 {
							first.CompareAndSwap(0, int64(time.Since(start)))
						}
					}
				})
			}
			time.Sleep(*stressFor)
			close(stop)
			wg.Wait()
			elapsed := time.Since(start)
			runtime.GC()
			st := c.(StatsSource).Stats()
			ttff := "-"
			if f := first.Load(); f > 0 {
				detected++
				ttff = time.Duration(f).Round(10 * time.Microsecond).String()
			}
			t.Logf("%s trial %d: %.2f M gets/s, created %d, eager deletes %d, cleanups %d (deleting %d), violations %v, first after %s",
				name, trial, float64(gets.Load())/elapsed.Seconds()/1e6, st.Created, st.EagerDeletes, st.Cleanups, st.CleanupDeletes,
				chk.Counts(), ttff)
			if vs := chk.Violations(); len(vs) > 0 {
				t.Logf("  first: %v", vs[0])
			}
		}
		t.Logf("%s: detected in %d of %d trials", name, detected, *stressTrials)
	}
}
