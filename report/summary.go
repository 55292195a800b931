package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/racestress/racestress/result"
)

// Summary is a run's records grouped by scenario and registry.
type Summary struct {
	Groups   []Group
	Warnings []string // problems that did not stop the run, printed as footnotes

	// Policy is what the verdict asks of the groups (see Verdict): the
	// verdict policy the run's results header recorded.
	Policy result.VerdictPolicy
	// Subjects names the subjects the run meant to stress; one that ran no
	// valid trial is reported.
	Subjects []string
	// Incomplete, when set, says why the records are not the whole run
	// (missing shards): statistics are shown, but no pass is given.
	Incomplete string
	// Empty, when set, says why the records rightly hold no trial (a shard
	// of a run with fewer rounds than shards): with no trial and nothing
	// incomplete the verdict is then this note, exit status 0, and no
	// claim about any subject.
	Empty string

	// Records are the trials behind Groups, in the order Summarize got them;
	// the JUnit renderer writes one testcase per record.
	Records []result.Record

	// Header, when set, is the run's results header: the renderers say
	// from it what an exec or gotest run ran (its commands, or its
	// package, tests and build flags). Summarize leaves it nil.
	Header *result.Header
}

// Group is the statistics of one scenario × registry.
type Group struct {
	Scenario string
	Registry string
	Cell     string      // the sweep cell, "" outside sweeps
	Role     result.Role // control: must be detected; clean: must never fail
	Knobs    result.Knobs

	// Runs counts the valid trials: every trial but those the harness could
	// not run (Errors), which say nothing about the subject.
	Runs int
	// Detected counts the trials that count for the role: for a control,
	// detections (its signature outcomes); for a clean subject, failures
	// (any forbidden outcome).
	Detected int
	// Other counts a control's forbidden outcomes that are not its
	// signature: failures, but not the bug it stands for.
	Other    int
	Errors   int                    // trials that ended in error
	Outcomes map[result.Outcome]int // trials by outcome, errors included
	Grade    result.Grade           // the worst grade of its trials
	// FirstError is the first error text of the first trial that counted
	// (Detected), else of the first failed one; FirstInvalid that of the
	// first trial that ended in error.
	FirstError, FirstInvalid string

	// TTFF holds the times to first failure of the detected trials, sorted.
	TTFF []time.Duration
	// Samples hold every trial as survival data, in record order: its
	// time to first failure when detected, else its length, censored.
	Samples []Sample

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

// IsClean reports whether g's subject is clean (must never fail).
func (g Group) IsClean() bool { return g.Role == result.Clean }

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
func (g Group) KaplanMeier() Curve { return KaplanMeier(g.Samples) }

// KMQuantile returns the q-quantile of the time to first failure from the
// Kaplan–Meier curve; reached is false when the curve never gets to q, and d
// is then the longest trial (the quantile is "> d").
func (g Group) KMQuantile(q float64) (d time.Duration, reached bool) {
	return g.KaplanMeier().Quantile(q)
}

// Noun names what the group's rate measures: "failure rate" for a clean
// registry, "detection rate" for a control.
func (g Group) Noun() string {
	if g.IsClean() {
		return "failure rate"
	}
	return "detection rate"
}

// RateStatement says in one sentence how sure the group's rate is, e.g.
// "failure rate < 16.9% per trial at 95% (0 of 20 trials)" or "detection
// rate 100% per trial, 95% CI [69.1%, 100%] (10 of 10 trials)". Interval
// bounds are rounded outwards, so the statement never claims more than the
// data show.
//
// A group with no valid trial (every one a harness error) has no rate: the
// statement says so rather than quote the interval [0%, 100%].
func (g Group) RateStatement() string {
	lo, hi := g.DetectionCI()
	if g.Runs == 0 {
		return fmt.Sprintf("%s unknown: no trial gave a result (%d harness errors)", g.Noun(), g.Errors)
	}
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
//
// It is the group's judgement without a policy: Summary.Verdict applies
// the run's policy (power, errors) on top of it.
func (g Group) Passed() bool {
	if g.Errors > 0 || g.Runs == 0 {
		return false
	}
	if g.IsClean() {
		return g.Detected == 0
	}
	return g.Detected > 0
}

// Summarize groups records by scenario, registry and sweep cell, keeping the order in
// which each group first appears.
func Summarize(records []result.Record) Summary {
	var s Summary
	index := map[[3]string]int{}
	mixed := map[int]bool{}
	for _, r := range records {
		r.Upgrade()
		key := [3]string{r.Scenario, r.Registry, r.Cell}
		i, ok := index[key]
		if !ok {
			i = len(s.Groups)
			index[key] = i
			s.Groups = append(s.Groups, Group{
				Scenario: r.Scenario, Registry: r.Registry, Cell: r.Cell, Role: r.Role, Knobs: r.Knobs,
				Outcomes: map[result.Outcome]int{}, Mutations: map[string]int{}, Grade: result.Acceptable,
			})
		}
		g := &s.Groups[i]
		if r.Role != g.Role && !mixed[i] {
			mixed[i] = true
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: trials with different roles (%s and %s): the records mix runs", g.Name(), g.Role, r.Role))
		}
		g.Outcomes[r.Outcome]++
		if r.Grade.Rank() > g.Grade.Rank() {
			g.Grade = r.Grade
		}
		if r.Invalid() {
			g.Errors++
			if g.FirstInvalid == "" {
				g.FirstInvalid = r.FirstError
			}
			continue
		}
		g.Runs++
		switch {
		case r.Hit():
			if g.Detected == 0 {
				g.FirstError = r.FirstError
			}
			g.Detected++
			g.TTFF = append(g.TTFF, r.TTFF())
			g.Samples = append(g.Samples, Sample{T: r.TTFF(), Detected: true})
		default:
			if r.Detected {
				g.Other++
				if g.FirstError == "" {
					g.FirstError = r.FirstError
				}
			}
			g.Samples = append(g.Samples, Sample{T: r.Duration()})
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
		if g.Errors > 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf(
				"%s: %d of %d trials ended in error (the harness could not run them, or stopped them by a limit of its own); they are neither detections nor passes, and the run is invalid; first: %s",
				g.Name(), g.Errors, g.Errors+g.Runs, g.FirstInvalid))
		}
		if g.Other > 0 && !g.IsClean() {
			s.Warnings = append(s.Warnings, fmt.Sprintf(
				"%s: %d trials failed otherwise than by the control's signature; they are not detections", g.Name(), g.Other))
		}
	}
	s.Records = make([]result.Record, len(records))
	for i, r := range records {
		r.Upgrade()
		s.Records[i] = r
	}
	return s
}

// outcomesOf returns the outcomes seen in g, most frequent first, ties in
// the order of result.Outcomes.
func outcomesOf(g Group) []result.Outcome {
	var os []result.Outcome
	for o := range g.Outcomes {
		os = append(os, o)
	}
	slices.SortFunc(os, func(a, b result.Outcome) int {
		// Outcomes of other versions share a severity: their names break
		// the tie, so that the order does not follow the map's.
		return cmp.Or(cmp.Compare(g.Outcomes[b], g.Outcomes[a]), cmp.Compare(a.Severity(), b.Severity()), cmp.Compare(a, b))
	})
	return os
}
