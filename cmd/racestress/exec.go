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

// multiFlag is a repeatable string flag.
type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, " ") }
func (f *multiFlag) Set(s string) error { *f = append(*f, s); return nil }

// roleFlag collects --control or --clean values (exec's NAME=COMMAND,
// gotest's NAME=REV_OR_DIR) with their role, in the order given: the
// order of the trials in every round.
type roleFlag[T any] struct {
	list  *[]T
	role  result.Role
	parse func(string, result.Role) (T, error)
}

func (f roleFlag[T]) String() string { return "" }

func (f roleFlag[T]) Set(s string) error {
	v, err := f.parse(s, f.role)
	if err == nil {
		*f.list = append(*f.list, v)
	}
	return err
}

// addExecFlags defines the flags exec and gotest share: how many trials,
// how they run, their limits and the verdict.
func addExecFlags(fs *flag.FlagSet, o *options) {
	c, x := &o.cfg, &o.exec
	fs.IntVar(&c.Runs, "runs", execDefaultRuns, "run `N` rounds: each runs every command once, in the order given")
	fs.IntVar(&c.Runs, "count", execDefaultRuns, "the same as --runs, named as in go test")
	fs.Int64Var(&c.Seed, "seed", 0, "seed round 0 with `S` and round i with S+i, given to each command as RACESTRESS_SEED (default: random)")
	fs.DurationVar(&c.Budget, "budget", 0, "start no trial after `D` of wall-clock time (with no --runs/--count: as many rounds as fit)")
	fs.BoolVar(&c.Failfast, "failfast", false, "stop running a clean command after its first failure (controls keep running)")
	fs.IntVar(&c.MaxFails, "max-fails", 0, "stop the run after `N` failures of clean commands (0: no limit)")
	fs.IntVar(&c.Parallel, "parallel", 1, "run `P` trials at once; on few cores parallel trials change each other's timing")
	fs.StringVar(&c.Shard, "shard", "", "run only shard `K/N` of the rounds (needs --seed; merge shards with racestress merge)")
	fs.DurationVar(&c.Timeout, "timeout", execDefaultTimeout, "watchdog: a trial still running after `D` gets SIGQUIT (a Go program dumps its goroutines), then SIGKILL; 0: none")
	fs.DurationVar(&x.Grace, "grace", 0, "time between the watchdog's SIGQUIT and SIGKILL (default 2s)")
	fs.StringVar(&c.MemoryLimit, "memory-limit", "", "give each trial GOMEMLIMIT=`SIZE` (e.g. 512MiB) and kill it when its processes' resident set passes twice that")
	fs.StringVar(&x.FailOn, "fail-on", "", "fail a trial whose output matches `REGEX`, even when it exits 0")
	fs.StringVar(&x.Ignore, "ignore", "", "count a failed trial whose output matches `REGEX` as passed, as stress -ignore")
	fs.StringVar(&c.Preset, "preset", "", "take the environment and flags of the tuned preset `FILE` (racestress tune); flags given win")
	fs.Var((*multiFlag)(&x.Env), "env", "add `KEY=V` to every command's environment; repeatable")
	fs.BoolVar(&x.LogAll, "log-all", false, "keep the output of every trial, not only of failed ones")
	fs.StringVar(&c.Out, "out", "", "write results to the new `FILE` (default racestress-out/<time>/results.jsonl); logs go beside it")
	fs.StringVar(&o.format, "format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	fs.BoolVar(&o.quiet, "quiet", false, "print no progress and per-failure lines on stderr")
	fs.BoolVar(&c.Gate, "gate", false, "gate CI on the run: every control must be caught with --min-power, and a run with no control fails")
	fs.Float64Var(&c.MinPower, "min-power", 0, fmt.Sprintf("with --gate, the lowest acceptable lower 95%% bound of a control's failure rate, `P` (default %g with --gate, 0 with --min-effect)", stress.DefaultMinPower))
	fs.Float64Var(&c.MinEffect, "min-effect", 0, minEffectUsage)
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
       racestress gotest [flags] --control NAME=REV_OR_DIR --clean NAME=REV_OR_DIR [PKG]

gotest builds PKG's test binary (go test -c, into the run's folder) and runs
its iterations as trials, --batch at a time in a warm process (-test.count),
in the package's folder; a process is replaced after a panic, fatal error,
hang or race (not after a race if GORACE repeats races: see README). The
iteration is the unit of every statistic (--runs counts them); --timeout is
its watchdog. --control/--clean build PKG in each tree (a git revision or a
directory), interleaved batch by batch; statistics, limits, exit: as exec's.

flags (the go test build flags -race, -tags, -ldflags, -gcflags, -asmflags,
-cover, -covermode, -coverpkg, -mod, -modfile, -overlay, -pgo, -trimpath,
-msan, -asan, -a, -buildvcs are passed to go test -c):
`

// execCmd is racestress exec and racestress gotest: commands, or a Go
// package's test binary, run as trials.
func execCmd(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newBareFlagSet("racestress " + name)
	name, tuning := strings.CutPrefix(name, "tune ") // racestress tune exec|gotest
	addExecFlags(fs, &o)
	var tf *stress.TuneFlags
	if tuning {
		tf = stress.AddTuneFlags(fs)
	}
	var targets []harness.ExecTarget
	g := stress.GoTestPackage{}
	var role string
	head := execUsage
	if name == "exec" {
		fs.Var(roleFlag[harness.ExecTarget]{&targets, result.Control, stress.ParseTarget}, "control", "run `NAME=COMMAND` as a control: it has the bug and must be caught (fail); repeatable")
		fs.Var(roleFlag[harness.ExecTarget]{&targets, result.Clean, stress.ParseTarget}, "clean", "run `NAME=COMMAND` as clean: it must never fail; repeatable")
	} else {
		head = gotestUsage
		stress.AddGoBuildFlags(fs, &g.BuildFlags)
		fs.StringVar(&role, "role", string(result.Clean), "the package's `ROLE`: clean (its tests must never fail) or control (they have the bug and must be caught)")
		fs.StringVar(&g.Run, "run", "", "run only the tests matching `RE` (-test.run)")
		fs.StringVar(&g.Skip, "skip", "", "skip the tests matching `RE` (-test.skip)")
		fs.StringVar(&g.CPU, "cpu", "", "run the tests with each GOMAXPROCS in the comma-separated `LIST` (-test.cpu)")
		fs.BoolVar(&g.Short, "short", false, "run the tests with -test.short")
		fs.IntVar(&o.exec.Batch, "batch", stress.DefaultBatch, "run `N` iterations in each test process (-test.count; a process is replaced after a race, unless GORACE=\"suppress_equal_stacks=0 suppress_equal_addresses=0\", or a panic, fatal error or hang); 1: a process per iteration")
		fs.Var(roleFlag[stress.GoTestTree]{&g.Trees, result.Control, stress.ParseTree}, "control", "build the package in `NAME=REV_OR_DIR` (a git revision or a directory) as a control; repeatable")
		fs.Var(roleFlag[stress.GoTestTree]{&g.Trees, result.Clean, stress.ParseTree}, "clean", "build the package in `NAME=REV_OR_DIR` as clean; repeatable")
	}
	pos, help, err := parseExecArgs(fs, name, args, &g.Args)
	if help {
		fmt.Fprint(stdout, head)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	if err != nil {
		return err
	}
	o.set = given(fs)
	cfg := o.config(append([]string{"racestress", name}, args...))
	if name == "exec" {
		if len(pos) > 0 {
			targets = append(targets, harness.ExecTarget{Role: result.Clean, Argv: pos})
		}
	} else {
		if len(pos) > 1 || len(pos) == 0 && len(g.Trees) == 0 {
			return usageError("gotest needs one package (default . with --control/--clean trees), got %d arguments (%s)", len(pos), strings.Join(pos, " "))
		}
		if len(pos) == 1 {
			g.Package = pos[0]
		}
		g.Role = result.Role(role)
		ts, builds, err := stress.GoTest(ctx, g, cfg.Out, cfg.Timeout)
		if err != nil {
			return fromStress(err)
		}
		targets = ts
		if len(g.Trees) == 0 {
			o.exec.GoTest = &builds[0]
		} else {
			o.exec.GoTests = builds
		}
	}
	o.exec.Targets = targets
	cfg.Exec = &o.exec
	if tuning {
		v, err := tf.Tune(ctx, cfg, o.set, o.format, o.quiet, stdout, stderr)
		if err != nil {
			return fromStress(err)
		}
		return verdictError(v)
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

// parseExecArgs parses the arguments of exec, flags then the command, or
// of gotest, flags before and after the package and, after a "--", the
// test binary's own arguments (into extra).
func parseExecArgs(fs *flag.FlagSet, name string, args []string, extra *[]string) (pos []string, help bool, err error) {
	if i := slices.Index(args, "--"); i >= 0 && name == "gotest" {
		args, *extra = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, nil
			}
			return nil, false, usageError("%s: %v (see racestress %s -h)", name, err, name)
		}
		if fs.NArg() == 0 || name == "exec" {
			return append(pos, fs.Args()...), false, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// minEffectUsage is the --min-effect flag's usage.
const minEffectUsage = "the effect gate: every clean subject must be shown to fail at most 1/`R` as often per trial as its control (error <= 5%, exact at any stop; suits rare bugs: with --budget and no --runs the run stops once decided)"
