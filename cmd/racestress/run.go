package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/command"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
	"github.com/racestress/racestress/stress"
)

// options are the parsed flags of a command line: the run's configuration
// (into which most flags write directly) and how to render it.
type options struct {
	cfg                        stress.Config
	exec                       stress.Exec
	knobs                      knobValues
	knobList                   stress.Settings
	registries, control, clean string
	format                     string
	quiet, help                bool
	set                        map[string]bool // flags given on the command line
}

// knobValues are the flags that set a scenario's knobs.
type knobValues struct {
	threads, gogc, procs int
	seconds, sleepScale  float64
	chaos                string
	reentrant            bool
}

// addRunFlags defines the flags that choose how trials run.
func addRunFlags(fs *flag.FlagSet, o *options) {
	c := &o.cfg
	fs.StringVar(&c.Isolation, "isolate", "process", "run each trial in a child `MODE`: process (one child per trial: survives fatal errors and hangs), pool (warm children that run trial after trial, replaced after any unclean trial) or none (in this process, fastest)")
	fs.IntVar(&c.PoolTrials, "pool-trials", harness.DefaultPoolTrials, "with --isolate pool, recycle a worker after `N` trials")
	fs.DurationVar(&c.Timeout, "timeout", 0, "stop a trial with no result after `D` (SIGQUIT for a goroutine dump, then kill); at least the trial's length + 1s (default seconds×2+5s)")
	fs.StringVar(&c.MemoryLimit, "memory-limit", "", "bound each child's memory to `SIZE` (e.g. 512MiB, at least 32MiB): GOMEMLIMIT, and killed past twice that")
	fs.BoolVar(&c.Race, "race", false, "run workers under the race detector (builds a race-enabled worker once; needs Go and a C compiler)")
	fs.StringVar(&c.Out, "out", "", "write results to the new `FILE` (default racestress-out/<time>/results.jsonl); child logs go beside it")
	fs.IntVar(&c.Parallel, "parallel", 1, "run `P` trials at once; on few cores parallel trials change each other's timing")
	fs.StringVar(&o.format, "format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	fs.BoolVar(&o.quiet, "quiet", false, "print no per-trial status lines on stderr")
	fs.StringVar(&o.control, "control", "", "make the subjects in `LIST` controls (they must be caught), overriding the scenario's declared roles")
	fs.StringVar(&o.clean, "clean", "", "make the subjects in `LIST` clean (they must never fail), overriding the scenario's declared roles")
	fs.DurationVar(&c.Budget, "budget", 0, "stop starting trials when the next would end after `D` of wall-clock time; trials are shared across groups round by round (with no --runs/--count: as many rounds as fit)")
	fs.BoolVar(&c.Failfast, "failfast", false, "stop a clean group at its first forbidden outcome (controls, which are expected to fail, keep running)")
	fs.Var(&c.Sweep, "sweep", "sweep `KEY=V1,V2` over any knob of the scenario (see racestress list) or chaos; repeat the flag or list more KEY=... arguments after it; every combination runs as its own group")
	fs.StringVar(&c.Shard, "shard", "", "run only shard `K/N` of the rounds (deterministic by round; merge shards with racestress merge)")
}

func newFlagSet(name string, o *options) *flag.FlagSet {
	fs := newBareFlagSet(name)
	p, err := scenarios.LookupPreset(scenarios.DefaultPreset)
	if err != nil {
		panic(err) // the default preset is declared in scenarios
	}
	d, c, k := p.Knobs, &o.cfg, &o.knobs
	fs.StringVar(&c.Preset, "preset", "", "start from the knobs of the scenario's preset `NAME` (default: its first; see below), or the tuned preset FILE (racestress tune); flags given override them")
	fs.Var(&o.knobList, "knob", "set the scenario's knob `NAME=V` (see racestress list); repeatable")
	fs.StringVar(&k.chaos, "chaos", d.Chaos, "inject chaos at the registry's step points: `LEVEL` off, low, high, or auto (low on one CPU, else off); timing only, never what counts as a failure")
	fs.IntVar(&k.threads, "threads", d.Threads, "run `N` goroutines: makers and runners, split evenly, at least one each")
	fs.Float64Var(&k.seconds, "seconds", d.Seconds, "stress each trial for `S` seconds (a trial stops earlier at its first forbidden outcome)")
	fs.IntVar(&c.Runs, "runs", 1, "run `N` trials per subject (and sweep cell)")
	fs.IntVar(&c.Runs, "count", 1, "the same as --runs, named as in go test")
	fs.IntVar(&k.procs, "procs", 0, "run each trial with GOMAXPROCS `N` (default: the machine's)")
	fs.StringVar(&o.registries, "registry", "", "stress the subjects in the comma-separated `LIST` (default: the scenario's; see racestress list)")
	fs.StringVar(&c.Scenario, "scenario", scenarios.ThreadSafety.Name, "run scenario `NAME` (see racestress list)")
	fs.IntVar(&k.gogc, "gogc", d.GOGC, "set the GC percentage to `P` during trials (lower collects more often)")
	fs.Float64Var(&k.sleepScale, "sleep-scale", d.SleepScale, "scale the runner's U(0, 100ms) sleep by `F` (0: no sleep)")
	fs.Int64Var(&c.Seed, "seed", 0, "seed trial round 0 with `S` and round i with S+i (default: random); replays a recorded trial")
	fs.BoolVar(&c.KeepGoing, "keep-going", false, "keep a trial running after its first forbidden outcome, counting them all")
	fs.BoolVar(&k.reentrant, "reentrant", false, "make finalizer callbacks register a finalizer themselves, as real finalizers do")
	addRunFlags(fs, o)
	return fs
}

const usageHead = `usage: racestress [flags]                  run a scenario on its subjects and compare them
       racestress gate [flags]             the same run as a CI gate (--min-power, refuses to pass without a control)
       racestress list                     the scenarios, their subjects with roles, the presets
       racestress report [-format F] FILE  re-render a saved results file, with its verdict
       racestress merge [-format F] FILE…  combine the results files of one run's shards
       racestress replay [flags] FILE N    rerun trial N of a saved run with its seed and knobs
       racestress exec [flags] -- CMD...   run any command as trials, or compare two (--control/--clean NAME=CMD); see exec -h
       racestress gotest [flags] PKG       build PKG's test binary once and run it as trials; see gotest -h
       racestress tune [flags]             find the knobs (isolation too) that catch the control fastest, confirm them, write a preset for --preset FILE

racestress runs a stress scenario on its subjects: controls, which have the
bug and must be caught by their signature outcome, and clean ones, which must
never fail. Each trial runs in a child process; every trial's record is
written to a results file before the next starts.

exit status: 0 pass; 1 a clean subject showed a forbidden outcome; 3 a control
was not caught with the required power (or, for the gate, no control ran);
4 the run is invalid (harness errors or limits, results not writable,
incomplete shards); 2 usage; 130 interrupted.

flags:
`

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, usageHead)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if fs.Lookup("preset") != nil {
		fmt.Fprintln(w, "\npresets of the registry scenarios (--preset; racestress list shows every scenario's):")
		for _, p := range scenarios.Presets() {
			fmt.Fprintf(w, "  %-9s %s\n            %s\n", p.Name, p.Doc, scenarios.Describe(p.Knobs))
		}
	}
}

// parseFlags parses args into fs, flags before or after the positional
// arguments; help is not an error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (positional []string, help bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(stdout, fs)
				return nil, true, nil
			}
			return nil, false, usageError("%v (see racestress -h)", err)
		}
		if fs.NArg() == 0 {
			return positional, false, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// given returns the names of the flags set in fs.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// run is racestress's main, testable: it parses args, runs, and writes
// results to stdout and status to stderr. Its error carries the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			if len(args) > 1 {
				return usageError("list takes no arguments, got %q", args[1])
			}
			return stress.List(stdout)
		case "report", "merge":
			return reportCmd(args[0], args[1:], stdout)
		case "replay":
			return replayCmd(ctx, args[1:], stdout, stderr)
		case "gate":
			return runCmd(ctx, true, args[1:], stdout, stderr)
		case "exec", "gotest":
			return execCmd(ctx, args[0], args[1:], stdout, stderr)
		case "tune":
			if len(args) > 1 && (args[1] == "exec" || args[1] == "gotest") {
				return execCmd(ctx, "tune "+args[1], args[2:], stdout, stderr)
			}
			return tuneCmd(ctx, args[1:], stdout, stderr)
		}
	}
	return runCmd(ctx, false, args, stdout, stderr)
}

// runCmd is racestress with no subcommand, and racestress gate: the same
// run, whose verdict, for the gate, asks a minimum power of every control
// and refuses to pass when no control ran.
func runCmd(ctx context.Context, gate bool, args []string, stdout, stderr io.Writer) error {
	var o options
	name := "racestress"
	if gate {
		name = "racestress gate"
	}
	fs := newFlagSet(name, &o)
	if gate {
		fs.Float64Var(&o.cfg.MinPower, "min-power", stress.DefaultMinPower, "every control's detection rate must have a lower 95% bound of at least `P` (default 0 with --min-effect)")
	}
	fs.Float64Var(&o.cfg.MinEffect, "min-effect", 0, minEffectUsage)
	if err := o.parse(fs, args, stdout); err != nil || o.help {
		return err
	}
	cfg := o.config(append(strings.Fields(name), args...))
	cfg.Gate = gate
	if err := checkFormat(o.format); err != nil {
		return err
	}
	plan, err := stress.Prepare(cfg)
	if err != nil {
		return fromStress(err)
	}
	return execute(ctx, plan, o.format, o.quiet, stdout, stderr)
}

// tuneCmd is racestress tune: search, confirm, write the preset; the
// confirmation's verdict is the exit status.
func tuneCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("racestress tune", &o)
	tf := stress.AddTuneFlags(fs)
	if err := o.parse(fs, args, stdout); err != nil || o.help {
		return err
	}
	v, err := tf.Tune(ctx, o.config(append([]string{"racestress", "tune"}, args...)), o.set, o.format, o.quiet, stdout, stderr)
	if err != nil {
		return fromStress(err)
	}
	return verdictError(v)
}

// parse parses args into o, including the KEY=V1,V2 arguments that continue
// a --sweep, and notes which flags were set.
func (o *options) parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	positional, help, err := parseFlags(fs, args, stdout)
	if help || err != nil {
		o.help = help
		return err
	}
	for _, a := range positional {
		if len(o.cfg.Sweep) == 0 || !strings.Contains(a, "=") {
			return usageError("unknown command %q (see racestress -h)", a)
		}
		if err := o.cfg.Sweep.Set(a); err != nil {
			return usageError("--sweep: %v", err)
		}
	}
	o.set = given(fs)
	return nil
}

// config completes the configuration the flags wrote: what was given,
// the subjects and roles, the knob flags given (which override the
// preset's knobs, then each --knob in order), and the command line args.
func (o *options) config(args []string) stress.Config {
	cfg := o.cfg
	cfg.RunsSet, cfg.SeedSet, cfg.MinPowerSet = o.set["runs"] || o.set["count"], o.set["seed"], o.set["min-power"]
	cfg.Control, cfg.Clean, cfg.Args = stress.SplitList(o.control), stress.SplitList(o.clean), args
	cfg.Given = o.set
	if cfg.Out == "" {
		cfg.Out = stress.DefaultResultsPath(time.Now())
	}
	if o.set["registry"] {
		cfg.Registries = append([]string{}, stress.SplitList(o.registries)...)
	}
	k := o.knobs
	for _, f := range [][2]string{
		{"threads", strconv.Itoa(k.threads)},
		{"seconds", strconv.FormatFloat(k.seconds, 'g', -1, 64)},
		{"gogc", strconv.Itoa(k.gogc)},
		{"sleep-scale", strconv.FormatFloat(k.sleepScale, 'g', -1, 64)},
		{"procs", strconv.Itoa(k.procs)},
		{"chaos", k.chaos},
		{"reentrant", map[bool]string{true: "1", false: "0"}[k.reentrant]},
	} {
		if o.set[f[0]] {
			cfg.Set = append(cfg.Set, stress.Setting{Knob: f[0], Value: f[1], From: f[0]})
		}
	}
	cfg.Set = append(cfg.Set, o.knobList...)
	return cfg
}

// execute runs plan, with progress on stderr unless quiet, renders its
// summary in format and returns its exit: the verdict, or why the run is
// not judged by it.
func execute(ctx context.Context, plan *stress.Plan, format string, quiet bool, stdout, stderr io.Writer) error {
	res, err := runPlan(ctx, plan, format, quiet, stdout, stderr)
	if err != nil {
		return err
	}
	if res.Err != nil {
		return fromStress(res.Err)
	}
	return verdictError(res.Summary.Verdict())
}

// runPlan runs plan and renders its summary; its error is the run's or the
// rendering's, not the verdict.
func runPlan(ctx context.Context, plan *stress.Plan, format string, quiet bool, stdout, stderr io.Writer) (*stress.Result, error) {
	path := plan.Path()
	var progress *report.Progress
	hooks := stress.Hooks{}
	if !quiet {
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		hooks.Started = func() {
			fmt.Fprintf(stderr, "racestress: %s, results in %s\n", plan.Describe(), path)
			progress = report.NewProgress(stderr, plan.Planned(), report.IsTerminal(stderr), time.Now)
			if n := report.TerminalColumns(stderr); n > 0 {
				progress.SetWidth(n) // what the terminal says beats COLUMNS
			}
			go func(p *report.Progress) {
				for range ticker.C {
					p.Tick()
				}
			}(progress)
		}
		hooks.Record = func(r result.Record) {
			// Each unexpected failure gets a line and the head of its log, as
			// in x/tools stress; a control's expected detections only count.
			if (r.Detected && !r.Signature) || r.Invalid() || (r.Detected && r.Role == result.Clean) {
				progress.Above(report.StatusLine(r) + "\n" + report.LogHead(r, path, command.PlainText))
			}
			progress.Add(r)
		}
	}
	res, err := plan.Run(ctx, hooks)
	if err != nil {
		return nil, fromStress(err)
	}
	if progress != nil {
		progress.Done()
	}
	if err := render(stdout, format, res.Summary); err != nil {
		return res, invalid("writing the report: %v", err)
	}
	if format == "table" || format == "markdown" {
		fmt.Fprintf(stdout, "results: %s (re-render: racestress report FILE; replay trial N: racestress replay FILE N)\n", path)
	}
	return res, nil
}

// verdictError turns a verdict into the command's exit: its line on stderr
// and its status.
func verdictError(v report.Verdict) error {
	return &exitError{code: v.Status.ExitCode(), msg: v.Line}
}

func render(w io.Writer, format string, s report.Summary) error {
	if format == "github" {
		if err := report.AppendStepSummary(s); err != nil {
			return err
		}
	}
	return report.Render(w, format, s)
}
