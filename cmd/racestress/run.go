package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// chaosHook gives in-process and worker trials the step-point hook of their
// chaos level (none when off).
func chaosHook(spec harness.Spec) func(finalizer.Point) {
	procs := spec.Knobs.Procs
	if procs <= 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	c, err := scenarios.ResolveChaos(spec.Knobs.Chaos, procs)
	if err != nil {
		return nil // validated when the run was configured
	}
	return c.Hook(spec.Seed)
}

// options are the parsed flags of a run.
type options struct {
	threads     int
	seconds     float64
	runs        int
	registries  string
	scenario    string
	gogc        int
	sleepScale  float64
	seed        int64
	keepGoing   bool
	reentrant   bool
	format      string
	quiet       bool
	isolate     string
	poolTrials  int
	timeout     time.Duration
	memoryLimit string
	race        bool
	out         string
	parallel    int
	control     string
	clean       string
	budget      time.Duration
	failfast    bool
	sweep       harness.Sweep
	knobs       knobFlag
	shard       string
	procs       int
	preset      string
	chaos       string
	minPower    float64
	set         map[string]bool // flags given on the command line
	gate        bool
	help        bool
	args        []string     // the command line, for the results header
	exec        *execOptions // set for racestress exec and gotest runs
}

// Bounds of the numeric flags: far outside them a run says nothing true.
const (
	maxThreads    = 1024
	maxSeconds    = 24 * 3600
	maxRuns       = 1_000_000
	maxGOGC       = 100_000
	maxSleepScale = 1000
	maxParallel   = 64
	maxBudget     = 7 * 24 * time.Hour
	maxTimeout    = 7 * 24 * time.Hour
)

// addRunFlags defines the flags that choose how trials run.
func addRunFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.isolate, "isolate", "process", "run each trial in a child `MODE`: process (one child per trial: survives fatal errors and hangs), pool (warm children that run trial after trial, replaced after any unclean trial) or none (in this process, fastest)")
	fs.IntVar(&o.poolTrials, "pool-trials", harness.DefaultPoolTrials, "with --isolate pool, recycle a worker after `N` trials")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop a trial with no result after `D` (SIGQUIT for a goroutine dump, then kill); at least the trial's length + 1s (default seconds×2+5s)")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "bound each child's memory to `SIZE` (e.g. 512MiB, at least 32MiB): GOMEMLIMIT, and killed past twice that")
	fs.BoolVar(&o.race, "race", false, "run workers under the race detector (builds a race-enabled worker once; needs Go and a C compiler)")
	fs.StringVar(&o.out, "out", "", "write results to the new `FILE` (default racestress-out/<time>/results.jsonl); child logs go beside it")
	fs.IntVar(&o.parallel, "parallel", 1, "run `P` trials at once; on few cores parallel trials change each other's timing")
	fs.StringVar(&o.format, "format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	fs.BoolVar(&o.quiet, "quiet", false, "print no per-trial status lines on stderr")
	fs.StringVar(&o.control, "control", "", "make the subjects in `LIST` controls (they must be caught), overriding the scenario's declared roles")
	fs.StringVar(&o.clean, "clean", "", "make the subjects in `LIST` clean (they must never fail), overriding the scenario's declared roles")
	fs.DurationVar(&o.budget, "budget", 0, "stop starting trials when the next would end after `D` of wall-clock time; trials are shared across groups round by round (with no --runs/--count: as many rounds as fit)")
	fs.BoolVar(&o.failfast, "failfast", false, "stop a clean group at its first forbidden outcome (controls, which are expected to fail, keep running)")
	fs.Var(&o.sweep, "sweep", "sweep `KEY=V1,V2` over any knob of the scenario (see racestress list) or chaos; repeat the flag or list more KEY=... arguments after it; every combination runs as its own group")
	fs.StringVar(&o.shard, "shard", "", "run only shard `K/N` of the rounds (deterministic by round; merge shards with racestress merge)")
}

func newFlagSet(name string, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	p, err := scenarios.LookupPreset(scenarios.DefaultPreset)
	if err != nil {
		panic(err) // the default preset is declared in scenarios
	}
	d := p.Knobs
	fs.StringVar(&o.preset, "preset", "", "start from the knobs of the scenario's preset `NAME` (default: its first; see below); flags given override them")
	fs.Var(&o.knobs, "knob", "set the scenario's knob `NAME=V` (see racestress list); repeatable")
	fs.StringVar(&o.chaos, "chaos", d.Chaos, "inject chaos at the registry's step points: `LEVEL` off, low, high, or auto (low on one CPU, else off); timing only, never what counts as a failure")
	fs.IntVar(&o.threads, "threads", d.Threads, "run `N` goroutines: makers and runners, split evenly, at least one each")
	fs.Float64Var(&o.seconds, "seconds", d.Seconds, "stress each trial for `S` seconds (a trial stops earlier at its first forbidden outcome)")
	fs.IntVar(&o.runs, "runs", 1, "run `N` trials per subject (and sweep cell)")
	fs.IntVar(&o.runs, "count", 1, "the same as --runs, named as in go test")
	fs.IntVar(&o.procs, "procs", 0, "run each trial with GOMAXPROCS `N` (default: the machine's)")
	fs.StringVar(&o.registries, "registry", "", "stress the subjects in the comma-separated `LIST` (default: the scenario's; see racestress list)")
	fs.StringVar(&o.scenario, "scenario", scenarios.ThreadSafety.Name, "run scenario `NAME` (see racestress list)")
	fs.IntVar(&o.gogc, "gogc", d.GOGC, "set the GC percentage to `P` during trials (lower collects more often)")
	fs.Float64Var(&o.sleepScale, "sleep-scale", d.SleepScale, "scale the runner's U(0, 100ms) sleep by `F` (0: no sleep)")
	fs.Int64Var(&o.seed, "seed", 0, "seed trial round 0 with `S` and round i with S+i (default: random); replays a recorded trial")
	fs.BoolVar(&o.keepGoing, "keep-going", false, "keep a trial running after its first forbidden outcome, counting them all")
	fs.BoolVar(&o.reentrant, "reentrant", false, "make finalizer callbacks register a finalizer themselves, as real finalizers do")
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

// run is racestress's main, testable: it parses args, runs, and writes
// results to stdout and status to stderr. Its error carries the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			if len(args) > 1 {
				return usageError("list takes no arguments, got %q", args[1])
			}
			return list(stdout)
		case "report":
			return reportCmd(args[1:], stdout, stderr)
		case "replay":
			return replayCmd(ctx, args[1:], stdout, stderr)
		case "merge":
			return mergeCmd(args[1:], stdout, stderr)
		case "gate":
			return gateCmd(ctx, args[1:], stdout, stderr)
		case "exec":
			return execCmd(ctx, args[1:], stdout, stderr)
		case "gotest":
			return gotestCmd(ctx, args[1:], stdout, stderr)
		}
	}
	var o options
	fs := newFlagSet("racestress", &o)
	if err := o.parse(fs, args, stdout); err != nil || o.help {
		return err
	}
	o.args = append([]string{"racestress"}, args...)
	cfg, err := o.config()
	if err != nil {
		return err
	}
	return execute(ctx, &o, cfg, nil, stdout, stderr)
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
		if len(o.sweep) == 0 || !strings.Contains(a, "=") {
			return usageError("unknown command %q (see racestress -h)", a)
		}
		if err := o.sweep.Set(a); err != nil {
			return usageError("--sweep: %v", err)
		}
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	return nil
}

func (o *options) seedSet() bool { return o.set["seed"] }
func (o *options) runsSet() bool { return o.set["runs"] || o.set["count"] }

// execute runs cfg (or only specs, when given), streaming records to the
// results file, then renders the summary and returns the verdict.
func execute(ctx context.Context, o *options, cfg harness.Config, specs []harness.Spec, stdout, stderr io.Writer) error {
	if err := o.checkRunFlags(cfg); err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(result.RunDir("racestress-out", time.Now()), "results.jsonl")
	}
	path := o.out
	pol := o.verdictPolicy()
	header := harness.NewHeader(cfg, o.args, pol, time.Now())
	cfg.RunID = header.RunID
	results, err := result.CreateResults(path, header)
	if errors.Is(err, result.ErrExists) {
		return usageError("--out: %v", err)
	}
	if err != nil {
		return invalid("results file: %v", err)
	}
	defer results.Close()
	var logDir string
	if o.isolate != "none" {
		if logDir, err = result.CreateLogDir(path, header.RunID); err != nil {
			return invalid("log folder: %v", err)
		}
		defer os.Remove(logDir) // only when empty: a run that kept no log leaves no folder
	}
	exec, err := o.executor(ctx, logDir)
	if err != nil {
		return err
	}
	if c, ok := exec.(io.Closer); ok {
		defer c.Close()
	}
	cfg.Executor, cfg.Parallel = exec, o.parallel
	planned := 0
	if specs == nil {
		if cfg.Runs > 0 {
			planned = len(harness.Plan(cfg))
		}
	} else {
		planned = len(specs)
	}
	adm := harness.NewPolicy(o.budget, o.failfast, time.Now)
	if o.exec != nil {
		adm.StopAfter(o.exec.maxFails)
	}
	cfg.Admit = adm.Admit
	var progress *report.Progress
	if !o.quiet {
		fmt.Fprintf(stderr, "racestress: %s, results in %s\n", plannedText(planned, o.budget), path)
		progress = report.NewProgress(stderr, planned, isTerminal(stderr), time.Now)
		if n := terminalWidth(stderr); n > 0 {
			progress.SetWidth(n) // what the terminal says beats COLUMNS
		}
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		go func() {
			for range ticker.C {
				progress.Tick()
			}
		}()
	}
	var writeErr error
	cfg.OnRecord = func(r result.Record) error {
		if err := results.Append(r); err != nil {
			writeErr = err
			return fmt.Errorf("results file: %w", err)
		}
		adm.Record(r)
		if progress != nil {
			// Each unexpected failure gets a line and the head of its log, as
			// in x/tools stress; a control's expected detections only count.
			if (r.Detected && !r.Signature) || r.Invalid() || (r.Detected && r.Role == result.Clean) {
				progress.Above(statusLine(r) + "\n" + logHead(r, path))
			}
			progress.Add(r)
		}
		return nil
	}
	seq := harness.Schedule(cfg)
	if specs != nil {
		for i := range specs {
			specs[i].RunID = cfg.RunID
		}
		seq = slices.Values(specs)
	}
	records, runErr := harness.RunSpecs(ctx, cfg, seq)
	if progress != nil {
		progress.Done()
	}
	sum := report.Summarize(records)
	sum.Policy = reportPolicy(header)
	if len(records) == 0 && runErr == nil && writeErr == nil {
		sum.Policy.Empty = emptyShard(header)
	}
	if o.isolate == "pool" && o.exec == nil {
		sum.Warnings = append(sum.Warnings, harness.PoolIndependence)
	}
	if len(cfg.Subjects) > 0 && !hasControl(cfg.Subjects) && !o.gate && o.exec == nil {
		sum.Warnings = append(sum.Warnings, "no control ran: nothing measured the harness's power to detect (name one with --registry or --control)")
	}
	if err := render(stdout, o.format, sum); err != nil {
		return invalid("writing the report: %v", err)
	}
	if o.format == "table" || o.format == "markdown" {
		fmt.Fprintf(stdout, "results: %s (re-render: racestress report FILE; replay trial N: racestress replay FILE N)\n", path)
	}
	switch {
	case runErr != nil && ctx.Err() != nil:
		return &exitError{code: 130, msg: fmt.Sprintf("interrupted after %d trials; results in %s", len(records), path)}
	case writeErr != nil:
		return invalid("results file %s: %v (the run is invalid: its results are not all on disk)", path, writeErr)
	case runErr != nil:
		return invalid("%v", runErr)
	case len(records) == 0 && sum.Policy.Empty == "":
		return invalid("no trial ran (is --budget shorter than one trial, or are there more shards than rounds?)")
	}
	return verdictError(sum.Verdict())
}

func hasControl(subs []scenarios.Subject) bool {
	return slices.ContainsFunc(subs, func(s scenarios.Subject) bool { return s.Role == result.Control })
}

// verdictPolicy is what this run's verdict asks, as recorded in its header.
func (o *options) verdictPolicy() result.VerdictPolicy {
	return result.VerdictPolicy{MinPower: o.minPower, RequireControl: o.gate}
}

// reportPolicy is the verdict policy a results header recorded.
func reportPolicy(h result.Header) report.Policy {
	p := report.Policy{MinPower: h.Verdict.MinPower, RequireControl: h.Verdict.RequireControl}
	for _, s := range h.Subjects {
		p.Subjects = append(p.Subjects, s.Name)
	}
	return p
}

// verdictError turns a verdict into the command's exit: its line on stderr
// and its status.
func verdictError(v report.Verdict) error {
	return &exitError{code: v.Status.ExitCode(), msg: v.Line}
}

func invalid(format string, args ...any) error {
	return &exitError{code: report.Invalid.ExitCode(), msg: "INVALID: " + fmt.Sprintf(format, args...)}
}

func plannedText(planned int, budget time.Duration) string {
	switch {
	case planned > 0 && budget > 0:
		return fmt.Sprintf("up to %d trials within %v", planned, budget)
	case planned > 0:
		return fmt.Sprintf("%d trials", planned)
	case budget == 0:
		return "no trials"
	}
	return fmt.Sprintf("trials for %v", budget)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (o *options) checkRunFlags(cfg harness.Config) error {
	if o.exec != nil {
		return o.exec.check(o)
	}
	switch {
	case o.isolate != "process" && o.isolate != "pool" && o.isolate != "none":
		return usageError("--isolate must be process, pool or none, got %q", o.isolate)
	case o.poolTrials < 1 || o.poolTrials > maxRuns:
		return usageError("--pool-trials must be between 1 and %d, got %d", maxRuns, o.poolTrials)
	case o.timeout < 0 || o.timeout > maxTimeout:
		return usageError("--timeout must be between 0 (default) and %v, got %v", maxTimeout, o.timeout)
	case o.parallel < 1 || o.parallel > maxParallel:
		return usageError("--parallel must be between 1 and %d, got %d", maxParallel, o.parallel)
	case o.race && o.isolate == "none":
		return usageError("--race needs --isolate process or pool")
	case !slices.Contains(report.Formats, o.format):
		return usageError("--format must be one of %s, got %q", strings.Join(report.Formats, ", "), o.format)
	case o.budget < 0 || o.budget > maxBudget:
		return usageError("--budget must be between 0 and %v, got %v", maxBudget, o.budget)
	}
	if o.timeout > 0 {
		longest := cfg.Knobs
		for _, c := range cfg.Cells {
			if c.Knobs.Seconds > longest.Seconds {
				longest = c.Knobs
			}
		}
		if min := harness.MinTimeout(longest); o.timeout < min {
			return usageError("--timeout %v is shorter than a trial: it must be at least %v (the trial's %gs plus %v)", o.timeout, min, longest.Seconds, harness.MinTimeoutSlack)
		}
	}
	limit, err := parseSize(o.memoryLimit)
	if err != nil {
		return usageError("--memory-limit: %v", err)
	}
	if limit > 0 && limit < harness.MinMemoryLimit {
		return usageError("--memory-limit %s is below the %d MiB a trial needs", o.memoryLimit, harness.MinMemoryLimit>>20)
	}
	if mem := physicalMemory(); limit > 0 && mem > 0 && limit > mem {
		return usageError("--memory-limit %s is more than the machine's %d MiB", o.memoryLimit, mem>>20)
	}
	return nil
}

// physicalMemory returns the machine's memory in bytes, 0 when unknown.
func physicalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (o *options) executor(ctx context.Context, logDir string) (harness.Executor, error) {
	if o.exec != nil {
		return o.exec.executor(logDir, filepath.Dir(o.out)), nil
	}
	if o.isolate == "none" {
		return harness.InProcess{Hook: chaosHook}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, invalid("locating the worker binary: %v", err)
	}
	limit, _ := parseSize(o.memoryLimit)
	p := harness.Process{Path: self, Args: []string{harness.WorkerArg}, MemoryLimit: limit, LogDir: logDir, LogBase: filepath.Dir(o.out)}
	if o.timeout > 0 {
		p.Timeout = func(result.Knobs) time.Duration { return o.timeout }
	}
	if o.race {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		bin, err := harness.RaceWorker(ctx, ".", filepath.Join(cache, "racestress"))
		if err != nil {
			return nil, &exitError{code: 2, msg: err.Error()}
		}
		p.Path, p.Env, p.Isolation = bin, harness.RaceEnv, "race"
	}
	if o.isolate == "pool" {
		p.Args = []string{harness.PoolWorkerArg}
		return &harness.Pool{Process: p, TrialsPerWorker: o.poolTrials}, nil
	}
	return p, nil
}

// parseSize parses a byte size such as 512MiB, 1GiB, 64MB or 1000000; ""
// is 0 (no limit).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	num, mult := s, int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("want a positive size like 512MiB, got %q", s)
	}
	return n * mult, nil
}

func (o *options) config() (harness.Config, error) {
	var cfg harness.Config
	if !(o.minPower >= 0 && o.minPower < 1) {
		return cfg, usageError("--min-power must be in [0, 1), got %g", o.minPower)
	}
	if o.runs < 1 || o.runs > maxRuns {
		return cfg, usageError("--runs must be between 1 and %d, got %d", maxRuns, o.runs)
	}
	sc, err := scenarios.Lookup(o.scenario)
	if err != nil {
		return cfg, usageError("--scenario: %v", err)
	}
	preset, err := sc.Preset(o.preset)
	if err != nil && o.preset != "" {
		return cfg, usageError("--preset: %v", err)
	}
	// Start from the preset (or the scenario's declared defaults); flags
	// given on the command line override them, each checked against the
	// scenario's declaration of its knobs.
	k := sc.DefaultKnobsOf()
	if err == nil {
		k = preset.Knobs
	}
	set := func(name, flagName, v string) error {
		var e error
		if k, e = sc.SetKnob(k, name, v); e != nil {
			return usageError("--%s: %v", flagName, e)
		}
		return nil
	}
	for _, f := range []struct {
		flag, knob string
		value      func() string
	}{
		{"threads", "threads", func() string { return strconv.Itoa(o.threads) }},
		{"seconds", "seconds", func() string { return strconv.FormatFloat(o.seconds, 'g', -1, 64) }},
		{"gogc", "gogc", func() string { return strconv.Itoa(o.gogc) }},
		{"sleep-scale", "sleep-scale", func() string { return strconv.FormatFloat(o.sleepScale, 'g', -1, 64) }},
		{"procs", "procs", func() string { return strconv.Itoa(o.procs) }},
		{"chaos", "chaos", func() string { return o.chaos }},
		{"reentrant", "reentrant", func() string { return map[bool]string{true: "1", false: "0"}[o.reentrant] }},
	} {
		if o.set[f.flag] {
			if err := set(f.knob, f.flag, f.value()); err != nil {
				return cfg, err
			}
		}
	}
	for _, kv := range o.knobs {
		if err := set(kv[0], "knob", kv[1]); err != nil {
			return cfg, err
		}
	}
	k.KeepGoing = o.keepGoing
	if err := sc.CheckKnobs(k); err != nil {
		return cfg, usageError("knobs: %v", err)
	}
	subjects, err := o.subjects(sc)
	if err != nil {
		return cfg, err
	}
	seed := o.seed
	if !o.seedSet() {
		seed = rand.Int64N(1 << 40)
	}
	shard, err := harness.ParseShard(o.shard)
	if err != nil {
		return cfg, usageError("--shard: %v", err)
	}
	if o.shard != "" && !o.seedSet() {
		return cfg, usageError("--shard needs --seed, so that every shard runs its part of the same trials")
	}
	runs := o.runs
	if o.budget > 0 && !o.runsSet() {
		runs = -1 // as many rounds as the budget allows
	}
	if o.shard != "" && runs < 0 {
		return cfg, usageError("--shard needs --runs, so that every shard knows the run's rounds")
	}
	var cells []harness.Cell
	if len(o.sweep) > 0 {
		if cells, err = o.sweep.Cells(sc, k); err != nil {
			return cfg, usageError("--sweep: %v", err)
		}
	}
	longest := k.Duration()
	for _, c := range cells {
		longest = max(longest, c.Knobs.Duration())
	}
	if o.budget > 0 && o.budget < longest {
		return cfg, usageError("--budget %v is shorter than one trial (%v)", o.budget, longest)
	}
	return harness.Config{Scenario: sc, Subjects: subjects, Runs: runs, Seed: seed, Knobs: k, Cells: cells, Shard: shard}, nil
}

// knobFlag collects --knob NAME=V.
type knobFlag [][2]string

func (f *knobFlag) String() string {
	var parts []string
	for _, kv := range *f {
		parts = append(parts, kv[0]+"="+kv[1])
	}
	return strings.Join(parts, " ")
}

func (f *knobFlag) Set(arg string) error {
	name, v, ok := strings.Cut(arg, "=")
	if !ok || name == "" || v == "" {
		return fmt.Errorf("want NAME=V, got %q", arg)
	}
	*f = append(*f, [2]string{name, v})
	return nil
}

// subjects resolves --registry, --control and --clean against sc's
// declared subjects: the roles are the scenario's unless a flag overrides
// them.
func (o *options) subjects(sc *scenarios.Scenario) ([]scenarios.Subject, error) {
	control, clean := splitList(o.control), splitList(o.clean)
	for _, n := range control {
		if slices.Contains(clean, n) {
			return nil, usageError("%q cannot be both --clean and --control", n)
		}
	}
	names := splitList(o.registries)
	if !o.set["registry"] {
		names = slices.Clone(sc.Defaults)
		for _, n := range append(slices.Clone(control), clean...) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, usageError("--registry: no subject named (have %s)", strings.Join(sc.SubjectNames(), ", "))
	}
	for _, n := range append(slices.Clone(control), clean...) {
		if !slices.Contains(names, n) {
			return nil, usageError("subject %q is given a role but not run: add it to --registry", n)
		}
	}
	var out []scenarios.Subject
	for _, name := range names {
		s, err := sc.Subject(name)
		if err != nil {
			return nil, usageError("--registry: %v", err)
		}
		if slices.ContainsFunc(out, func(r scenarios.Subject) bool { return r.Name == name }) {
			return nil, usageError("--registry: %q named twice", name)
		}
		if s.Crashes && o.isolate == "none" {
			return nil, usageError("--registry %s kills or hangs its process: it needs --isolate process", name)
		}
		switch {
		case slices.Contains(control, name):
			s = s.WithRole(result.Control)
		case slices.Contains(clean, name):
			s = s.WithRole(result.Clean)
		}
		out = append(out, s)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// list prints the tree: scenarios, their subjects with roles and
// signatures, then the presets' knobs.
func list(w io.Writer) error {
	fmt.Fprintln(w, "scenarios:")
	for _, s := range scenarios.All() {
		fmt.Fprintf(w, "  %s: %s\n", s.Name, s.Doc)
		fmt.Fprintln(w, "    subjects:")
		for _, sub := range s.Subjects {
			def := ""
			if slices.Contains(s.Defaults, sub.Name) {
				def = " (default)"
			}
			sig := ""
			if sub.Role == result.Control {
				sig = ", caught by " + sub.SignatureText()
			}
			needs := ""
			if sub.Needs != "" {
				needs = ", needs --" + sub.Needs
			}
			fmt.Fprintf(w, "      %-18s %s%s%s%s: %s\n", sub.Name, sub.Role, sig, needs, def, sub.Doc)
		}
		fmt.Fprintln(w, "    knobs (default, bounds):")
		d := s.DefaultKnobsOf()
		for _, kn := range s.AllKnobs() {
			v, _ := d.Get(kn.Name)
			fmt.Fprintf(w, "      %-18s %-8s [%s, %s]  %s\n", kn.Name, strconv.FormatFloat(v, 'g', -1, 64),
				strconv.FormatFloat(kn.Min, 'f', -1, 64), strconv.FormatFloat(kn.Max, 'f', -1, 64), kn.Doc)
		}
		fmt.Fprintf(w, "      %-18s %-8s off, low, high, auto\n", "chaos", cmpOr(d.Chaos, "off"))
		if len(s.Presets) > 0 {
			fmt.Fprintln(w, "    presets:")
			for _, p := range s.Presets {
				fmt.Fprintf(w, "      %-18s %s\n", p.Name, s.DescribeKnobs(p.Knobs))
			}
		}
	}
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func render(w io.Writer, format string, s report.Summary) error {
	if format == "github" {
		if err := appendStepSummary(s); err != nil {
			return err
		}
	}
	return report.Render(w, format, s)
}

func statusLine(r result.Record) string {
	what := string(r.Outcome)
	if r.Detected || r.Invalid() {
		if r.Detected {
			what += " after " + report.FormatDuration(r.TTFF())
		}
		if r.FirstError != "" {
			what += ": " + r.FirstError
		}
	}
	name := r.Scenario + "/" + r.Registry + " (" + string(r.Role) + ")"
	if r.Cell != "" {
		name += " [" + r.Cell + "]"
	}
	return fmt.Sprintf("racestress: trial %d %s seed %d: %s", r.Trial, name, r.Seed, what)
}

// headBytes is how much of a failed child's log the console shows.
const headBytes = 2048

// logHead returns the path and the first 2 KiB of a failed trial's child
// log, indented, or "" when there is none to show.
// Its paths are resolved against resultsPath, the file r belongs to.
func logHead(r result.Record, resultsPath string) string {
	if r.Process == nil || r.Process.Log == "" || r.Outcome == result.OK {
		return ""
	}
	log := result.LogPath(resultsPath, r.Process.Log)
	b, err := os.ReadFile(log)
	if err != nil {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "    log: %s", log)
	if r.Process.Dump != "" {
		fmt.Fprintf(&sb, "  goroutine dump: %s", result.LogPath(resultsPath, r.Process.Dump))
	}
	sb.WriteString("\n")
	if len(b) > headBytes {
		b = append(b[:headBytes:headBytes], "\n    ...\n"...)
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			sb.WriteString("    | " + line)
		}
	}
	if !strings.HasSuffix(sb.String(), "\n") {
		sb.WriteString("\n")
	}
	return sb.String()
}
