package scenarios

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

func TestMonitorStopsTheTrialAtTheFirstFailure(t *testing.T) {
	t.Run("once, unless keep-going", func(t *testing.T) {
		for _, keepGoing := range []bool{false, true} {
			stops := 0
			m := newMonitor(Env{Knobs: result.Knobs{KeepGoing: keepGoing}}, func() { stops++ })
			m.fail(result.Order, "order: first")
			m.fail(result.Lost, "lost: second")
			want := 1
			if keepGoing {
				want = 0
			}
			assert.Equal(t, want, stops, "keep-going %v", keepGoing)
			obs := m.observation(0, result.Counts{})
			assert.Equal(t, result.Lost, obs.Outcome, "the worst failure")
			assert.Equal(t, "order: first", obs.FirstError)
			assert.Equal(t, map[result.Outcome]int{result.Order: 1, result.Lost: 1}, obs.Failures)
		}
	})
	t.Run("without a stop function, nothing to call", func(t *testing.T) {
		m := newMonitor(Env{}, nil)
		assert.NotPanics(t, func() { m.fail(result.Order, "order: first") })
		assert.True(t, m.failed())
	})
	t.Run("a clean trial has no failures to report", func(t *testing.T) {
		obs := newMonitor(Env{}, nil).observation(0, result.Counts{})
		assert.Equal(t, result.OK, obs.Outcome)
		assert.Nil(t, obs.Failures)
		assert.Nil(t, obs.Mutations)
		assert.Empty(t, obs.FirstError)
	})
}

func TestRecoveredChangedSizeWithoutAChangedError(t *testing.T) {
	// A registry of one's own may panic with the sentinel error, wrapped,
	// rather than a *finalizer.ChangedError: it is still the changed-size
	// outcome, without a mutation kind.
	m := newMonitor(Env{}, nil)
	m.recovered(fmt.Errorf("my registry: %w", finalizer.ErrChangedDuringIteration), nil)
	obs := m.observation(0, result.Counts{})
	assert.Equal(t, result.ChangedSize, obs.Outcome)
	assert.Equal(t, "changed-size: my registry: registry changed size during iteration", obs.FirstError)
	assert.Nil(t, obs.Mutations)
	assert.Empty(t, obs.Stack)
}

// deep panics at the bottom of n nested calls.
//
//go:noinline
func deep(n int) {
	if n == 0 {
		panic("bottom")
	}
	deep(n - 1)
}

func TestAPanicKeepsTheHeadOfItsStack(t *testing.T) {
	m := newMonitor(Env{}, nil)
	m.guard("deep", func() { deep(20) })
	obs := m.observation(0, result.Counts{})
	require.Equal(t, result.Panic, obs.Outcome)
	lines := strings.Split(obs.Stack, "\n")
	require.Len(t, lines, 2*stackFrames, "stackFrames frames, a function line and a file line each:\n%s", obs.Stack)
	for i := 0; i < len(lines); i += 2 {
		assert.True(t, strings.HasPrefix(lines[i], "github.com/racestress/racestress/scenarios.deep("), "line %d: %s", i, lines[i])
		assert.True(t, strings.HasPrefix(lines[i+1], "\t") && strings.Contains(lines[i+1], "monitor_internal_test.go:"), "line %d: %s", i+1, lines[i+1])
	}
	assert.Equal(t, "panic: bottom [at github.com/racestress/racestress/scenarios.deep]", obs.FirstError, "the first frame, without its arguments")
}

func TestStackHeadStartsAtThePanic(t *testing.T) {
	stack := string(debug.Stack())
	head := stackHead([]byte(stack), 1)
	assert.True(t, strings.HasPrefix(head, "runtime/debug.Stack("), head)
	assert.Equal(t, "runtime/debug.Stack", firstFrame(head))
	assert.Empty(t, firstFrame(""))
	assert.Equal(t, "main.f", firstFrame("main.f"))
}

func TestInvariantsCheckEachRunsOrder(t *testing.T) {
	key := func(p, seq int) finalizer.Key { return finalizer.Key{Priority: finalizer.P(p), Seq: uint64(seq)} }
	called := func(run uint64, k finalizer.Key) finalizer.Event {
		return finalizer.Event{Kind: finalizer.Called, By: finalizer.ByRun, Key: k, Run: run}
	}
	for name, c := range map[string]struct {
		events []finalizer.Event
		order  int
	}{
		"decreasing keys":                    {[]finalizer.Event{called(1, key(2, 1)), called(1, key(1, 9)), called(1, key(1, 3))}, 0},
		"an increasing key":                  {[]finalizer.Event{called(1, key(1, 1)), called(1, key(2, 2))}, 1},
		"the same key twice":                 {[]finalizer.Event{called(1, key(1, 1)), called(1, key(1, 1))}, 1},
		"two Runs, each in order":            {[]finalizer.Event{called(1, key(1, 1)), called(2, key(5, 5)), called(1, key(0, 1))}, 0},
		"a Run's end forgets its last key":   {[]finalizer.Event{called(1, key(1, 1)), {Kind: finalizer.RunEnd, Run: 1}, called(1, key(2, 2))}, 0},
		"a Run's begin forgets its last key": {[]finalizer.Event{called(1, key(1, 1)), {Kind: finalizer.RunBegin, Run: 1}, called(1, key(2, 2))}, 0},
		"calls by others are not a Run's":    {[]finalizer.Event{called(1, key(1, 1)), {Kind: finalizer.Called, By: finalizer.ByGC, Key: key(9, 9), Run: 1}, called(1, key(0, 1))}, 0},
	} {
		m := newMonitor(Env{Knobs: result.Knobs{KeepGoing: true}}, nil)
		iv := newInvariants(m)
		for _, e := range c.events {
			iv.Observe(e)
		}
		assert.Equal(t, c.order, m.failures[result.Order], name)
	}
	m := newMonitor(Env{}, nil)
	iv := newInvariants(m)
	iv.Observe(finalizer.Event{Kind: finalizer.Dropped})
	iv.Observe(finalizer.Event{Kind: finalizer.Cancelled})
	iv.Observe(finalizer.Event{Kind: finalizer.Cancelled})
	assert.Equal(t, [2]uint64{1, 2}, [2]uint64{iv.dropped.Load(), iv.cancelled.Load()})
}

func TestProbeLabels(t *testing.T) {
	label := func(name string, seq uint64) string {
		p := newLedgerRig(false).probe(name, finalizer.P(3))
		if seq != 0 {
			p.setHandle(keyHandle{Priority: finalizer.P(3), Seq: seq})
		}
		return p.label()
	}
	assert.Equal(t, "d01 (3, 17)", label("d01", 17))
	assert.Equal(t, "(3, 17)", label("", 17), "a maker's finalizer has no name")
	assert.Equal(t, "d01", label("d01", 0), "called before Register returned: no key yet")
	assert.Empty(t, label("", 0))
}

// keyHandle is a Handle that only knows its key.
type keyHandle finalizer.Key

func (h keyHandle) Key() finalizer.Key { return finalizer.Key(h) }
func (keyHandle) Call() bool           { return false }
func (keyHandle) Cancel() bool         { return false }
func (keyHandle) Alive() bool          { return false }
