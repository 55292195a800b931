package stress

import (
	"fmt"
	"slices"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// ReplayConfig is a replay: trial Trial of the saved run File, rerun
// with its recorded seed, knobs, role and (for a command) command line,
// working directory, environment and trial number.
type ReplayConfig struct {
	File  string
	Trial int
	// Config holds how the trial reruns: Isolation, PoolTrials, Race,
	// Timeout, MemoryLimit, Out and Args (Parallel 1). For a command,
	// Timeout and MemoryLimit replace the recorded ones when Given names
	// them.
	Config
	// Given names the flags given on the command line: those that do not
	// apply to replaying one trial are refused.
	Given []string
}

// notReplayed are the flags that do not apply to replaying one trial, and
// notExecReplayed those that do not apply to replaying a command's.
var (
	notReplayed     = []string{"sweep", "shard", "budget", "failfast", "control", "clean", "parallel"}
	notExecReplayed = []string{"race", "isolate"}
)

// Replay returns the plan that reruns the trial rc names; its Replayed
// compares the outcome with the recorded one.
func Replay(rc ReplayConfig) (*Plan, error) {
	for _, f := range notReplayed {
		if slices.Contains(rc.Given, f) {
			return nil, usage("replay: --%s does not apply to replaying one trial", f)
		}
	}
	res, err := result.ReadResultsFile(rc.File)
	if err != nil {
		return nil, usage("replay: %s: %v", rc.File, err)
	}
	i := slices.IndexFunc(res.Records, func(r result.Record) bool { return r.Trial == rc.Trial })
	if i < 0 {
		return nil, usage("replay: %s has no trial %d", rc.File, rc.Trial)
	}
	rec := res.Records[i]
	p := &Plan{cfg: rc.Config, replay: &rec}
	p.cfg.Parallel = 1
	if h := res.Header; h != nil {
		p.verdict = h.Verdict
	}
	x, isExec, err := harness.ExecRunOf(res.Header)
	if err != nil {
		return nil, usage("replay: %v", err)
	}
	var sub scenarios.Subject
	if isExec {
		if sub, err = p.replayExec(x, rec, rc.Given); err != nil {
			return nil, err
		}
	} else {
		sc, err := scenarios.Lookup(rec.Scenario)
		if err != nil {
			return nil, usage("replay: %v", err)
		}
		if sub, err = sc.Subject(rec.Registry); err != nil {
			return nil, usage("replay: %v", err)
		}
		sub = sub.WithRole(rec.Role)
		if sub.Crashes && p.cfg.Isolation == "none" {
			return nil, usage("replay: subject %s needs --isolate process", sub.Name)
		}
		p.engine = harness.Config{Scenario: sc, Subjects: []scenarios.Subject{sub}, Runs: 1, Seed: rec.Seed, Knobs: rec.Knobs}
	}
	p.specs = []harness.Spec{{Trial: rec.Trial, Scenario: rec.Scenario, Registry: rec.Registry, Role: sub.Role, Signature: sub.Signature,
		Cell: rec.Cell, Seed: rec.Seed, Knobs: rec.Knobs}}
	return p, p.checkLimits()
}

// replayExec makes p rerun the command of rec, an exec run's trial, with
// the recorded limits unless given anew.
func (p *Plan) replayExec(x harness.ExecRun, rec result.Record, given []string) (scenarios.Subject, error) {
	for _, f := range notExecReplayed {
		if slices.Contains(given, f) {
			return scenarios.Subject{}, usage("replay: --%s does not apply to an exec run", f)
		}
	}
	if slices.Contains(given, "timeout") {
		x.TimeoutNs = int64(p.cfg.Timeout)
	}
	if slices.Contains(given, "memory-limit") {
		limit, err := ParseSize(p.cfg.MemoryLimit)
		if err != nil {
			return scenarios.Subject{}, usage("--memory-limit: %v", err)
		}
		x.MemoryLimit = limit
	}
	i := slices.IndexFunc(x.Targets, func(t harness.ExecTarget) bool { return t.Name == rec.Registry })
	if i < 0 {
		return scenarios.Subject{}, usage("replay: the header has no command for subject %q", rec.Registry)
	}
	x.Targets = []harness.ExecTarget{x.Targets[i]}
	x.Targets[0].Role = rec.Role
	if err := p.useExecRun(x, &rec); err != nil {
		return scenarios.Subject{}, err
	}
	return p.engine.Subjects[0], nil
}

// Replayed compares the replayed trial's record in res with the recorded
// one: line says what each was, agree whether their outcomes are the same.
// Its error is a *Error when the replay left no record.
func (p *Plan) Replayed(res *Result) (line string, agree bool, err error) {
	rec := p.replay
	if rec == nil {
		return "", false, invalid("replay: not a replay")
	}
	if res == nil || len(res.Records) != 1 {
		return "", false, invalid("replay: the replayed trial left no record in %s", p.cfg.Out)
	}
	r := res.Records[0]
	line = fmt.Sprintf("replay of trial %d (%s/%s, seed %d): recorded %s, replayed %s", rec.Trial, rec.Scenario, rec.Registry, rec.Seed, rec.Outcome, r.Outcome)
	if p.exec != nil && r.Outcome == rec.Outcome && r.FailureSignature != rec.FailureSignature {
		line += " (with another signature: " + r.FailureSignature + ")"
	}
	if r.Outcome != rec.Outcome {
		if p.exec != nil {
			return line + ": they disagree (the replay reruns the command line, environment, trial number and seed, not the machine's timing)", false, nil
		}
		return line + ": they disagree (GC timing is not seeded: a replay reproduces the trial's inputs, not its schedule)", false, nil
	}
	return line + ": they agree", true, nil
}
