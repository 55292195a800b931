package harness

import (
	"sync"
	"time"

	"github.com/racestress/racestress/result"
)

// Gatekeeper decides when a run starts trials: a wall-clock budget,
// failfast and a limit on failures. Its Admit and Record methods are
// Config.Admit and a Config.OnRecord step.
type Gatekeeper struct {
	budget   time.Duration
	failfast bool
	maxFails int // stop after this many failures of clean subjects; 0: no limit
	now      func() time.Time
	start    time.Time

	mu     sync.Mutex
	failed map[[2]string]bool // groups (subject, cell) with a forbidden outcome
	groups map[[2]string]bool // every clean group seen
	fails  int                // failed trials of clean subjects
}

// NewGatekeeper returns the gatekeeper of a run that started now: with a
// positive budget it starts no trial that would end after the budget; with
// failfast it stops a clean group at its first failure (controls, expected
// to fail, keep running), and stops the run once every clean group has
// failed. now is the clock (time.Now when nil).
func NewGatekeeper(budget time.Duration, failfast bool, now func() time.Time) *Gatekeeper {
	if now == nil {
		now = time.Now
	}
	return &Gatekeeper{budget: budget, failfast: failfast, now: now, start: now(),
		failed: map[[2]string]bool{}, groups: map[[2]string]bool{}}
}

// StopAfter makes the gatekeeper start no more trials once n trials of clean
// subjects have failed (x/tools stress's -count of failures); n <= 0 is no
// limit. It returns a.
func (a *Gatekeeper) StopAfter(n int) *Gatekeeper {
	a.maxFails = n
	return a
}

// Admit decides whether s starts.
func (a *Gatekeeper) Admit(s Spec) Decision {
	if a.budget > 0 && a.now().Sub(a.start)+s.Knobs.Duration() > a.budget {
		return Stop
	}
	if a.maxFails > 0 {
		a.mu.Lock()
		over := a.fails >= a.maxFails
		a.mu.Unlock()
		if over {
			return Stop
		}
	}
	if !a.failfast || s.Role == result.Control {
		return Start
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := [2]string{s.Registry, s.Cell}
	a.groups[key] = true
	if !a.failed[key] {
		return Start
	}
	for g := range a.groups {
		if !a.failed[g] {
			return Skip
		}
	}
	return Stop // every group that could still fail has failed
}

// Record notes a completed trial.
func (a *Gatekeeper) Record(r result.Record) {
	if r.Detected && r.Role != result.Control {
		a.mu.Lock()
		a.failed[[2]string{r.Registry, r.Cell}] = true
		a.fails++
		a.mu.Unlock()
	}
}
