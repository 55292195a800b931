package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// DefaultMinPower is the gate's default --min-power: the lower 95% bound of
// the control's detection rate must reach 50%. At the default knobs the
// unfixed registry is detected in every trial (see README, Benchmarks), so
// six rounds already give a lower bound of 0.025^(1/6) = 54%; a 30 s budget
// runs about seven at --seconds 4. A control detected in at most half of its
// trials fails the gate: the harness has lost most of its power.
const DefaultMinPower = 0.5

// gateDefaultCount is the gate's number of rounds when neither --budget nor
// --runs is given.
const gateDefaultCount = 10

// gateCmd is racestress gate: a run whose verdict is a CI gate. It asks a
// minimum power of every control and refuses to pass when no control ran.
func gateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("racestress gate", &o)
	fs.Float64Var(&o.minPower, "min-power", DefaultMinPower, "every control's detection rate must have a lower 95% bound of at least `P`")
	o.gate = true
	if err := o.parse(fs, args, stdout); err != nil || o.help {
		return err
	}
	o.args = append([]string{"racestress", "gate"}, args...)
	if !o.runsSet() && o.budget == 0 {
		o.runs = gateDefaultCount
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	return execute(ctx, &o, cfg, nil, stdout, stderr)
}

// reportCmd re-renders a saved results file with the verdict it recorded.
func reportCmd(args []string, stdout, stderr io.Writer) error {
	format := new(string)
	fs := fsWithFormat("racestress report", format)
	pos, help, err := parseFlags(fs, args, stdout)
	if help || err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("report needs one results FILE, got %d arguments", len(pos))
	}
	res, err := result.ReadResultsFile(pos[0])
	if err != nil {
		return usageError("report: %s: %v", pos[0], err)
	}
	sum := summarize(res.Records, res.Header, res.Warnings)
	if err := render(stdout, *format, sum); err != nil {
		return invalid("writing the report: %v", err)
	}
	return verdictError(sum.Verdict())
}

// summarize summarises records with the verdict policy of their header
// (the default run's policy for a schema-1 file, which recorded none).
func summarize(records []result.Record, h *result.Header, warnings []string) report.Summary {
	sum := report.Summarize(records)
	if h != nil {
		sum.Policy = reportPolicy(*h)
		if len(records) == 0 {
			sum.Policy.Empty = emptyShard(*h)
		}
	}
	sum.Warnings = append(slices.Clone(warnings), sum.Warnings...)
	return sum
}

// newBareFlagSet returns a flag set with no flags, errors returned.
func newBareFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func fsWithFormat(name string, format *string) *flag.FlagSet {
	fs := newBareFlagSet(name)
	fs.StringVar(format, "format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	return fs
}

func checkFormat(format string) error {
	if !slices.Contains(report.Formats, format) {
		return usageError("--format must be one of %s, got %q", strings.Join(report.Formats, ", "), format)
	}
	return nil
}

// mergeCmd combines the results files of one run's shards and renders
// them; its exit status is the verdict over the merged trials.
func mergeCmd(args []string, stdout, stderr io.Writer) error {
	format := new(string)
	fs := fsWithFormat("racestress merge", format)
	pos, help, err := parseFlags(fs, args, stdout)
	if help || err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if len(pos) < 1 {
		return usageError("merge needs results FILEs")
	}
	var parts []result.Part
	for _, path := range pos {
		res, err := result.ReadResultsFile(path)
		if err != nil {
			return usageError("merge: %s: %v", path, err)
		}
		parts = append(parts, result.Part{Path: path, Results: res})
	}
	m, err := result.Merge(parts)
	if err != nil {
		return usageError("merge: %v", err)
	}
	sum := summarize(m.Records, m.Header, m.Warnings)
	sum.Policy.Incomplete = m.Missing
	if err := render(stdout, *format, sum); err != nil {
		return invalid("writing the report: %v", err)
	}
	return verdictError(sum.Verdict())
}

// replayCmd reruns one trial of a saved run with its recorded seed, knobs
// and role, and says whether the outcome agrees with the recorded one.
func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newBareFlagSet("racestress replay")
	addRunFlags(fs, &o)
	pos, help, err := parseFlags(fs, args, stdout)
	if help || err != nil {
		return err
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	for _, unused := range []string{"sweep", "shard", "budget", "failfast", "control", "clean", "parallel"} {
		if o.set[unused] {
			return usageError("replay: --%s does not apply to replaying one trial", unused)
		}
	}
	if len(pos) != 2 {
		return usageError("replay needs a results FILE and a trial number N")
	}
	n, err := strconv.Atoi(pos[1])
	if err != nil || n < 0 {
		return usageError("replay: trial number %q is not a number", pos[1])
	}
	res, err := result.ReadResultsFile(pos[0])
	if err != nil {
		return usageError("replay: %s: %v", pos[0], err)
	}
	i := slices.IndexFunc(res.Records, func(r result.Record) bool { return r.Trial == n })
	if i < 0 {
		return usageError("replay: %s has no trial %d", pos[0], n)
	}
	rec := res.Records[i]
	if _, isExec, _ := harness.ExecRunOf(res.Header); isExec {
		return execReplay(ctx, &o, args, res.Header, rec, stdout, stderr)
	}
	sc, err := scenarios.Lookup(rec.Scenario)
	if err != nil {
		return usageError("replay: %v", err)
	}
	sub, err := sc.Subject(rec.Registry)
	if err != nil {
		return usageError("replay: %v", err)
	}
	sub = sub.WithRole(rec.Role)
	if sub.Crashes && o.isolate == "none" {
		return usageError("replay: subject %s needs --isolate process", sub.Name)
	}
	o.args = append([]string{"racestress", "replay"}, args...)
	if res.Header != nil {
		o.minPower, o.gate = res.Header.Verdict.MinPower, res.Header.Verdict.RequireControl
	}
	cfg := harness.Config{Scenario: sc, Subjects: []scenarios.Subject{sub}, Runs: 1, Seed: rec.Seed, Knobs: rec.Knobs}
	spec := harness.Spec{Trial: rec.Trial, Scenario: rec.Scenario, Registry: rec.Registry, Role: sub.Role, Signature: sub.Signature,
		Cell: rec.Cell, Seed: rec.Seed, Knobs: rec.Knobs}
	err = execute(ctx, &o, cfg, []harness.Spec{spec}, stdout, stderr)
	var ee *exitError
	if err != nil && (!errors.As(err, &ee) || ee.code == 2 || ee.code == 130) {
		return err
	}
	got, rerr := result.ReadResultsFile(o.out)
	if rerr != nil || len(got.Records) != 1 {
		return invalid("replay: the replayed trial left no record in %s", o.out)
	}
	r := got.Records[0]
	line := fmt.Sprintf("replay of trial %d (%s/%s, seed %d): recorded %s, replayed %s", rec.Trial, rec.Scenario, rec.Registry, rec.Seed, rec.Outcome, r.Outcome)
	if r.Outcome != rec.Outcome {
		return &exitError{code: 1, msg: line + ": they disagree (GC timing is not seeded: a replay reproduces the trial's inputs, not its schedule)"}
	}
	return &exitError{code: 0, msg: line + ": they agree"}
}
