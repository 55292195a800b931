package scenarios

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/racestress/racestress/finalizer"
)

// Chaos is a level of chaos injection: random yields, short spins and (at
// ChaosHigh) very short sleeps at a registry's step points, the way rr's
// chaos mode and PCT (probabilistic concurrency testing) perturb schedules to
// widen race windows. Chaos changes only when a registry's goroutines run,
// never what they do, so it cannot change what counts as a failure: a fixed
// registry stays clean under every level.
type Chaos int

// The chaos levels.
const (
	ChaosOff  Chaos = iota // no hook: the registry runs at full speed
	ChaosLow               // occasional yields and short spins
	ChaosHigh              // frequent yields, longer spins, rare very short sleeps
)

var chaosNames = []string{"off", "low", "high"}

// String returns "off", "low" or "high".
func (c Chaos) String() string {
	if c >= 0 && int(c) < len(chaosNames) {
		return chaosNames[c]
	}
	return fmt.Sprintf("Chaos(%d)", int(c))
}

// ParseChaos parses a chaos level: "off", "low" or "high".
func ParseChaos(s string) (Chaos, error) {
	for i, n := range chaosNames {
		if s == n {
			return Chaos(i), nil
		}
	}
	return ChaosOff, fmt.Errorf("unknown chaos level %q (have off, low, high)", s)
}

// chaosPlan is what one level does at a step point. Probabilities are in
// 1/65536ths so that one 16-bit slice of a random word decides each choice.
type chaosPlan struct {
	yield   [3]uint32 // probability of runtime.Gosched, by priority (low, mid, high)
	spin    uint32    // probability of a busy spin
	maxSpin uint32    // a spin runs U[0, maxSpin) iterations of a cheap loop
	sleep   uint32    // probability of a very short sleep (ChaosHigh)
	maxNap  time.Duration
}

var chaosPlans = [...]chaosPlan{
	ChaosLow: {
		yield:   [3]uint32{65536 / 64, 65536 / 16, 65536 / 4},
		spin:    65536 / 32,
		maxSpin: 256,
	},
	ChaosHigh: {
		yield:   [3]uint32{65536 / 16, 65536 / 4, 65536 / 2},
		spin:    65536 / 8,
		maxSpin: 2048,
		sleep:   65536 / 1024,
		maxNap:  20 * time.Microsecond,
	},
}

// chaosEpoch is the number of hook calls (across all goroutines) after which
// every role's priority is drawn again: PCT's priority change points.
const chaosEpochShift = 10

// Hook returns a step-point hook for a registry (finalizer.WithHook,
// Env.Hook) that perturbs scheduling at this level, or nil for ChaosOff.
//
// Each goroutine role — the runner walking the registry (PointWalkStep),
// the runner calling finalizers (PointCallStep), the runtime's cleanup
// goroutine removing an entry (PointRemove) — holds a random priority, drawn
// again every 1024 hook calls, that sets how likely it is to yield at its
// step points; spins and sleeps are drawn independently. Every choice comes
// from a counter-based generator seeded with seed, so the hook is safe for
// concurrent use and costs an atomic add and a few multiplies when it does
// nothing. The thread interleaving is not seeded, so neither is which call
// draws which number: the seed varies the perturbation between trials, it
// does not replay it.
func (c Chaos) Hook(seed int64) func(finalizer.Point) {
	if c <= ChaosOff || int(c) >= len(chaosPlans) {
		return nil
	}
	plan := chaosPlans[c]
	base := mix64(uint64(seed) ^ 0x6a09e667f3bcc909)
	var n atomic.Uint64
	return func(p finalizer.Point) {
		i := n.Add(1)
		r := mix64(base + i*0x9e3779b97f4a7c15)
		prio := mix64(base^uint64(p)<<56^(i>>chaosEpochShift)) % 3
		if uint32(r&0xffff) < plan.yield[prio] {
			runtime.Gosched()
		}
		if uint32(r>>16&0xffff) < plan.spin {
			spin(uint32(r>>32) % plan.maxSpin)
		}
		if plan.sleep > 0 && uint32(r>>48) < plan.sleep {
			time.Sleep(time.Duration(r>>32%uint64(plan.maxNap)) + 1)
		}
	}
}

// spin busy-waits for about n cheap iterations.
func spin(n uint32) {
	x := uint64(n)
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if x == 0 { // keeps the loop from being optimised away; practically never true
		runtime.Gosched()
	}
}

// mix64 is splitmix64's finaliser: a cheap, well-mixing bijection.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
