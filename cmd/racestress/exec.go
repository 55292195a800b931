package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/stress"
)

// Defaults of racestress exec and gotest.
const (
	// execDefaultRuns is the number of rounds when neither --runs nor
	// --budget is given: enough to bound a clean command's failure rate
	// below 3% at 95% (1 - 0.05^(1/100) = 2.95%).
	execDefaultRuns = 100
	// execDefaultTimeout is the watchdog, as go test's -timeout.
	execDefaultTimeout = 10 * time.Minute
)

// execOptions are what racestress exec and gotest add to a run's options.
type execOptions struct {
	env      multiFlag
	failOn   string
	ignore   string
	grace    time.Duration
	logAll   bool
	maxFails int
	targets  []harness.ExecTarget // --control and --clean, in the order given
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, " ") }
func (f *multiFlag) Set(s string) error { *f = append(*f, s); return nil }

// roleFlag collects --control or --clean NAME=COMMAND with its role, in
// the order given: the order of the trials in every round.
type roleFlag struct {
	list *[]harness.ExecTarget
	role result.Role
}

func (f roleFlag) String() string { return "" }

func (f roleFlag) Set(s string) error {
	t, err := stress.ParseTarget(s, f.role)
	if err != nil {
		return err
	}
	*f.list = append(*f.list, t)
	return nil
}

// addExecFlags defines the flags exec and gotest share: how many trials,
// how they run, their limits and the verdict.
func addExecFlags(fs *flag.FlagSet, o *options, x *execOptions) {
	fs.IntVar(&o.runs, "runs", execDefaultRuns, "run `N` rounds: each runs every command once, in the order given")
	fs.IntVar(&o.runs, "count", execDefaultRuns, "the same as --runs, named as in go test")
	fs.Int64Var(&o.seed, "seed", 0, "seed round 0 with `S` and round i with S+i, given to each command as RACESTRESS_SEED (default: random)")
	fs.DurationVar(&o.budget, "budget", 0, "start no trial after `D` of wall-clock time (with no --runs/--count: as many rounds as fit)")
	fs.BoolVar(&o.failfast, "failfast", false, "stop running a clean command after its first failure (controls keep running)")
	fs.IntVar(&x.maxFails, "max-fails", 0, "stop the run after `N` failures of clean commands (0: no limit)")
	fs.IntVar(&o.parallel, "parallel", 1, "run `P` trials at once; on few cores parallel trials change each other's timing")
	fs.StringVar(&o.shard, "shard", "", "run only shard `K/N` of the rounds (needs --seed; merge shards with racestress merge)")
	fs.DurationVar(&o.timeout, "timeout", execDefaultTimeout, "watchdog: a trial still running after `D` gets SIGQUIT (a Go program dumps its goroutines), then SIGKILL; 0: none")
	fs.DurationVar(&x.grace, "grace", 0, "time between the watchdog's SIGQUIT and SIGKILL (default 2s)")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "give each trial GOMEMLIMIT=`SIZE` (e.g. 512MiB) and kill it when its processes' resident set passes twice that")
	fs.StringVar(&x.failOn, "fail-on", "", "fail a trial whose output matches `REGEX`, even when it exits 0")
	fs.StringVar(&x.ignore, "ignore", "", "count a failed trial whose output matches `REGEX` as passed, as stress -ignore")
	fs.Var(&x.env, "env", "add `KEY=V` to every command's environment; repeatable")
	fs.BoolVar(&x.logAll, "log-all", false, "keep the output of every trial, not only of failed ones")
	fs.StringVar(&o.out, "out", "", "write results to the new `FILE` (default racestress-out/<time>/results.jsonl); logs go beside it")
	fs.StringVar(&o.format, "format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	fs.BoolVar(&o.quiet, "quiet", false, "print no progress and per-failure lines on stderr")
	fs.BoolVar(&o.gate, "gate", false, "gate CI on the run: every control must be caught with --min-power, and a run with no control fails")
	fs.Float64Var(&o.minPower, "min-power", 0, fmt.Sprintf("with --gate, the lowest acceptable lower 95%% bound of a control's failure rate, `P` (default %g with --gate)", stress.DefaultMinPower))
}

const execUsage = `usage: racestress exec [flags] [--] CMD ARGS...
       racestress exec [flags] --control 'NAME=COMMAND' --clean 'NAME=COMMAND' [--] [CMD ARGS...]

exec runs a command as trials, round after round, and reports its failure
rate with an exact 95% interval, the runs needed to see a failure, time to
failure (Kaplan-Meier over the trials' wall time), and its failures grouped
by signature. A command given after the flags is clean: it must never fail.
To compare two builds, give each with --control (the build with the bug: it
must be caught) and --clean (the fixed build): they run interleaved, round by
round, and the report states the fix's effect; --gate makes the run a CI gate.
COMMAND is split into words as a shell would for simple quoting ('...',
"...", \), without running a shell; NAME= is optional (default: the
program's base name).

Each trial sees RACESTRESS_TRIAL (its number) and RACESTRESS_SEED in its
environment. A trial's outcome: exit 0 ok, another status fail, killed by a
signal crash, the watchdog hang; a race report data-race, a Go runtime fatal
error fatal, an unrecovered Go panic panic. Replay a trial with
racestress replay FILE N.

exit status: 0 pass; 1 a clean command failed; 3 a control was not caught
with the required power (with --gate, or no control ran); 4 invalid (a
command could not start, results not writable); 2 usage; 130 interrupted.

flags:
`

const gotestUsage = `usage: racestress gotest [flags] [-race] [-run RE] [go test build flags] PKG [-- TEST BINARY ARGS]

gotest builds PKG's test binary once (go test -c, into the run's folder) and
runs it as trials, each with -test.run RE -test.count=1 -test.v=test2json in
the package's folder, as go test would. Its statistics, limits and exit
status are racestress exec's; a failure's signature names the failing test.
--timeout is passed to the test binary as -test.timeout (its alarm names the
tests that hung); the watchdog fires 5s later.

flags (the go test build flags -race, -tags, -ldflags, -gcflags, -asmflags,
-cover, -covermode, -coverpkg, -mod, -modfile, -overlay, -pgo, -trimpath,
-msan, -asan, -a, -buildvcs are passed to go test -c):
`

func printExecUsage(w io.Writer, head string, fs *flag.FlagSet) {
	fmt.Fprint(w, head)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// execCmd is racestress exec and racestress gotest.
func execCmd(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	if name == "gotest" {
		return gotestCmd(ctx, args, stdout, stderr)
	}
	var o options
	x := &execOptions{}
	fs := newBareFlagSet("racestress exec")
	addExecFlags(fs, &o, x)
	fs.Var(roleFlag{&x.targets, result.Control}, "control", "run `NAME=COMMAND` as a control: it has the bug and must be caught (fail); repeatable")
	fs.Var(roleFlag{&x.targets, result.Clean}, "clean", "run `NAME=COMMAND` as clean: it must never fail; repeatable")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printExecUsage(stdout, execUsage, fs)
			return nil
		}
		return usageError("exec: %v (see racestress exec -h)", err)
	}
	targets := slices.Clone(x.targets)
	if cmdline := fs.Args(); len(cmdline) > 0 {
		targets = append(targets, harness.ExecTarget{Role: result.Clean, Argv: cmdline})
	}
	if o.out == "" {
		o.out = stress.DefaultResultsPath(time.Now())
	}
	cmdline := append([]string{"racestress", "exec"}, args...)
	return x.runTargets(ctx, &o, fs, cmdline, targets, nil, stdout, stderr)
}

// runTargets configures and runs targets with the flags set in fs: the
// commands' limits, the rounds, the verdict.
func (x *execOptions) runTargets(ctx context.Context, o *options, fs *flag.FlagSet, cmdline []string, targets []harness.ExecTarget, gotest *harness.GoTestBuild, stdout, stderr io.Writer) error {
	set := given(fs)
	cfg := stress.Config{
		Exec: &stress.Exec{Targets: targets, Env: x.env, FailOn: x.failOn, Ignore: x.ignore, Grace: x.grace, LogAll: x.logAll, GoTest: gotest},
		Runs: o.runs, RunsSet: set["runs"] || set["count"], Seed: o.seed, SeedSet: set["seed"], Shard: o.shard,
		Budget: o.budget, Failfast: o.failfast, MaxFails: x.maxFails, Timeout: o.timeout, MemoryLimit: o.memoryLimit,
		Parallel: o.parallel, Out: o.out, Args: cmdline, Gate: o.gate, MinPower: o.minPower, MinPowerSet: set["min-power"],
	}
	plan, err := stress.Prepare(cfg)
	if err != nil {
		return fromStress(err)
	}
	if err := checkFormat(o.format); err != nil {
		return err
	}
	return execute(ctx, plan, o.format, o.quiet, stdout, stderr)
}

// goBuildFlags are the go test build flags gotest passes to go test -c:
// those taking a value, and the boolean ones.
var (
	goBuildValueFlags = []string{"tags", "ldflags", "gcflags", "asmflags", "covermode", "coverpkg", "mod", "modfile", "overlay", "pgo", "buildvcs"}
	goBuildBoolFlags  = []string{"race", "cover", "trimpath", "msan", "asan", "a"}
)

// goFlag is a go test flag passed through as -name=value.
type goFlag struct {
	name   string
	isBool bool
	into   *[]string
}

func (f goFlag) String() string   { return "" }
func (f goFlag) IsBoolFlag() bool { return f.isBool }
func (f goFlag) Set(v string) error {
	if f.isBool && v != "true" && v != "false" {
		return fmt.Errorf("want true or false, got %q", v)
	}
	*f.into = append(*f.into, "-"+f.name+"="+v)
	return nil
}

// gotestCmd is racestress gotest.
func gotestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	x := &execOptions{}
	fs := newBareFlagSet("racestress gotest")
	addExecFlags(fs, &o, x)
	var build []string
	for _, n := range goBuildValueFlags {
		fs.Var(goFlag{name: n, into: &build}, n, "go test -c -"+n+" `VALUE`")
	}
	for _, n := range goBuildBoolFlags {
		fs.Var(goFlag{name: n, isBool: true, into: &build}, n, "go test -c -"+n)
	}
	g := stress.GoTestPackage{}
	var role string
	fs.StringVar(&role, "role", string(result.Clean), "the package's `ROLE`: clean (its tests must never fail) or control (they have the bug and must be caught)")
	fs.StringVar(&g.Run, "run", "", "run only the tests matching `RE` (-test.run)")
	fs.StringVar(&g.Skip, "skip", "", "skip the tests matching `RE` (-test.skip)")
	fs.StringVar(&g.CPU, "cpu", "", "run the tests with each GOMAXPROCS in the comma-separated `LIST` (-test.cpu)")
	fs.BoolVar(&g.Short, "short", false, "run the tests with -test.short")
	pos, extra, help, err := parseGoTestArgs(fs, args)
	if help {
		printExecUsage(stdout, gotestUsage, fs)
		return nil
	}
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("gotest needs one package, got %d arguments (%s)", len(pos), strings.Join(pos, " "))
	}
	g.Package, g.BuildFlags, g.Role, g.Args = pos[0], build, result.Role(role), extra
	if o.out == "" {
		o.out = stress.DefaultResultsPath(time.Now())
	}
	target, gt, err := stress.GoTest(ctx, g, o.out, o.timeout)
	if err != nil {
		return fromStress(err)
	}
	cmdline := append([]string{"racestress", "gotest"}, args...)
	return x.runTargets(ctx, &o, fs, cmdline, []harness.ExecTarget{target}, gt, stdout, stderr)
}

// parseGoTestArgs parses gotest's arguments: flags before and after the
// package, and after a "--" the test binary's own arguments.
func parseGoTestArgs(fs *flag.FlagSet, args []string) (pos, extra []string, help bool, err error) {
	if i := slices.Index(args, "--"); i >= 0 {
		args, extra = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, true, nil
			}
			return nil, nil, false, usageError("gotest: %v (see racestress gotest -h)", err)
		}
		if fs.NArg() == 0 {
			return pos, extra, false, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
