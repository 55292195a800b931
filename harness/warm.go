package harness

import "runtime"

// warmStart prepares a fresh worker's runtime for its first trial: one
// complete GC cycle before the trial starts. In a fresh process the first
// cycle a trial triggers comes before the runtime has a heap goal of its
// own, and what the trial allocates during it survives it, so the trial's
// first cleanup waits for a second cycle. Measured in fresh processes
// allocating the scenario's objects at GOGC 5 (2 loaded cores, 60
// processes each, interleaved): first cleanup after a median 25.8 ms
// cold, 4.7 ms after a warm-start cycle on 2 Ps (which cost 3.8 ms) and
// 3.7 ms after one on a single P (0.5 ms; see drainCleanups for why one
// P). A pool worker gets the same from its fitness check's cycle before
// every trial. The cycle runs before the trial's clock starts.
func warmStart() {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.GC()
}
