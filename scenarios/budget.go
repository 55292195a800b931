package scenarios

import (
	"runtime"
	"runtime/metrics"
	"time"
)

// A trial's teardown waits for callbacks still to come: GC cleanups queued
// but not run, callbacks of a Run still under way. It must end before the
// executor's watchdog fires, or a callback that never comes would read as a
// hang; so every wait of a teardown is bounded by teardownUntil, derived
// from the time left before the watchdog, never by a constant.

// minMargin is the least time a trial keeps between the end of its
// teardown and its watchdog, for reporting its result (and the executor for
// reading it); the margin is a quarter of the time left when that is more.
const minMargin = 200 * time.Millisecond

// Bounds of the teardown of a trial that runs under no watchdog (in this
// process): its trial's length, within these.
const (
	minUnwatched = time.Second
	maxUnwatched = 10 * time.Second
)

// teardownUntil returns when the teardown of env's trial, starting at now,
// must be done: a margin before env's deadline (now, when no time is left
// beyond the margin); without a deadline, the trial's length from now,
// within minUnwatched and maxUnwatched.
func teardownUntil(env Env, now time.Time) time.Time {
	if env.Deadline.IsZero() {
		return now.Add(min(max(env.Knobs.Duration(), minUnwatched), maxUnwatched))
	}
	left := env.Deadline.Sub(now)
	margin := max(minMargin, left/4)
	if left <= margin {
		return now
	}
	return now.Add(left - margin)
}

// cleanupMetrics are read, in one snapshot, to tell whether every queued
// GC cleanup (and finalizer) has run.
var cleanupMetrics = []string{
	"/gc/cleanups/queued:cleanups", "/gc/cleanups/executed:cleanups",
	"/gc/finalizers/queued:finalizers", "/gc/finalizers/executed:finalizers",
}

// cleanupCounts returns how many cleanups and finalizers were queued so
// far, and how many of them have not finished. The runtime reads the
// executed counts before the queued ones and counts a batch executed only
// once each of its functions returned, so pending == 0 proves that every
// cleanup queued before the call has returned.
func cleanupCounts() (queued, pending uint64) {
	s := make([]metrics.Sample, len(cleanupMetrics))
	for i, n := range cleanupMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	queued = v(0) + v(2)
	if done := v(1) + v(3); done < queued {
		pending = queued - done
	}
	return queued, pending
}

// cleanupsIdle reports whether every GC cleanup queued so far has run.
func cleanupsIdle() bool {
	_, pending := cleanupCounts()
	return pending == 0
}

// quiesce runs the GC and waits for the cleanups it queues to run, until a
// complete cycle (sweep included, so that every dead object's cleanup is
// queued) queues none and none is pending, or until passes; it reports
// whether it got there. Once it has, every object unreachable before the
// call has had its cleanups run (a cleanup may make more objects garbage,
// hence the loop): a callback a cleanup was to make has been made.
func quiesce(until time.Time) bool { return quiesceOr(until, nil) }

// quiesceOr is quiesce that also stops, reporting true, as soon as done
// (when not nil) reports true: the cleanups of other trials in this
// process, which the runtime's counts include, may keep it from ever
// quiescing, while done can tell that the trial's own have run.
func quiesceOr(until time.Time, done func() bool) bool {
	for {
		q0, _ := cleanupCounts()
		runtime.GC()
		for i := 0; ; i++ {
			if done != nil && done() {
				return true
			}
			q, pending := cleanupCounts()
			if pending == 0 {
				if q == q0 {
					return true
				}
				break
			}
			if !time.Now().Before(until) {
				return false
			}
			pause(i)
		}
		if !time.Now().Before(until) {
			return false
		}
	}
}

// pause is the i-th wait of a polling loop: yields first, which let a
// goroutine about to finish run at once, then short sleeps.
func pause(i int) {
	if i < 16 {
		runtime.Gosched()
		return
	}
	time.Sleep(100 * time.Microsecond)
}
