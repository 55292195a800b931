package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/racestress/racestress/result"
)

// TestEvent is one event of the stream Test2JSON writes: the fields of
// cmd/test2json's TestEvent (go test -json) that it sets.
type TestEvent struct {
	Time    *time.Time `json:",omitempty"`
	Action  string
	Package string   `json:",omitempty"`
	Test    string   `json:",omitempty"`
	Elapsed *float64 `json:",omitempty"` // seconds
	Output  string   `json:",omitempty"`
}

// Test2JSON renders s as a go test -json event stream, one JSON object a
// line, so that the Go ecosystem's tools (gotestsum, go-junit-report, CI
// test reporters) read a racestress run as they read go test:
//
//   - one package per scenario: for a gotest run its package's import
//     path, else "racestress/<scenario>";
//   - in it, one test per group (subject, and sweep cell), named after
//     the subject ("fixed", "fixed[gogc=1]"), which passes when the group
//     passes the run's verdict (a clean subject never failed, a control
//     was caught with the power asked) and fails otherwise, its output the
//     rate statement and the verdict's judgement;
//   - under it, one subtest per trial, "<subject>/trial-<n>", in record
//     order: a clean subject's trial that failed fails, with its first
//     error, signature, log and how to replay it; a harness error fails
//     whatever the subject (the run is invalid); any other trial passes (a
//     control caught is the expected result, and a control need not be
//     caught in every trial), its output saying what happened;
//   - the last package passes when the verdict does and fails otherwise,
//     its output the verdict line.
//
// Times are the trials' start times and durations as recorded; events of
// records with no start time carry none.
func Test2JSON(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	for _, ev := range NewTest2JSON(s) {
		if err := enc.Encode(ev); err != nil {
			return err
		}
	}
	return nil
}

// NewTest2JSON returns the events Test2JSON writes for s.
func NewTest2JSON(s Summary) []TestEvent {
	v := s.Verdict()
	var out []TestEvent
	names := scenarios(s)
	if len(names) == 0 {
		// No trial: the verdict still has its package, "racestress".
		out = append(out, TestEvent{Action: "start", Package: "racestress"},
			TestEvent{Action: "output", Package: "racestress", Output: "verdict: " + v.Line + "\n"})
		for _, warn := range s.Warnings {
			out = append(out, TestEvent{Action: "output", Package: "racestress", Output: "warning: " + warn + "\n"})
		}
		action, status := "pass", "ok  "
		if v.Status != Pass {
			action, status = "fail", "FAIL"
		}
		zero := 0.0
		return append(out,
			TestEvent{Action: "output", Package: "racestress", Output: strings.TrimSpace(status) + "\n"},
			TestEvent{Action: "output", Package: "racestress", Output: status + "\tracestress\t0.000s\n"},
			TestEvent{Action: action, Package: "racestress", Elapsed: &zero})
	}
	for si, sc := range names {
		pkg := "racestress/" + sc
		if r, ok := s.ran(sc); ok && r.GoTest != nil && r.GoTest.ImportPath != "" {
			pkg = r.GoTest.ImportPath
		}
		var first, last time.Time
		var total time.Duration
		for _, r := range s.Records {
			if r.Scenario != sc {
				continue
			}
			total += r.Duration()
			if r.Start.IsZero() {
				continue
			}
			if first.IsZero() || r.Start.Before(first) {
				first = r.Start
			}
			if end := r.Start.Add(r.Duration()); end.After(last) {
				last = end
			}
		}
		elapsed := total
		if !first.IsZero() {
			elapsed = last.Sub(first)
		}
		at := func(t time.Time) *time.Time {
			if t.IsZero() {
				return nil
			}
			t = t.UTC()
			return &t
		}
		add := func(ev TestEvent) {
			ev.Package = pkg
			out = append(out, ev)
		}
		add(TestEvent{Time: at(first), Action: "start"})
		groups := map[string]int{} // group name -> its index in s.Groups
		for i, g := range s.Groups {
			if g.Scenario != sc {
				continue
			}
			name := testName(g)
			groups[g.Name()] = i
			add(TestEvent{Time: at(first), Action: "run", Test: name})
			add(TestEvent{Time: at(first), Action: "output", Test: name, Output: "=== RUN   " + name + "\n"})
		}
		for _, r := range s.Records {
			if r.Scenario != sc {
				continue
			}
			i, ok := groups[groupName(r.Scenario, r.Registry, r.Cell)]
			if !ok {
				continue
			}
			g := s.Groups[i]
			name := testName(g) + "/trial-" + fmt.Sprint(r.Trial)
			add(TestEvent{Time: at(r.Start), Action: "run", Test: name})
			add(TestEvent{Time: at(r.Start), Action: "output", Test: name, Output: "=== RUN   " + name + "\n"})
			action, lines := trialEvent(g, r)
			end := at(r.Start)
			if end != nil {
				*end = end.Add(r.Duration())
			}
			for _, l := range lines {
				add(TestEvent{Time: end, Action: "output", Test: name, Output: "    " + l + "\n"})
			}
			sec := round3(r.Duration().Seconds())
			add(TestEvent{Time: end, Action: "output", Test: name, Output: fmt.Sprintf("    --- %s: %s (%.2fs)\n", strings.ToUpper(action), name, sec)})
			add(TestEvent{Time: end, Action: action, Test: name, Elapsed: &sec})
		}
		for i, g := range s.Groups {
			if g.Scenario != sc {
				continue
			}
			name := testName(g)
			action := "pass"
			if v.Groups[i].Status != Pass {
				action = "fail"
			}
			for _, l := range []string{columnName(g) + ": " + g.RateStatement(), "verdict: " + v.Groups[i].Cell} {
				add(TestEvent{Time: at(last), Action: "output", Test: name, Output: "    " + l + "\n"})
			}
			sec := round3(groupSeconds(s, g))
			add(TestEvent{Time: at(last), Action: "output", Test: name, Output: fmt.Sprintf("--- %s: %s (%.2fs)\n", strings.ToUpper(action), name, sec)})
			add(TestEvent{Time: at(last), Action: action, Test: name, Elapsed: &sec})
		}
		// The verdict is the run's: the last package carries it, and it
		// passes or fails with it; any other scenario's package passes
		// or fails with its groups.
		pass := v.Status == Pass
		if si < len(names)-1 {
			pass = !slices.ContainsFunc(s.Groups, func(g Group) bool { return g.Scenario == sc && v.Groups[groups[g.Name()]].Status != Pass })
		} else {
			add(TestEvent{Time: at(last), Action: "output", Output: "verdict: " + v.Line + "\n"})
			for _, warn := range s.Warnings {
				add(TestEvent{Time: at(last), Action: "output", Output: "warning: " + warn + "\n"})
			}
		}
		sec := round3(elapsed.Seconds())
		if pass {
			add(TestEvent{Time: at(last), Action: "output", Output: "PASS\n"})
			add(TestEvent{Time: at(last), Action: "output", Output: fmt.Sprintf("ok  \t%s\t%.3fs\n", pkg, sec)})
			add(TestEvent{Time: at(last), Action: "pass", Elapsed: &sec})
		} else {
			add(TestEvent{Time: at(last), Action: "output", Output: "FAIL\n"})
			add(TestEvent{Time: at(last), Action: "output", Output: fmt.Sprintf("FAIL\t%s\t%.3fs\n", pkg, sec)})
			add(TestEvent{Time: at(last), Action: "fail", Elapsed: &sec})
		}
	}
	return out
}

// round3 rounds seconds to milliseconds, as go test's elapsed times are.
func round3(sec float64) float64 { return math.Round(sec*1000) / 1000 }

// testName is a group's test: its subject, and its sweep cell in brackets
// (no spaces: go test's names have none).
func testName(g Group) string {
	if g.Cell == "" {
		return g.Registry
	}
	return g.Registry + "[" + strings.ReplaceAll(g.Cell, " ", ",") + "]"
}

// groupSeconds is a group's total trial time in seconds.
func groupSeconds(s Summary, g Group) float64 {
	var d time.Duration
	for _, r := range s.Records {
		if r.Scenario == g.Scenario && r.Registry == g.Registry && r.Cell == g.Cell {
			d += r.Duration()
		}
	}
	return d.Seconds()
}

// trialEvent returns how a trial of group g ends, "pass" or "fail", and
// the lines of output that say what happened.
func trialEvent(g Group, r result.Record) (action string, lines []string) {
	after := r.Duration()
	if r.Detected {
		after = r.TTFF()
	}
	what := fmt.Sprintf("trial %d, seed %d: %s after %s", r.Trial, r.Seed, r.Outcome, FormatDuration(after))
	action = "pass"
	switch {
	case r.Outcome == result.Error:
		action = "fail"
		what = "harness error, neither a detection nor a pass (the run is invalid): " + what
	case r.Detected && g.IsClean():
		action = "fail"
		what = "forbidden outcome: " + what
	case r.Signature:
		what = "detected (the control was caught, as it must be): " + what
	case r.Detected:
		what = "failed otherwise than by the control's signature, not a detection: " + what
	case !g.IsClean():
		what = "not detected in this trial (a control need not be caught in every trial): " + what
	}
	lines = append(lines, what)
	if r.Outcome != result.OK || r.Detected {
		if r.Test != "" {
			lines = append(lines, "test: "+r.Test)
		}
		for _, l := range strings.Split(strings.TrimRight(r.FirstError, "\n"), "\n") {
			if l != "" {
				lines = append(lines, "  "+l)
			}
		}
		if r.FailureSignature != "" {
			lines = append(lines, "signature: "+r.FailureSignature)
		}
		if r.Process != nil && r.Process.Log != "" {
			lines = append(lines, "log: "+r.Process.Log)
		}
		lines = append(lines, fmt.Sprintf("replay: racestress replay RESULTS.jsonl %d", r.Trial))
	}
	return action, lines
}
