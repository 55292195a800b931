package scenarios

import "time"

// SetSettleWait sets how long teardown's checks wait for callbacks in
// flight, for tests of registries that lose callbacks (which pay the whole
// wait); it returns a function that restores the old wait. Tests in this
// package do not run in parallel.
func SetSettleWait(d time.Duration) (restore func()) {
	old := settleWait
	settleWait = d
	return func() { settleWait = old }
}
