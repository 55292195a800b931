package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/result"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/scenarios"
)

// options are the parsed flags of a run.
type options struct {
	threads    int
	seconds    float64
	runs       int
	registries string
	scenario   string
	gogc       int
	sleepScale float64
	seed       int64
	seedSet    bool
	keepGoing  bool
	format     string
	quiet      bool
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("racestress", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	d := scenarios.DefaultKnobs()
	fs.IntVar(&o.threads, "threads", d.Threads, "run `N` goroutines: makers and runners, split evenly, at least one each")
	fs.Float64Var(&o.seconds, "seconds", d.Seconds, "stress each trial for `S` seconds (a trial stops earlier at its first forbidden outcome)")
	fs.IntVar(&o.runs, "runs", 1, "run `N` trials per registry")
	fs.StringVar(&o.registries, "registry", "unfixed,fixed", "stress the registries in the comma-separated `LIST` (see racestress list)")
	fs.StringVar(&o.scenario, "scenario", scenarios.ThreadSafety.Name, "run scenario `NAME` (see racestress list)")
	fs.IntVar(&o.gogc, "gogc", d.GOGC, "set the GC percentage to `P` during trials (lower collects more often)")
	fs.Float64Var(&o.sleepScale, "sleep-scale", d.SleepScale, "scale the runner's U(0, 100ms) sleep by `F` (0: no sleep)")
	fs.Int64Var(&o.seed, "seed", 0, "seed trial 0 with `S` and trial i with S+i (default: random); replays a recorded trial")
	fs.BoolVar(&o.keepGoing, "keep-going", false, "keep a trial running after its first forbidden outcome, counting them all")
	fs.StringVar(&o.format, "format", "table", "print results as `FORMAT`: table or json")
	fs.BoolVar(&o.quiet, "quiet", false, "print no per-trial status lines on stderr")
	return fs
}

const usageHead = `usage: racestress [flags]
       racestress list

racestress runs a stress scenario on an unfixed and a fixed finalizer registry
and compares them. Exit status: 0 when clean registries showed no forbidden
outcome and controls were detected; 1 when a clean registry failed; 3 when a
control was never detected; 2 for usage errors.

flags:
`

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, usageHead)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// run is racestress's main, testable: it parses args, runs, and writes
// results to stdout and status to stderr. Its error carries the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "list" {
		if len(args) > 1 {
			return usageError("list takes no arguments, got %q", args[1])
		}
		return list(stdout)
	}
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return nil
		}
		return usageError("%v (see racestress -h)", err)
	}
	if fs.NArg() > 0 {
		return usageError("unknown command %q (see racestress -h)", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			o.seedSet = true
		}
	})
	cfg, err := o.config()
	if err != nil {
		return err
	}
	if !o.quiet {
		cfg.OnRecord = func(r result.Record) error {
			fmt.Fprintln(stderr, statusLine(r, cfg.Runs*len(cfg.Registries)))
			return nil
		}
	}
	records, runErr := harness.Run(ctx, cfg)
	sum := report.Summarize(records)
	if err := render(stdout, o.format, sum); err != nil {
		return err
	}
	if o.format == "table" {
		fmt.Fprintf(stdout, "seeds %d..%d (replay a trial: --seed SEED --runs 1)\n", cfg.Seed, cfg.Seed+int64(cfg.Runs)-1)
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return &exitError{code: 130, msg: "interrupted"}
		}
		return runErr
	}
	return verdict(sum)
}

func (o *options) config() (harness.Config, error) {
	var cfg harness.Config
	switch {
	case o.threads < 2:
		return cfg, usageError("--threads must be at least 2 (one maker and one runner), got %d", o.threads)
	case !(o.seconds > 0):
		return cfg, usageError("--seconds must be positive, got %g", o.seconds)
	case o.runs < 1:
		return cfg, usageError("--runs must be at least 1, got %d", o.runs)
	case o.gogc < 1:
		return cfg, usageError("--gogc must be at least 1 (the scenario needs the GC running), got %d", o.gogc)
	case !(o.sleepScale >= 0):
		return cfg, usageError("--sleep-scale must be 0 or more, got %g", o.sleepScale)
	case o.format != "table" && o.format != "json":
		return cfg, usageError("--format must be table or json, got %q", o.format)
	}
	sc, err := scenarios.Lookup(o.scenario)
	if err != nil {
		return cfg, usageError("--scenario: %v", err)
	}
	regs, err := parseRegistries(o.registries)
	if err != nil {
		return cfg, err
	}
	k := scenarios.DefaultKnobs()
	k.Threads = o.threads
	k.Makers, k.Runners = scenarios.SplitThreads(o.threads)
	k.Seconds, k.GOGC, k.SleepScale, k.KeepGoing = o.seconds, o.gogc, o.sleepScale, o.keepGoing
	seed := o.seed
	if !o.seedSet {
		seed = rand.Int64N(1 << 40)
	}
	return harness.Config{Scenario: sc, Registries: regs, Runs: o.runs, Seed: seed, Knobs: k}, nil
}

func parseRegistries(list string) ([]finalizer.Variant, error) {
	var regs []finalizer.Variant
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		v, ok := finalizer.Lookup(name)
		if !ok {
			return nil, usageError("--registry: unknown registry %q (have %s)", name, strings.Join(variantNames(), ", "))
		}
		if slices.ContainsFunc(regs, func(r finalizer.Variant) bool { return r.Name == name }) {
			return nil, usageError("--registry: %q named twice", name)
		}
		if name == "racy" || name == "locked" {
			return nil, usageError("--registry: %q needs trials in child processes, which this build does not have yet", name)
		}
		regs = append(regs, v)
	}
	return regs, nil
}

func variantNames() []string {
	var names []string
	for _, v := range finalizer.Variants() {
		names = append(names, v.Name)
	}
	return names
}

func list(w io.Writer) error {
	fmt.Fprintln(w, "scenarios:")
	for _, s := range scenarios.All() {
		fmt.Fprintf(w, "  %-16s %s\n", s.Name, s.Doc)
	}
	fmt.Fprintln(w, "registries:")
	for _, v := range finalizer.Variants() {
		kind := "control"
		if v.Clean {
			kind = "clean"
		}
		fmt.Fprintf(w, "  %-16s %-8s %s\n", v.Name, kind, v.Doc)
	}
	return nil
}

func render(w io.Writer, format string, s report.Summary) error {
	if format == "json" {
		return report.JSON(w, s)
	}
	return report.Table(w, s)
}

func statusLine(r result.Record, total int) string {
	what := string(r.Outcome)
	if r.Detected {
		what += " after " + report.FormatDuration(r.TTFF())
	}
	return fmt.Sprintf("racestress: trial %d/%d %s/%s seed %d: %s", r.Trial+1, total, r.Scenario, r.Registry, r.Seed, what)
}

// verdict turns a summary into the exit status: 1 when a clean registry
// showed a forbidden outcome, else 3 when a control was never detected.
func verdict(s report.Summary) error {
	var failed, powerless []string
	for _, g := range s.Groups {
		switch {
		case g.Clean && g.Detected > 0:
			failed = append(failed, fmt.Sprintf("%s/%s showed forbidden outcomes in %d of %d trials", g.Scenario, g.Registry, g.Detected, g.Runs))
		case !g.Clean && g.Detected == 0:
			powerless = append(powerless, fmt.Sprintf("%s/%s was never detected in %d trials", g.Scenario, g.Registry, g.Runs))
		}
	}
	if len(failed) > 0 {
		return &exitError{code: 1, msg: "FAIL: " + strings.Join(failed, "; ")}
	}
	if len(powerless) > 0 {
		return &exitError{code: 3, msg: "FAIL: lost power: " + strings.Join(powerless, "; ")}
	}
	return nil
}
