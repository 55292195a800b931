package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/result"
	"github.com/racestress/racestress/report"
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
	seedSet     bool
	keepGoing   bool
	reentrant   bool
	format      string
	quiet       bool
	isolate     string
	timeout     time.Duration
	memoryLimit string
	race        bool
	out         string
	parallel    int
	control     string
	controlSet  bool
	budget      time.Duration
	failfast    bool
	sweep       sweepFlag
	shard       string
	procs       int
	runsSet     bool
	preset      string
	chaos       string
	set         map[string]bool // flags given on the command line
	// gate only
	clean    string
	cleanSet bool
	minPower float64
	gate     bool
	help     bool
}

// addRunFlags defines the flags that choose how trials run.
func addRunFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.isolate, "isolate", "process", "run each trial in a child `MODE`: process (survives fatal errors and hangs) or none (in this process, faster)")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop a trial with no result after `D` (SIGQUIT for a goroutine dump, then kill) (default seconds×2+5s)")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "bound each child's memory to `SIZE` (e.g. 512MiB): GOMEMLIMIT, and killed past twice that")
	fs.BoolVar(&o.race, "race", false, "run workers under the race detector (builds a race-enabled worker once; needs Go and a C compiler)")
	fs.StringVar(&o.out, "out", "", "append results to `FILE` (default racestress-out/<time>/results.jsonl); child logs go beside it")
	fs.IntVar(&o.parallel, "parallel", 1, "run `P` trials at once; on few cores parallel trials change each other's timing")
	fs.StringVar(&o.format, "format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	fs.BoolVar(&o.quiet, "quiet", false, "print no per-trial status lines on stderr")
	fs.StringVar(&o.control, "control", "unfixed", "registries in `LIST` are controls: expected to fail, and the run fails if one is never detected; forbidden outcomes anywhere else fail the run")
	fs.DurationVar(&o.budget, "budget", 0, "stop starting trials when the next would end after `D` of wall-clock time; trials are shared across groups round by round (with no --runs/--count: as many rounds as fit)")
	fs.BoolVar(&o.failfast, "failfast", false, "stop a group at its first forbidden outcome (controls, which are expected to fail, keep running)")
	fs.Var(&o.sweep, "sweep", "sweep `KEY=V1,V2` (gogc, procs, threads, sleep-scale, seconds, chaos); repeat the flag or list more KEY=... arguments after it; every combination runs as its own group")
	fs.StringVar(&o.shard, "shard", "", "run only shard `K/N` of the rounds (deterministic by round; merge shards with racestress merge)")
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("racestress", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	p, err := scenarios.LookupPreset(scenarios.DefaultPreset)
	if err != nil {
		panic(err) // the default preset is declared in scenarios
	}
	d := p.Knobs
	fs.StringVar(&o.preset, "preset", p.Name, "start from the knobs of preset `NAME` (see below); flags given override them")
	fs.StringVar(&o.chaos, "chaos", d.Chaos, "inject chaos at the registry's step points: `LEVEL` off, low, high, or auto (low on one CPU, else off); timing only, never what counts as a failure")
	fs.IntVar(&o.threads, "threads", d.Threads, "run `N` goroutines: makers and runners, split evenly, at least one each")
	fs.Float64Var(&o.seconds, "seconds", d.Seconds, "stress each trial for `S` seconds (a trial stops earlier at its first forbidden outcome)")
	fs.IntVar(&o.runs, "runs", 1, "run `N` trials per registry (and sweep cell)")
	fs.IntVar(&o.runs, "count", 1, "the same as --runs, named as in go test")
	fs.IntVar(&o.procs, "procs", 0, "run each trial with GOMAXPROCS `N` (default: the machine's)")
	fs.StringVar(&o.registries, "registry", "unfixed,fixed", "stress the registries in the comma-separated `LIST` (see racestress list)")
	fs.StringVar(&o.scenario, "scenario", scenarios.ThreadSafety.Name, "run scenario `NAME` (see racestress list)")
	fs.IntVar(&o.gogc, "gogc", d.GOGC, "set the GC percentage to `P` during trials (lower collects more often)")
	fs.Float64Var(&o.sleepScale, "sleep-scale", d.SleepScale, "scale the runner's U(0, 100ms) sleep by `F` (0: no sleep)")
	fs.Int64Var(&o.seed, "seed", 0, "seed trial round 0 with `S` and round i with S+i (default: random); replays a recorded trial")
	fs.BoolVar(&o.keepGoing, "keep-going", false, "keep a trial running after its first forbidden outcome, counting them all")
	fs.BoolVar(&o.reentrant, "reentrant", false, "make finalizer callbacks register a finalizer themselves, as real finalizers do")
	addRunFlags(fs, o)
	return fs
}

const usageHead = `usage: racestress [flags]
       racestress list
       racestress report [-format FORMAT] FILE
       racestress replay [flags] FILE N

racestress runs a stress scenario on an unfixed and a fixed finalizer registry
and compares them. Each trial runs in a child process; every trial's record is
appended to a results file before the next starts. Exit status: 0 when clean
registries showed no forbidden outcome and controls were detected; 1 when a
clean registry failed; 3 when a control was never detected; 2 for usage
errors; 130 when interrupted.

flags:
`

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, usageHead)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if fs.Lookup("preset") != nil {
		fmt.Fprintln(w, "\npresets (--preset):")
		for _, p := range scenarios.Presets() {
			fmt.Fprintf(w, "  %-9s %s\n            %s\n", p.Name, p.Doc, scenarios.Describe(p.Knobs))
		}
	}
}

// parseFlags parses args into fs; help is not an error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return true, nil
		}
		return false, usageError("%v (see racestress -h)", err)
	}
	return false, nil
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
			return reportCmd(args[1:], stdout)
		case "replay":
			return replayCmd(ctx, args[1:], stdout, stderr)
		case "merge":
			return mergeCmd(args[1:], stdout)
		case "gate":
			return gateCmd(ctx, args[1:], stdout, stderr)
		}
	}
	var o options
	fs := newFlagSet(&o)
	if err := o.parse(fs, args, stdout); err != nil || o.help {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	return execute(ctx, &o, cfg, nil, stdout, stderr)
}

// parse parses args into o, including the KEY=V1,V2 arguments that continue
// a --sweep, and notes which flags were set.
func (o *options) parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	for {
		help, err := parseFlags(fs, args, stdout)
		if help || err != nil {
			o.help = help
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		if len(o.sweep) == 0 || !strings.Contains(fs.Arg(0), "=") || strings.HasPrefix(fs.Arg(0), "-") {
			return usageError("unknown command %q (see racestress -h)", fs.Arg(0))
		}
		if err := o.sweep.Set(fs.Arg(0)); err != nil {
			return usageError("--sweep: %v", err)
		}
		args = fs.Args()[1:]
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		o.set[f.Name] = true
		switch f.Name {
		case "seed":
			o.seedSet = true
		case "runs", "count":
			o.runsSet = true
		case "control":
			o.controlSet = true
		case "clean":
			o.cleanSet = true
		}
	})
	return nil
}

// execute runs cfg (or only specs, when given), streaming records to the
// results file, then renders the summary and returns the verdict.
func execute(ctx context.Context, o *options, cfg harness.Config, specs []harness.Spec, stdout, stderr io.Writer) error {
	if err := o.checkRunFlags(); err != nil {
		return err
	}
	path := o.out
	if path == "" {
		path = filepath.Join(harness.RunDir("racestress-out", time.Now()), "results.jsonl")
	}
	results, err := harness.CreateResults(path)
	if err != nil {
		return &exitError{code: 1, msg: "results file: " + err.Error()}
	}
	defer results.Close()
	exec, err := o.executor(ctx, filepath.Dir(path))
	if err != nil {
		return err
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
	controls := controlsOf(o)
	adm := newAdmission(o, controls, time.Now)
	cfg.Admit = adm.admit
	terminal := isTerminal(stderr)
	var progress *report.Progress
	if !o.quiet {
		fmt.Fprintf(stderr, "racestress: %s, results in %s\n", plannedText(planned, o.budget), path)
		progress = report.NewProgress(stderr, planned, terminal, time.Now)
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		go func() {
			for range ticker.C {
				progress.Tick()
			}
		}()
	}
	cfg.OnRecord = func(r result.Record) error {
		if err := results.Append(r); err != nil {
			return fmt.Errorf("results file: %w", err)
		}
		adm.record(r)
		if progress != nil {
			// Each unexpected failure gets a line and the head of its log, as
			// in x/tools stress; a control's expected detections only count.
			if r.Detected && !slices.Contains(controls, r.Registry) {
				progress.Above(statusLine(r) + "\n" + logHead(r))
			}
			progress.Add(r)
		}
		return nil
	}
	seq := harness.Schedule(cfg)
	if specs != nil {
		seq = slices.Values(specs)
	}
	records, runErr := harness.RunSpecs(ctx, cfg, seq)
	if progress != nil {
		progress.Done()
	}
	sum := report.Summarize(records).WithControls(controlsOf(o))
	if err := render(stdout, o.format, sum); err != nil {
		return err
	}
	if o.format == "table" || o.format == "markdown" {
		fmt.Fprintf(stdout, "results: %s (re-render: racestress report FILE; replay trial N: racestress replay FILE N)\n", path)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, msg: fmt.Sprintf("interrupted after %d trials; results in %s", len(records), path)}
		}
		return runErr
	}
	if len(records) == 0 {
		return &exitError{code: 1, msg: "no trial ran (is --budget shorter than one trial?)"}
	}
	if o.gate {
		return gateVerdict(stdout, sum, o)
	}
	return verdict(sum, controlsOf(o))
}

func plannedText(planned int, budget time.Duration) string {
	switch {
	case planned > 0 && budget > 0:
		return fmt.Sprintf("up to %d trials within %v", planned, budget)
	case planned > 0:
		return fmt.Sprintf("%d trials", planned)
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

// admission implements --budget and --failfast.
type admission struct {
	budget   time.Duration
	failfast bool
	controls []string
	now      func() time.Time
	start    time.Time

	mu     sync.Mutex
	failed map[[2]string]bool // groups (registry, cell) with a forbidden outcome
	groups map[[2]string]bool
}

func newAdmission(o *options, controls []string, now func() time.Time) *admission {
	return &admission{budget: o.budget, failfast: o.failfast, controls: controls, now: now, start: now(),
		failed: map[[2]string]bool{}, groups: map[[2]string]bool{}}
}

func (a *admission) admit(s harness.Spec) harness.Admission {
	if a.budget > 0 && a.now().Sub(a.start)+s.Knobs.Duration() > a.budget {
		return harness.Stop
	}
	if !a.failfast || slices.Contains(a.controls, s.Registry) {
		return harness.Start
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := [2]string{s.Registry, s.Cell}
	a.groups[key] = true
	if !a.failed[key] {
		return harness.Start
	}
	for g := range a.groups {
		if !a.failed[g] && !slices.Contains(a.controls, g[0]) {
			return harness.Skip
		}
	}
	return harness.Stop // every group that could still fail has failed
}

func (a *admission) record(r result.Record) {
	if r.Detected {
		a.mu.Lock()
		a.failed[[2]string{r.Registry, r.Cell}] = true
		a.mu.Unlock()
	}
}

// controlsOf returns the control registries of a run.
func controlsOf(o *options) []string { return splitList(o.control) }

func (o *options) checkRunFlags() error {
	switch {
	case o.isolate != "process" && o.isolate != "none":
		return usageError("--isolate must be process or none, got %q", o.isolate)
	case o.timeout < 0:
		return usageError("--timeout must not be negative, got %v", o.timeout)
	case o.parallel < 1:
		return usageError("--parallel must be at least 1, got %d", o.parallel)
	case o.race && o.isolate == "none":
		return usageError("--race needs --isolate process")
	case !slices.Contains(report.Formats, o.format):
		return usageError("--format must be one of %s, got %q", strings.Join(report.Formats, ", "), o.format)
	case o.budget < 0:
		return usageError("--budget must not be negative, got %v", o.budget)
	}
	if _, err := parseSize(o.memoryLimit); err != nil {
		return usageError("--memory-limit: %v", err)
	}
	for _, name := range splitList(o.control) {
		if _, ok := finalizer.Lookup(name); !ok {
			return usageError("--control: unknown registry %q (have %s)", name, strings.Join(variantNames(), ", "))
		}
	}
	return nil
}

func (o *options) executor(ctx context.Context, logDir string) (harness.Executor, error) {
	if o.isolate == "none" {
		return harness.InProcess{Hook: chaosHook}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locating the worker binary: %w", err)
	}
	limit, _ := parseSize(o.memoryLimit)
	p := harness.Process{Path: self, Args: []string{harness.WorkerArg}, MemoryLimit: limit, LogDir: logDir}
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
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := s, int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive size like 512MiB, got %q", s)
	}
	return n * mult, nil
}

func (o *options) config() (harness.Config, error) {
	var cfg harness.Config
	preset, err := scenarios.LookupPreset(o.preset)
	if err != nil {
		return cfg, usageError("--preset: %v", err)
	}
	// Start from the preset; flags given on the command line override it.
	k := preset.Knobs
	if o.set == nil || !o.set["threads"] {
		o.threads = k.Threads
	}
	if o.set == nil || !o.set["seconds"] {
		o.seconds = k.Seconds
	}
	if o.set == nil || !o.set["gogc"] {
		o.gogc = k.GOGC
	}
	if o.set == nil || !o.set["sleep-scale"] {
		o.sleepScale = k.SleepScale
	}
	if o.set == nil || !o.set["chaos"] {
		o.chaos = k.Chaos
	}
	if _, err := scenarios.ResolveChaos(o.chaos, 1); err != nil {
		return cfg, usageError("--chaos: %v", err)
	}
	switch {
	case o.threads < 2:
		return cfg, usageError("--threads must be at least 2 (one maker and one runner), got %d", o.threads)
	case !(o.seconds > 0):
		return cfg, usageError("--seconds must be positive, got %g", o.seconds)
	case o.runs < 1:
		return cfg, usageError("--runs must be at least 1, got %d", o.runs)
	case o.procs < 0:
		return cfg, usageError("--procs must not be negative, got %d", o.procs)
	case o.gogc < 1:
		return cfg, usageError("--gogc must be at least 1 (the scenario needs the GC running), got %d", o.gogc)
	case !(o.sleepScale >= 0):
		return cfg, usageError("--sleep-scale must be 0 or more, got %g", o.sleepScale)
	}
	sc, err := scenarios.Lookup(o.scenario)
	if err != nil {
		return cfg, usageError("--scenario: %v", err)
	}
	regs, err := parseRegistries(o.registries, o.isolate)
	if err != nil {
		return cfg, err
	}
	k.Threads = o.threads
	k.Makers, k.Runners = scenarios.SplitThreads(o.threads)
	k.Seconds, k.GOGC, k.SleepScale = o.seconds, o.gogc, o.sleepScale
	k.KeepGoing, k.Reentrant, k.Procs, k.Chaos = o.keepGoing, o.reentrant, o.procs, o.chaos
	seed := o.seed
	if !o.seedSet {
		seed = rand.Int64N(1 << 40)
	}
	shard, err := parseShard(o.shard)
	if err != nil {
		return cfg, usageError("--shard: %v", err)
	}
	if o.shard != "" && !o.seedSet {
		return cfg, usageError("--shard needs --seed, so that every shard runs its part of the same trials")
	}
	runs := o.runs
	if o.budget > 0 && !o.runsSet {
		runs = -1 // as many rounds as the budget allows
	}
	if o.budget > 0 && o.budget < k.Duration() {
		return cfg, usageError("--budget %v is shorter than one trial (--seconds %g)", o.budget, o.seconds)
	}
	var cells []harness.Cell
	if len(o.sweep) > 0 {
		cells = o.sweep.cells(k)
	}
	return harness.Config{Scenario: sc, Registries: regs, Runs: runs, Seed: seed, Knobs: k, Cells: cells, Shard: shard}, nil
}

func parseRegistries(list, isolate string) ([]finalizer.Variant, error) {
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
		if (name == "racy" || name == "locked") && isolate == "none" {
			return nil, usageError("--registry %s kills or hangs its process: it needs --isolate process", name)
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
	fmt.Fprintln(w, "presets:")
	for _, p := range scenarios.Presets() {
		fmt.Fprintf(w, "  %-16s %s\n", p.Name, scenarios.Describe(p.Knobs))
	}
	return nil
}

func render(w io.Writer, format string, s report.Summary) error {
	return report.Render(w, format, s)
}

func statusLine(r result.Record) string {
	what := string(r.Outcome)
	if r.Detected {
		what += " after " + report.FormatDuration(r.TTFF())
		if r.FirstError != "" {
			what += ": " + r.FirstError
		}
	}
	name := r.Scenario + "/" + r.Registry
	if r.Cell != "" {
		name += " [" + r.Cell + "]"
	}
	return fmt.Sprintf("racestress: trial %d %s seed %d: %s", r.Trial, name, r.Seed, what)
}

// headBytes is how much of a failed child's log the console shows.
const headBytes = 2048

// logHead returns the path and the first 2 KiB of a failed trial's child
// log, indented, or "" when there is none to show.
func logHead(r result.Record) string {
	if r.Process == nil || r.Process.Log == "" || r.Outcome == result.OK {
		return ""
	}
	b, err := os.ReadFile(r.Process.Log)
	if err != nil {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "    log: %s", r.Process.Log)
	if r.Process.Dump != "" {
		fmt.Fprintf(&sb, "  goroutine dump: %s", r.Process.Dump)
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

// verdict turns a summary into the exit status: 1 when a registry that is
// not a control showed a forbidden outcome, else 3 when a control was never
// detected.
func verdict(s report.Summary, controls []string) error {
	var failed, powerless []string
	for _, g := range s.Groups {
		control := slices.Contains(controls, g.Registry)
		switch {
		case !control && g.Detected > 0:
			failed = append(failed, fmt.Sprintf("%s/%s showed forbidden outcomes in %d of %d trials", g.Scenario, g.Registry, g.Detected, g.Runs))
		case control && g.Detected == 0:
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

// reportCmd re-renders a saved results file.
func reportCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("racestress report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("report needs one results FILE, got %d arguments", fs.NArg())
	}
	if !slices.Contains(report.Formats, *format) {
		return usageError("--format must be one of %s, got %q", strings.Join(report.Formats, ", "), *format)
	}
	records, warnings, err := harness.ReadResultsFile(fs.Arg(0))
	if err != nil {
		return usageError("report: %s: %v", fs.Arg(0), err)
	}
	sum := report.Summarize(records)
	sum.Warnings = append(warnings, sum.Warnings...)
	return render(stdout, *format, sum)
}

// replayCmd reruns one trial of a saved run with its recorded seed and knobs.
func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("racestress replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addRunFlags(fs, &o)
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError("replay needs a results FILE and a trial number N")
	}
	n, err := strconv.Atoi(fs.Arg(1))
	if err != nil {
		return usageError("replay: trial number %q is not a number", fs.Arg(1))
	}
	records, _, err := harness.ReadResultsFile(fs.Arg(0))
	if err != nil {
		return usageError("replay: %s: %v", fs.Arg(0), err)
	}
	i := slices.IndexFunc(records, func(r result.Record) bool { return r.Trial == n })
	if i < 0 {
		return usageError("replay: %s has no trial %d", fs.Arg(0), n)
	}
	rec := records[i]
	sc, err := scenarios.Lookup(rec.Scenario)
	if err != nil {
		return usageError("replay: %v", err)
	}
	reg, ok := finalizer.Lookup(rec.Registry)
	if !ok {
		return usageError("replay: unknown registry %q", rec.Registry)
	}
	if (reg.Name == "racy" || reg.Name == "locked") && o.isolate == "none" {
		return usageError("replay: registry %s needs --isolate process", reg.Name)
	}
	cfg := harness.Config{Scenario: sc, Registries: []finalizer.Variant{reg}, Runs: 1, Seed: rec.Seed, Knobs: rec.Knobs}
	spec := harness.Spec{Trial: rec.Trial, Scenario: rec.Scenario, Registry: rec.Registry, Seed: rec.Seed, Knobs: rec.Knobs}
	return execute(ctx, &o, cfg, []harness.Spec{spec}, stdout, stderr)
}
