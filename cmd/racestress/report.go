package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/stress"
)

// reportCmd is racestress report, which re-renders a saved results file
// with the verdict it recorded, and racestress merge, which combines the
// results files of one run's shards; the exit status is the verdict.
func reportCmd(name string, args []string, stdout io.Writer) error {
	format := new(string)
	fs := newBareFlagSet("racestress " + name)
	fs.StringVar(format, "format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	pos, help, err := parseFlags(fs, args, stdout)
	if help || err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	var sum report.Summary
	if name == "report" {
		if len(pos) != 1 {
			return usageError("report needs one results FILE, got %d arguments", len(pos))
		}
		if sum, err = stress.Load(pos[0]); err != nil {
			return usageError("report: %s: %v", pos[0], err)
		}
	} else {
		if len(pos) < 1 {
			return usageError("merge needs results FILEs")
		}
		if sum, err = stress.Merge(pos); err != nil {
			return usageError("merge: %v", err)
		}
	}
	if err := render(stdout, *format, sum); err != nil {
		return invalid("writing the report: %v", err)
	}
	return verdictError(sum.Verdict())
}

// newBareFlagSet returns a flag set with no flags, errors returned.
func newBareFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func checkFormat(format string) error {
	if !slices.Contains(report.Formats, format) {
		return usageError("--format must be one of %s, got %q", strings.Join(report.Formats, ", "), format)
	}
	return nil
}

// replayCmd reruns one trial of a saved run with its recorded seed, knobs
// and role (a command's: its command line, environment and trial number),
// and says whether the outcome agrees with the recorded one.
func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newBareFlagSet("racestress replay")
	addRunFlags(fs, &o)
	pos, help, err := parseFlags(fs, args, stdout)
	if help || err != nil {
		return err
	}
	var names []string
	fs.Visit(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(pos) != 2 {
		return usageError("replay needs a results FILE and a trial number N")
	}
	n, err := strconv.Atoi(pos[1])
	if err != nil || n < 0 {
		return usageError("replay: trial number %q is not a number", pos[1])
	}
	if err := checkFormat(o.format); err != nil {
		return err
	}
	cfg := o.config(append([]string{"racestress", "replay"}, args...))
	plan, err := stress.Replay(stress.ReplayConfig{File: pos[0], Trial: n, Config: cfg, Given: names})
	if err != nil {
		return fromStress(err)
	}
	res, err := runPlan(ctx, plan, o.format, o.quiet, stdout, stderr)
	var ee *exitError
	if err != nil && (!errors.As(err, &ee) || ee.code == 2) {
		return err
	}
	var se *stress.Error
	if res != nil && errors.As(res.Err, &se) && se.Kind == stress.Interrupted {
		return fromStress(res.Err)
	}
	line, agree, err := plan.Replayed(res)
	if err != nil {
		return fromStress(err)
	}
	if !agree {
		return &exitError{code: 1, msg: line}
	}
	return &exitError{code: 0, msg: line}
}
