// Package stress is racestress's run library: it turns a configuration
// into a run. A Config names the targets (a scenario's subjects, or
// external commands), their roles, the knobs and sweep, the seed, shard
// and budget, the isolation and limits, and the verdict policy. Prepare
// checks it once, every bound included, and returns a Plan; Plan.Run runs
// the trials through the engine (package harness), writes every record to
// the results file as soon as its trial ends, keeps the failed trials'
// logs beside it, and returns the records, the results header and the
// summary the verdict is read from. Replay reruns one trial of a saved run
// through the same path; Load and Merge read saved runs with the verdict
// policy they recorded.
//
// The racestress command is flags, a Config, a Plan's run and a
// rendering; stresstest.Verify is a Config too. The rules of a run are
// written here once.
package stress

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// Config is what a run is. Its fields are the racestress command's flags;
// messages about a field name its flag.
type Config struct {
	// Scenario names a registered scenario (scenarios.Lookup); Declared,
	// when set, is the scenario itself instead (a user's own).
	Scenario string
	Declared *scenarios.Scenario
	// Registries names the subjects to run (--registry); nil runs the
	// scenario's defaults and every subject given a role by Control or
	// Clean. Subjects, when set, are the subjects themselves, with their
	// roles, instead (a user's own registries).
	Registries []string
	Subjects   []scenarios.Subject
	// Control and Clean override the roles the scenario declares.
	Control, Clean []string
	// Exec, when set, makes the run's targets external commands (racestress
	// exec and gotest) instead of a scenario's subjects.
	Exec *Exec

	// Preset names the scenario's preset the knobs start from (its first
	// when ""); Knobs, when set, are the knobs to start from instead. A
	// Preset that names a file (see IsPresetFile) is a tuned preset
	// (racestress tune): the run takes its target's settings, which must
	// be this run's, and its header records it.
	Preset string
	Knobs  *result.Knobs
	// Set are knob settings over those, applied in order.
	Set Settings
	// KeepGoing keeps a trial running after its first forbidden outcome.
	KeepGoing bool
	// Sweep are the swept dimensions; Cells, when set, are the cells
	// themselves instead.
	Sweep Dims
	Cells []harness.Cell

	// Runs is the number of rounds when RunsSet, or when Budget is 0 (the
	// command's default; a scenario's gate runs DefaultGateRuns); with a
	// Budget and no RunsSet, rounds run until the budget is spent.
	Runs    int
	RunsSet bool
	// Seed is round 0's seed when SeedSet; otherwise a random one.
	Seed    int64
	SeedSet bool
	// Shard, "K/N", runs only that part of the rounds.
	Shard string
	// Budget stops starting trials that would end after it.
	Budget time.Duration
	// Failfast stops a clean group at its first failure; MaxFails (exec
	// runs) stops the run after that many failures of clean subjects.
	Failfast bool
	MaxFails int

	// Isolation is how trials run: "none" (in this process), "process"
	// (a child per trial) or "pool" (warm children); Race runs children
	// under the race detector. Executor, when set, runs the trials
	// instead (and Isolation only names what it does).
	Isolation string
	Race      bool
	Executor  harness.Executor
	// PoolTrials recycles a pool worker after that many trials.
	PoolTrials int
	// Timeout is the watchdog: for a scenario, 0 is harness.DefaultTimeout
	// and a set one is at least a trial plus harness.MinTimeoutSlack; for
	// commands, 0 is none.
	Timeout time.Duration
	// MemoryLimit bounds each child's memory, e.g. "512MiB" ("": none).
	MemoryLimit string
	// Parallel is the number of trials run at once.
	Parallel int

	// Out is the results file, which must not exist; "" keeps the records
	// in memory only (and no logs). Args is the command line the results
	// header records.
	Out  string
	Args []string
	// Given names the flags given on the command line, by name without
	// dashes: a tuned preset does not replace what they set (scenario,
	// isolate).
	Given map[string]bool

	// Gate makes the run a CI gate: a run with no control fails, and
	// MinPower is DefaultMinPower unless MinPowerSet. RequireControl asks
	// the first alone. MinPower is the lowest acceptable lower 95% bound
	// of a control's detection rate.
	Gate           bool
	RequireControl bool
	MinPower       float64
	MinPowerSet    bool
	// MinEffect, when set (at least 1), is the effect gate: every clean
	// subject must be shown to fail at most 1/MinEffect as often per trial
	// as a control of its scenario and cell (report.EffectTest), which a
	// run can show even for a control caught in a few percent of trials.
	// It replaces MinPower's per-trial bound unless MinPowerSet; with a
	// Budget and no Runs, the run stops as soon as every clean subject's
	// effect is decided.
	MinEffect float64
}

// Setting sets knob Knob to Value; From names where it was given (a flag
// name) for its error message.
type Setting struct {
	Knob, Value, From string
}

// Settings are knob settings. As a flag.Value, --knob NAME=V (repeatable),
// each is From "knob".
type Settings []Setting

// String prints the settings as "NAME=V NAME2=V2".
func (s *Settings) String() string {
	var parts []string
	for _, kv := range *s {
		parts = append(parts, kv.Knob+"="+kv.Value)
	}
	return strings.Join(parts, " ")
}

// Set adds the setting NAME=V.
func (s *Settings) Set(arg string) error {
	name, v, ok := strings.Cut(arg, "=")
	if !ok || name == "" || v == "" {
		return fmt.Errorf("want NAME=V, got %q", arg)
	}
	*s = append(*s, Setting{Knob: name, Value: v, From: "knob"})
	return nil
}

// Exec is what a run of external commands adds to a Config.
type Exec struct {
	// Targets are the commands with their roles, in the order each round
	// runs them (see ParseTarget); a target's Env is set from Env. Unless
	// GoTest is set, a target without a name is named after its program,
	// one without a folder runs in the working directory, and its program
	// must be found.
	Targets []harness.ExecTarget
	// Env is added to every command's environment (KEY=V each).
	Env []string
	// FailOn and Ignore are regular expressions over a trial's output.
	FailOn, Ignore string
	// Grace is the time between the watchdog's SIGQUIT and SIGKILL.
	Grace time.Duration
	// LogAll keeps every trial's log, not only the failed ones'.
	LogAll bool
	// GoTest, when set, is the test binary the target runs (racestress
	// gotest; see GoTest): Plan.Run builds it first, the binary gets
	// Timeout as -test.timeout and the watchdog waits GoTestBackstop
	// longer.
	GoTest *harness.GoTestBuild
	// GoTests, set instead of GoTest, are the builds of a comparison of
	// trees, one a target in the targets' order.
	GoTests []harness.GoTestBuild
	// Batch is the iterations each test process runs (-test.count), for a
	// Go test run: its trials are iterations, read one at a time from a
	// warm process (harness.Batches); 0 is DefaultBatch, 1 one process
	// per iteration. Runs then counts iterations of each subject, rounded
	// up to whole batches.
	Batch int
}

// DefaultBatch is a Go test run's iterations per process: a test body of
// a few milliseconds runs at a test binary's own pace rather than at a
// process start's (100-270 ms for a race-enabled test binary).
const DefaultBatch = 100

// MaxBatch bounds Exec.Batch.
const MaxBatch = 100_000

// Bounds of a configuration: far outside them a run says nothing true.
const (
	MaxRuns     = 1_000_000
	MaxParallel = 64
	MaxBudget   = 7 * 24 * time.Hour
	MaxTimeout  = 7 * 24 * time.Hour
	MaxGrace    = time.Hour
)

// DefaultMinPower is the gate's default MinPower: the lower 95% bound of
// the control's detection rate must reach 50%. At the default knobs the
// unfixed registry is detected in every trial (see README, Benchmarks), so
// six rounds already give a lower bound of 0.025^(1/6) = 54%; a 30 s budget
// runs about seven at --seconds 4. A control detected in at most half of its
// trials fails the gate: the harness has lost most of its power.
const DefaultMinPower = 0.5

// DefaultGateRuns is the rounds of a scenario's gate when neither Runs nor
// Budget is given.
const DefaultGateRuns = 10

// GoTestBackstop is how much longer than the test binary's own
// -test.timeout alarm (which names the running tests) the watchdog waits
// before it sends SIGQUIT itself.
const GoTestBackstop = 5 * time.Second

// Kind says what an Error is.
type Kind int

// The kinds of Error.
const (
	Usage       Kind = iota // the configuration cannot run (exit status 2)
	Invalid                 // the run cannot be judged (exit status 4)
	Interrupted             // the run was interrupted (exit status 130)
	NotCaught               // a tune caught no control at all (exit status 3)
)

// Error is why a configuration does not run, or a run is not judged by
// its verdict.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func usage(format string, args ...any) error {
	return &Error{Kind: Usage, Msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &Error{Kind: Invalid, Msg: fmt.Sprintf(format, args...)}
}

// Plan is a checked configuration, ready to run.
type Plan struct {
	cfg     Config
	engine  harness.Config
	verdict result.VerdictPolicy
	limit   int64            // the memory limit in bytes
	exec    *harness.ExecRun // the commands of an exec run
	specs   []harness.Spec   // when set, the only trials to run (a replay)
	replay  *result.Record   // the recorded trial a replay reruns
	// tuneExec, when set, makes the executor (a tune's confirmation,
	// whose cells run with their own isolation).
	tuneExec func(ctx context.Context, logDir string) (harness.Executor, error)
	// extra is added to an exec run's header Extra (a tune's cells).
	extra map[string]any
	// preset is the tuned preset the run takes its settings from, if any.
	preset *loadedPreset
}

// Prepare checks cfg, every bound, and returns the run it describes.
func Prepare(cfg Config) (*Plan, error) {
	p := &Plan{cfg: cfg}
	if err := p.applyPreset(); err != nil {
		return nil, err
	}
	if err := p.checkVerdict(); err != nil {
		return nil, err
	}
	if cfg.Exec != nil {
		if err := p.prepareExec(); err != nil {
			return nil, err
		}
	} else if err := p.prepareScenario(); err != nil {
		return nil, err
	}
	return p, p.checkLimits()
}

// checkVerdict sets the verdict policy: the gate requires a control and,
// unless given another or the effect gate, DefaultMinPower.
func (p *Plan) checkVerdict() error {
	c := &p.cfg
	if c.MinPowerSet && !c.Gate && c.Exec != nil {
		return usage("--min-power applies to --gate runs only")
	}
	if c.MinEffect != 0 && !(c.MinEffect >= 1 && c.MinEffect <= report.MaxMinEffect) {
		return usage("--min-effect must be between 1 and %g (the clean subject fails at most 1/R as often as the control), got %g", report.MaxMinEffect, c.MinEffect)
	}
	p.verdict = result.VerdictPolicy{MinPower: c.MinPower, RequireControl: c.Gate || c.RequireControl, MinEffect: c.MinEffect}
	if c.Gate && !c.MinPowerSet && c.MinEffect == 0 {
		p.verdict.MinPower = DefaultMinPower
	}
	if !(p.verdict.MinPower >= 0 && p.verdict.MinPower < 1) {
		return usage("--min-power must be in [0, 1), got %g", p.verdict.MinPower)
	}
	return nil
}

// prepareScenario resolves a scenario run: the scenario, its knobs and
// cells, its subjects with their roles, and its rounds.
func (p *Plan) prepareScenario() error {
	c := &p.cfg
	if c.Gate && !c.RunsSet && c.Budget == 0 {
		c.Runs = DefaultGateRuns
	}
	if c.Runs < 1 || c.Runs > MaxRuns {
		return usage("--runs must be between 1 and %d, got %d", MaxRuns, c.Runs)
	}
	sc := c.Declared
	if sc == nil {
		var err error
		if sc, err = scenarios.Lookup(c.Scenario); err != nil {
			return usage("--scenario: %v", err)
		}
	}
	k, err := p.knobs(sc)
	if err != nil {
		return err
	}
	subjects, err := p.subjects(sc)
	if err != nil {
		return err
	}
	seed, shard, runs, err := p.rounds()
	if err != nil {
		return err
	}
	cells := c.Cells
	if len(c.Sweep) > 0 {
		if cells, err = c.Sweep.Cells(sc, k); err != nil {
			return usage("--sweep: %v", err)
		}
	}
	for _, cell := range cells {
		if err := sc.CheckKnobs(cell.Knobs); err != nil {
			return usage("cell %q: %v", cell.Label, err)
		}
	}
	longest := k.Duration()
	for _, cell := range cells {
		longest = max(longest, cell.Knobs.Duration())
	}
	if c.Budget > 0 && c.Budget < longest {
		return usage("--budget %v is shorter than one trial (%v)", c.Budget, longest)
	}
	p.engine = harness.Config{Scenario: sc, Subjects: subjects, Runs: runs, Seed: seed, Knobs: k, Cells: cells, Shard: shard}
	return nil
}

// knobs returns the run's knobs: the preset's (or the scenario's declared
// defaults, or Knobs), then each setting, checked against the scenario's
// declaration.
func (p *Plan) knobs(sc *scenarios.Scenario) (result.Knobs, error) {
	c := &p.cfg
	preset, err := sc.Preset(c.Preset)
	if err != nil && c.Preset != "" {
		return result.Knobs{}, usage("--preset: %v", err)
	}
	k := sc.DefaultKnobsOf()
	switch {
	case c.Knobs != nil:
		k = *c.Knobs
	case err == nil:
		k = preset.Knobs
	}
	for _, s := range c.Set {
		if k, err = sc.SetKnob(k, s.Knob, s.Value); err != nil {
			return k, usage("--%s: %v", s.From, err)
		}
	}
	if c.KeepGoing {
		k.KeepGoing = true
	}
	if err := sc.CheckKnobs(k); err != nil {
		return k, usage("knobs: %v", err)
	}
	return k, nil
}

// subjects resolves Registries, Control and Clean against sc's declared
// subjects: the roles are the scenario's unless Control or Clean
// overrides them.
func (p *Plan) subjects(sc *scenarios.Scenario) ([]scenarios.Subject, error) {
	c := &p.cfg
	for _, n := range c.Control {
		if slices.Contains(c.Clean, n) {
			return nil, usage("%q cannot be both --clean and --control", n)
		}
	}
	given := c.Subjects
	names := c.Registries
	switch {
	case given != nil:
		names = nil
		for _, s := range given {
			names = append(names, s.Name)
		}
	case names == nil:
		names = slices.Clone(sc.Defaults)
		for _, n := range append(slices.Clone(c.Control), c.Clean...) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, usage("--registry: no subject named (have %s)", strings.Join(sc.SubjectNames(), ", "))
	}
	for _, n := range append(slices.Clone(c.Control), c.Clean...) {
		if !slices.Contains(names, n) {
			return nil, usage("subject %q is given a role but not run: add it to --registry", n)
		}
	}
	var out []scenarios.Subject
	for i, name := range names {
		var s scenarios.Subject
		if given != nil {
			s = given[i]
		} else {
			var err error
			if s, err = sc.Subject(name); err != nil {
				return nil, usage("--registry: %v", err)
			}
		}
		if slices.ContainsFunc(out, func(r scenarios.Subject) bool { return r.Name == name }) {
			return nil, usage("--registry: %q named twice", name)
		}
		if s.Crashes && c.Isolation == "none" && c.Executor == nil {
			return nil, usage("--registry %s kills or hangs its process: it needs --isolate process", name)
		}
		switch {
		case slices.Contains(c.Control, name):
			s = s.WithRole(result.Control)
		case slices.Contains(c.Clean, name):
			s = s.WithRole(result.Clean)
		}
		if !s.Role.Valid() {
			return nil, usage("subject %q has no role (want %s or %s)", name, result.Control, result.Clean)
		}
		out = append(out, s)
	}
	return out, nil
}

// rounds returns the run's seed (random when none is set), its shard and
// its rounds (-1: until the budget is spent). A shard needs a seed and a
// number of rounds, so that every shard runs its part of the same trials.
func (p *Plan) rounds() (seed int64, shard harness.Shard, runs int, err error) {
	c := &p.cfg
	seed = c.Seed
	if !c.SeedSet {
		seed = rand.Int64N(1 << 40)
	}
	if shard, err = ParseShard(c.Shard); err != nil {
		return 0, shard, 0, usage("--shard: %v", err)
	}
	runs = c.Runs
	if c.Budget > 0 && !c.RunsSet {
		runs = -1 // as many rounds as the budget allows
	}
	switch {
	case c.Shard != "" && !c.SeedSet:
		return 0, shard, 0, usage("--shard needs --seed, so that every shard runs its part of the same trials")
	case c.Shard != "" && runs < 0:
		return 0, shard, 0, usage("--shard needs --runs, so that every shard knows the run's rounds")
	}
	return seed, shard, runs, nil
}

// prepareExec resolves a run of commands: their environment, names and
// limits as the results header records them, and the rounds.
func (p *Plan) prepareExec() error {
	c, x := &p.cfg, p.cfg.Exec
	for _, kv := range x.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usage("--env: want KEY=V, got %q", kv)
		}
	}
	targets := slices.Clone(x.Targets)
	goTest := x.GoTest != nil || len(x.GoTests) > 0
	if !goTest {
		dir, err := os.Getwd()
		if err != nil {
			return invalid("exec: the working directory: %v", err)
		}
		if err := resolveTargets(targets, dir); err != nil {
			return err
		}
	}
	for i, t := range targets {
		if slices.ContainsFunc(targets[:i], func(u harness.ExecTarget) bool { return u.Name == t.Name }) {
			return usage("two commands are named %q: name them with NAME=COMMAND", t.Name)
		}
		targets[i].Env = slices.Clone(x.Env)
	}
	limit, err := ParseSize(c.MemoryLimit)
	if err != nil {
		return usage("--memory-limit: %v", err)
	}
	run := harness.ExecRun{
		Targets: targets, TimeoutNs: int64(c.Timeout), GraceNs: int64(x.Grace), MemoryLimit: limit,
		FailOn: x.FailOn, Ignore: x.Ignore, LogAll: x.LogAll, GoTest: x.GoTest, GoTests: x.GoTests,
	}
	if goTest && c.Timeout > 0 {
		run.TimeoutNs = int64(c.Timeout + GoTestBackstop)
	}
	if len(x.GoTests) > 0 && len(x.GoTests) != len(targets) {
		return usage("gotest: %d builds for %d targets", len(x.GoTests), len(targets))
	}
	// --runs is bounded as given, before batches turn it into rounds.
	switch {
	case c.Runs < 1 || c.Runs > MaxRuns:
		return usage("--runs must be between 1 and %d, got %d", MaxRuns, c.Runs)
	case c.MaxFails < 0 || c.MaxFails > MaxRuns:
		return usage("--max-fails must be between 0 (no limit) and %d, got %d", MaxRuns, c.MaxFails)
	case x.Grace < 0 || x.Grace > MaxGrace:
		return usage("--grace must be between 0 (default) and 1h, got %v", x.Grace)
	}
	switch batch := x.Batch; {
	case batch < 0 || batch > MaxBatch:
		return usage("--batch must be between 1 and %d, got %d", MaxBatch, batch)
	case !goTest && batch > 1:
		return usage("--batch applies to racestress gotest only: a command's iterations are its runs")
	case goTest:
		if batch == 0 {
			batch = DefaultBatch
		}
		batch = min(batch, c.Runs)
		if batch > 1 {
			if c.Parallel > 1 {
				return usage("--batch runs a subject's iterations in order in one process: use --parallel 1, or --batch 1")
			}
			run.Batch = batch
			c.Runs = (c.Runs + batch - 1) / batch // rounds of a batch each
		}
	}
	return p.useExecRun(run, nil)
}

// useExecRun makes run, the commands and limits of an exec run, the
// plan's targets; replay, when set, is the trial a replay reruns.
func (p *Plan) useExecRun(run harness.ExecRun, replay *result.Record) error {
	subjects, err := run.Subjects()
	if err != nil {
		if replay != nil {
			return usage("replay: %v", err)
		}
		return usage("%v", err)
	}
	p.exec = &run
	if replay != nil {
		p.engine = harness.Config{Scenario: harness.ExecScenario, Subjects: subjects, Runs: 1, Seed: replay.Seed, Extra: run.Extra()}
		return nil
	}
	seed, shard, runs, err := p.rounds()
	if err != nil {
		return err
	}
	p.engine = harness.Config{Scenario: harness.ExecScenario, Subjects: subjects, Runs: runs, Seed: seed, Shard: shard, Extra: run.Extra(), Batch: run.Batch}
	return nil
}

// checkLimits checks how the trials run: isolation, watchdog, memory
// limit, parallelism and budget.
func (p *Plan) checkLimits() error {
	c := &p.cfg
	if p.exec != nil {
		switch {
		case c.Timeout < 0 || c.Timeout > MaxTimeout:
			return usage("--timeout must be between 0 (no watchdog) and %v, got %v", MaxTimeout, c.Timeout)
		case c.Parallel < 1 || c.Parallel > MaxParallel:
			return usage("--parallel must be between 1 and %d, got %d", MaxParallel, c.Parallel)
		case c.Budget < 0 || c.Budget > MaxBudget:
			return usage("--budget must be between 0 and %v, got %v", MaxBudget, c.Budget)
		}
		return p.checkMemory(false)
	}
	switch {
	case c.Isolation != "process" && c.Isolation != "pool" && c.Isolation != "none":
		return usage("--isolate must be process, pool or none, got %q", c.Isolation)
	case c.PoolTrials < 1 || c.PoolTrials > MaxRuns:
		return usage("--pool-trials must be between 1 and %d, got %d", MaxRuns, c.PoolTrials)
	case c.Timeout < 0 || c.Timeout > MaxTimeout:
		return usage("--timeout must be between 0 (default) and %v, got %v", MaxTimeout, c.Timeout)
	case c.Parallel < 1 || c.Parallel > MaxParallel:
		return usage("--parallel must be between 1 and %d, got %d", MaxParallel, c.Parallel)
	case c.Race && c.Isolation == "none":
		return usage("--race needs --isolate process or pool")
	case c.Budget < 0 || c.Budget > MaxBudget:
		return usage("--budget must be between 0 and %v, got %v", MaxBudget, c.Budget)
	}
	if c.Timeout > 0 {
		longest := p.engine.Knobs
		for _, cell := range p.engine.Cells {
			if cell.Knobs.Seconds > longest.Seconds {
				longest = cell.Knobs
			}
		}
		if min := harness.MinTimeout(longest); c.Timeout < min {
			return usage("--timeout %v is shorter than a trial: it must be at least %v (the trial's %gs plus %v)", c.Timeout, min, longest.Seconds, harness.MinTimeoutSlack)
		}
	}
	return p.checkMemory(true)
}

// checkMemory parses the memory limit and checks it against the machine's
// memory and, for a scenario's trials (floor), the least a trial needs.
func (p *Plan) checkMemory(floor bool) error {
	s := p.cfg.MemoryLimit
	limit, err := ParseSize(s)
	if err != nil {
		return usage("--memory-limit: %v", err)
	}
	if floor && limit > 0 && limit < harness.MinMemoryLimit {
		return usage("--memory-limit %s is below the %d MiB a trial needs", s, harness.MinMemoryLimit>>20)
	}
	if mem := physicalMemory(); limit > 0 && mem > 0 && limit > mem {
		return usage("--memory-limit %s is more than the machine's %d MiB", s, mem>>20)
	}
	p.limit = limit
	return nil
}

// Engine returns the engine configuration the plan runs (without its
// executor, admission and record sink, which Run adds).
func (p *Plan) Engine() harness.Config { return p.engine }

// Verdict returns the verdict policy the run's header records.
func (p *Plan) Verdict() result.VerdictPolicy { return p.verdict }

// Planned returns the number of trials the plan runs, 0 when the budget
// decides.
func (p *Plan) Planned() int {
	switch {
	case p.specs != nil:
		return len(p.specs)
	case p.engine.Runs > 0:
		return len(harness.Plan(p.engine))
	}
	return 0
}

// Path returns the results file the plan writes, "" for none.
func (p *Plan) Path() string { return p.cfg.Out }

// Describe says how many trials the plan runs: "12 trials", "up to 12
// trials within 1m0s", "trials for 1m0s" or "no trials".
func (p *Plan) Describe() string {
	planned, budget := p.Planned(), p.cfg.Budget
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

// DefaultResultsPath is where a run started at now writes its results
// when no file is named: results.jsonl in a new folder of racestress-out.
func DefaultResultsPath(now time.Time) string {
	return filepath.Join(result.RunDir("racestress-out", now), "results.jsonl")
}

// ParseSize parses a byte size such as 512MiB, 1GiB, 64MB or 1000000; ""
// is 0 (no limit).
func ParseSize(s string) (int64, error) {
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

// physicalMemory returns the machine's memory in bytes, 0 when unknown.
// It is a variable so that tests can pin the machine.
var physicalMemory = func() int64 {
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

// SplitList splits a comma-separated list, such as --registry's, dropping
// blanks.
func SplitList(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
