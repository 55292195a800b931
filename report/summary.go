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

	// Records are the trials behind Groups, in the order Summarize got them;
	// the JUnit renderer writes one testcase per record.
	Records []result.Record
}

// Group is the statistics of one scenario × registry.
type Group struct {
	Scenario string
	Registry string
	Cell     string // the sweep cell, "" outside sweeps
	Clean    bool   // expected to show no forbidden outcome
	Knobs    result.Knobs

	Runs     int
	Detected int                    // trials with a forbidden outcome
	Outcomes map[result.Outcome]int // trials by outcome
	Grade    result.Grade           // the worst grade of its trials

	// TTFF holds the times to first failure of the detected trials, sorted.
	TTFF []time.Duration
	// Observations hold every trial as survival data, in record order: its
	// time to first failure when detected, else its length, censored.
	Observations []Observation

	Objects   uint64
	Callbacks uint64
	Skipped   uint64
	Duration  time.Duration // total stress time
	Mutations map[string]int
}

// Name names the group: "<scenario>/<registry>", followed by " [<cell>]" in
// a sweep.
func (g Group) Name() string { return groupName(g.Scenario, g.Registry, g.Cell) }

func groupName(scenario, registry, cell string) string {
	if cell == "" {
		return scenario + "/" + registry
	}
	return scenario + "/" + registry + " [" + cell + "]"
}

// Rate returns Detected/Runs (0 for no runs).
func (g Group) Rate() float64 {
	if g.Runs == 0 {
		return 0
	}
	return float64(g.Detected) / float64(g.Runs)
}

// DetectionCI returns the exact 95% Clopper–Pearson interval of the
// per-trial detection rate (for a clean registry, its failure rate).
func (g Group) DetectionCI() (lo, hi float64) { return ClopperPearson(g.Detected, g.Runs) }

// RunsNeeded99 returns how many trials give a 99% probability of at least one
// detection at the observed rate: the smallest n with 1-(1-p)^n >= 0.99. ok
// is false when nothing was detected (no number of trials is enough).
func (g Group) RunsNeeded99() (n int, ok bool) { return RunsNeeded(g.Rate(), 0.99) }

// KaplanMeier returns the estimate of P(detected by t) over the group's
// trials, those never detected censored at their length.
func (g Group) KaplanMeier() Curve { return KaplanMeier(g.Observations) }

// KMQuantile returns the q-quantile of the time to first failure from the
// Kaplan–Meier curve; reached is false when the curve never gets to q, and d
// is then the longest trial (the quantile is "> d").
func (g Group) KMQuantile(q float64) (d time.Duration, reached bool) {
	return g.KaplanMeier().Quantile(q)
}

// Noun names what the group's rate measures: "failure rate" for a clean
// registry, "detection rate" for a control.
func (g Group) Noun() string {
	if g.Clean {
		return "failure rate"
	}
	return "detection rate"
}

// RateStatement says in one sentence how sure the group's rate is, e.g.
// "failure rate < 16.9% per trial at 95% (0 of 20 trials)" or "detection
// rate 100% per trial, 95% CI [69.1%, 100%] (10 of 10 trials)". Interval
// bounds are rounded outwards, so the statement never claims more than the
// data show.
func (g Group) RateStatement() string {
	lo, hi := g.DetectionCI()
	if g.Detected == 0 {
		return fmt.Sprintf("%s < %s per trial at %s (0 of %d trials)", g.Noun(), pctUp(hi), pct(Confidence), g.Runs)
	}
	return fmt.Sprintf("%s %s per trial, %s CI %s (%d of %d trials)",
		g.Noun(), pct(g.Rate()), pct(Confidence), interval(lo, hi), g.Detected, g.Runs)
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

// Summarize groups records by scenario, registry and sweep cell, keeping the order in
// which each group first appears.
func Summarize(records []result.Record) Summary {
	var s Summary
	index := map[[3]string]int{}
	for _, r := range records {
		key := [3]string{r.Scenario, r.Registry, r.Cell}
		i, ok := index[key]
		if !ok {
			i = len(s.Groups)
			index[key] = i
			s.Groups = append(s.Groups, Group{
				Scenario: r.Scenario, Registry: r.Registry, Cell: r.Cell, Clean: r.Clean, Knobs: r.Knobs,
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
			g.Observations = append(g.Observations, Observation{T: r.TTFF(), Detected: true})
		} else {
			g.Observations = append(g.Observations, Observation{T: r.Duration()})
		}
		g.Objects += r.Counts.Objects
		g.Callbacks += r.Counts.Callbacks()
		g.Skipped += r.Counts.Skipped
		g.Duration += r.Duration()
		for k, n := range r.Mutations {
			g.Mutations[k] += n
		}
		for _, w := range r.Warnings {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s trial %d: %s", groupName(r.Scenario, r.Registry, r.Cell), r.Trial, w))
		}
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		slices.Sort(g.TTFF)
		if n := g.Outcomes[result.Error]; n > 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf(
				"%s: %d of %d trials ended in error (the harness could not run them); they count as forbidden outcomes but say nothing about the registry",
				g.Name(), n, g.Runs))
		}
	}
	s.Records = slices.Clone(records)
	return s
}

// WithControls returns s with the registries named in controls graded as
// controls (they must be detected) and every other registry as clean (it
// must show no forbidden outcome), overriding what the records say, so that
// the report agrees with a verdict taken from a --control list. The role
// belongs to the registry: in a sweep, every cell of a registry gets it.
// Only the grading changes; counts, intervals and cells stay as they are.
func (s Summary) WithControls(controls []string) Summary {
	s.Groups = slices.Clone(s.Groups)
	for i := range s.Groups {
		s.Groups[i].Clean = !slices.Contains(controls, s.Groups[i].Registry)
	}
	s.Records = slices.Clone(s.Records)
	for i := range s.Records {
		s.Records[i].Clean = !slices.Contains(controls, s.Records[i].Registry)
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
