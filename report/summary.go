// Package report turns trial records into statistics and renders them. It is
// pure: every function here reads results and writes text; none runs a trial.
package report

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/racestress/racestress/harness/result"
)

// Summary is a run's records grouped by scenario and registry.
type Summary struct {
	Groups   []Group
	Warnings []string // problems that did not stop the run, printed as footnotes
}

// Group is the statistics of one scenario × registry.
type Group struct {
	Scenario string
	Registry string
	Clean    bool // expected to show no forbidden outcome
	Knobs    result.Knobs

	Runs     int
	Detected int                    // trials with a forbidden outcome
	Outcomes map[result.Outcome]int // trials by outcome
	Grade    result.Grade           // the worst grade of its trials

	// TTFF holds the times to first failure of the detected trials, sorted.
	TTFF []time.Duration

	Objects   uint64
	Callbacks uint64
	Skipped   uint64
	Duration  time.Duration // total stress time
	Mutations map[string]int
}

// Rate returns Detected/Runs (0 for no runs).
func (g Group) Rate() float64 {
	if g.Runs == 0 {
		return 0
	}
	return float64(g.Detected) / float64(g.Runs)
}

// ObjectsPerSec returns objects created per second of stress time.
func (g Group) ObjectsPerSec() float64 { return perSec(g.Objects, g.Duration) }

// CallbacksPerSec returns callbacks called per second of stress time.
func (g Group) CallbacksPerSec() float64 { return perSec(g.Callbacks, g.Duration) }

func perSec(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// TTFFQuantile returns the q-quantile (0..1) of the detected trials' times to
// first failure, interpolating linearly; ok is false when none was detected.
func (g Group) TTFFQuantile(q float64) (d time.Duration, ok bool) {
	return quantile(g.TTFF, q)
}

func quantile(sorted []time.Duration, q float64) (time.Duration, bool) {
	n := len(sorted)
	if n == 0 {
		return 0, false
	}
	pos := q * float64(n-1)
	i := int(pos)
	if i >= n-1 {
		return sorted[n-1], true
	}
	frac := pos - float64(i)
	return sorted[i] + time.Duration(frac*float64(sorted[i+1]-sorted[i])), true
}

// Passed reports whether the group met its expectation: a clean registry
// shows no forbidden outcome, a control is detected at least once.
func (g Group) Passed() bool {
	if g.Clean {
		return g.Detected == 0
	}
	return g.Detected > 0
}

// Summarize groups records by scenario and registry, keeping the order in
// which each group first appears.
func Summarize(records []result.Record) Summary {
	var s Summary
	index := map[[2]string]int{}
	for _, r := range records {
		key := [2]string{r.Scenario, r.Registry}
		i, ok := index[key]
		if !ok {
			i = len(s.Groups)
			index[key] = i
			s.Groups = append(s.Groups, Group{
				Scenario: r.Scenario, Registry: r.Registry, Clean: r.Clean, Knobs: r.Knobs,
				Outcomes: map[result.Outcome]int{}, Mutations: map[string]int{}, Grade: result.Acceptable,
			})
		}
		g := &s.Groups[i]
		g.Runs++
		g.Outcomes[r.Outcome]++
		if r.Grade.Rank() > g.Grade.Rank() {
			g.Grade = r.Grade
		}
		if r.Detected {
			g.Detected++
			g.TTFF = append(g.TTFF, r.TTFF())
		}
		g.Objects += r.Counts.Objects
		g.Callbacks += r.Counts.Callbacks()
		g.Skipped += r.Counts.Skipped
		g.Duration += r.Duration()
		for k, n := range r.Mutations {
			g.Mutations[k] += n
		}
		for _, w := range r.Warnings {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s/%s trial %d: %s", r.Scenario, r.Registry, r.Trial, w))
		}
	}
	for i := range s.Groups {
		slices.Sort(s.Groups[i].TTFF)
	}
	return s
}

// outcomesOf returns the outcomes seen in g, most frequent first.
func outcomesOf(g Group) []result.Outcome {
	var os []result.Outcome
	for o := range g.Outcomes {
		os = append(os, o)
	}
	sort.Slice(os, func(i, j int) bool {
		if c := cmp.Compare(g.Outcomes[os[j]], g.Outcomes[os[i]]); c != 0 {
			return c < 0
		}
		return os[i].Severity() < os[j].Severity()
	})
	return os
}
