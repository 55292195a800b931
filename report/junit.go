package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jstemmer/go-junit-report/v2/junit"

	"github.com/racestress/racestress/result"
)

// JUnit renders s as JUnit XML with the types of go-junit-report's junit
// package, for CI systems to consume as is:
//
//   - one testsuite per group (scenario × registry × sweep cell), named
//     "<scenario>/<registry>", or "<scenario>/<registry> [<cell>]" in a
//     sweep, its properties carrying the expectation, the cell, the knobs
//     and the rate statement with its 95% interval;
//   - one testcase per trial, named "trial <n>", in record order;
//   - on a clean registry, a trial with a forbidden outcome is a failure
//     whose message is the first line of its first error and whose text is
//     the whole error, with the seed that replays it;
//   - on a control registry a detected trial is the expected result and
//     passes; so does a trial that did not detect the bug, since a control
//     need not be caught in every trial. Instead, each control suite has one
//     more testcase, "<registry> detected", which fails when the control was
//     never detected: the harness lost its power to detect;
//   - a trial whose outcome is error (the harness could not run it) is an
//     error, whatever the registry.
//
// Warnings are written to the system-err of the suite they name (the first
// suite when they name none).
func JUnit(w io.Writer, s Summary) error {
	suites := NewJUnit(s)
	if _, err := io.WriteString(w, xmlHeader); err != nil {
		return err
	}
	return suites.WriteXML(w)
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// NewJUnit returns the document JUnit writes for s.
func NewJUnit(s Summary) junit.Testsuites {
	out := junit.Testsuites{Name: "racestress"}
	var total time.Duration
	warnings := map[int][]string{}
	for _, warn := range s.Warnings {
		// The group a warning names: the longest name it starts with, so
		// that "s/a:b trial 1: ..." goes to s/a:b, not to s/a.
		at, longest := 0, 0
		for i, g := range s.Groups {
			name := g.Name()
			if len(name) > longest && (strings.HasPrefix(warn, name+" trial ") || strings.HasPrefix(warn, name+":")) {
				at, longest = i, len(name)
			}
		}
		warnings[at] = append(warnings[at], warn)
	}
	v := s.Verdict()
	for i, g := range s.Groups {
		suite := junit.Testsuite{Name: g.Name(), ID: i}
		expect := "control: must be detected"
		if g.IsClean() {
			expect = "clean: must show no forbidden outcome"
		}
		suite.AddProperty("scenario", g.Scenario)
		suite.AddProperty("registry", g.Registry)
		if g.Cell != "" {
			suite.AddProperty("cell", g.Cell)
		}
		suite.AddProperty("expectation", expect)
		suite.AddProperty("knobs", knobsLine(g.Knobs))
		if r, ok := s.ran(g.Scenario); ok {
			if c, ok := r.command(g.Registry); ok {
				suite.AddProperty("command", r.Line(c))
			}
			if r.GoTest != nil {
				suite.AddProperty("package", r.GoTest.ImportPath)
				suite.AddProperty("build_flags", strings.Join(r.GoTest.BuildFlags, " "))
			}
		}
		suite.AddProperty("rate", g.RateStatement())
		suite.AddProperty("verdict", v.Groups[i].Cell)
		var suiteTime time.Duration
		for _, r := range s.Records {
			if r.Scenario != g.Scenario || r.Registry != g.Registry || r.Cell != g.Cell {
				continue
			}
			if suite.Timestamp == "" && !r.Start.IsZero() {
				suite.SetTimestamp(r.Start)
			}
			suiteTime += r.Duration()
			suite.AddTestcase(trialCase(g, r))
		}
		if !g.IsClean() {
			tc := junit.Testcase{Name: g.Registry + " detected", Classname: classname(g)}
			if gv := v.Groups[i]; gv.Status == LostPower {
				tc.Failure = &junit.Result{
					Message: xmlText(gv.Text + ": the harness lost its power to detect"),
					Type:    "not-detected",
					Data:    g.RateStatement(),
				}
			} else {
				tc.SystemOut = &junit.Output{Data: g.RateStatement()}
			}
			suite.AddTestcase(tc)
		}
		suite.Time = seconds(suiteTime)
		if ws := warnings[i]; len(ws) > 0 {
			suite.SystemErr = &junit.Output{Data: xmlText(strings.Join(ws, "\n"))}
		}
		total += suiteTime
		out.AddSuite(suite)
	}
	vs := junit.Testsuite{Name: "racestress verdict", ID: len(s.Groups)}
	vc := junit.Testcase{Name: "verdict", Classname: "racestress"}
	switch v.Status {
	case Pass:
		vc.SystemOut = &junit.Output{Data: xmlText(v.Line)}
	case Invalid:
		vc.Error = &junit.Result{Message: xmlText(v.Line), Type: "invalid"}
	default:
		vc.Failure = &junit.Result{Message: xmlText(v.Line), Type: v.Status.String()}
	}
	vs.AddProperty("exit_code", fmt.Sprint(v.Status.ExitCode()))
	vs.AddTestcase(vc)
	out.AddSuite(vs)
	out.Time = seconds(total)
	return out
}

// trialCase is the testcase of one trial of group g.
func trialCase(g Group, r result.Record) junit.Testcase {
	tc := junit.Testcase{
		Name:      fmt.Sprintf("trial %d", r.Trial),
		Classname: classname(g),
		Time:      seconds(r.Duration()),
	}
	replay := fmt.Sprintf("seed %d (replay: racestress replay RESULTS.jsonl %d)", r.Seed, r.Trial)
	firstLine, _, _ := strings.Cut(r.FirstError, "\n")
	switch {
	case r.Outcome == result.Error:
		tc.Error = &junit.Result{
			Message: xmlText(firstLine),
			Type:    string(r.Outcome),
			Data:    xmlText(r.FirstError + "\n" + replay),
		}
	case r.Detected && g.IsClean():
		msg := firstLine
		if msg == "" {
			msg = "forbidden outcome " + string(r.Outcome)
		}
		tc.Failure = &junit.Result{
			Message: xmlText(msg),
			Type:    string(r.Outcome),
			Data: xmlText(fmt.Sprintf("forbidden outcome %s after %s\n%s\n%s",
				r.Outcome, FormatDuration(r.TTFF()), r.FirstError, replay)),
		}
	case r.Signature:
		tc.SystemOut = &junit.Output{Data: xmlText(fmt.Sprintf("detected: %s after %s: %s\n%s",
			r.Outcome, FormatDuration(r.TTFF()), firstLine, replay))}
	case r.Detected:
		tc.SystemOut = &junit.Output{Data: xmlText(fmt.Sprintf("failed otherwise than by the control's signature, not a detection: %s after %s: %s\n%s",
			r.Outcome, FormatDuration(r.TTFF()), firstLine, replay))}
	case !g.IsClean():
		tc.SystemOut = &junit.Output{Data: xmlText(fmt.Sprintf("not detected in this trial (outcome %s after %s); a control need not be caught in every trial: see %q\n%s",
			r.Outcome, FormatDuration(r.Duration()), g.Registry+" detected", replay))}
	default:
		tc.SystemOut = &junit.Output{Data: xmlText(fmt.Sprintf("outcome %s after %s\n%s", r.Outcome, FormatDuration(r.Duration()), replay))}
	}
	return tc
}

// classname is "racestress.<scenario>.<registry>", followed by " [<cell>]"
// in a sweep, so that the testcases of different cells stay apart in CI
// systems that group by class.
func classname(g Group) string {
	name := "racestress." + g.Scenario + "." + g.Registry
	if g.Cell != "" {
		name += " [" + g.Cell + "]"
	}
	return name
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// xmlText replaces the characters XML 1.0 cannot carry, as a goroutine dump
// or a corrupted error text might hold, with U+FFFD.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}
