package scenarios

import "time"

// SetSettleWait sets how long teardown's checks wait at most for callbacks
// in flight after its last Run (the wait ends sooner once the GC's cleanups
// have drained), for tests of registries that lose callbacks; it returns a
// function that restores the old wait. Tests in this
// package do not run in parallel.
func SetSettleWait(d time.Duration) (restore func()) {
	old := settleWait
	settleWait = d
	return func() { settleWait = old }
}
