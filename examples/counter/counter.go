// Package counter is a racestress example with a real data race: Counter
// is a plain int that its test increments from two goroutines at once. Under
// the race detector the test fails in every run (50 of 50 measured); without
// it, the lost updates it can cause did not show in 50 runs: only the race
// detector catches this bug.
//
// The test is built only with the tag racestress_example, so that the
// project's own go test ./... stays green. Run it with
//
//	go test -race -tags racestress_example ./examples/counter
//	racestress gotest -race -tags racestress_example ./examples/counter
//
// Without the tag the package has no tests and every run passes: a stress
// run that reports "no test files" has tested nothing.
//
// Its fixed twin, examples/counter-fixed, counts with sync/atomic.
package counter

// Counter counts events. It is not safe for concurrent use: that is the bug.
type Counter struct{ n int }

// Inc adds one.
func (c *Counter) Inc() { c.n++ }

// Value returns the count.
func (c *Counter) Value() int { return c.n }
