package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/racestress/racestress/harness/command"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// ExecScenario is the scenario of runs whose subjects are external commands
// (racestress exec and gotest): each trial runs a subject's command once.
// It is a declaration only, graded like any scenario; its trials are run by
// Commands, not by a Trial function, so it is not among scenarios.All.
var ExecScenario = &scenarios.Scenario{
	Name: "exec",
	Doc:  "each trial runs an external command once; it must exit 0",
	Outcomes: map[result.Outcome]scenarios.Expect{
		result.OK:       {Grade: result.Acceptable, Doc: "exited 0 (or failed in a way --ignore matched)"},
		result.Fail:     {Grade: result.Forbidden, Doc: "exited with another status, or its output matched --fail-on"},
		result.Panic:    {Grade: result.Forbidden, Doc: "an unrecovered Go panic"},
		result.DataRace: {Grade: result.Forbidden, Doc: "a race-detector report"},
		result.Fatal:    {Grade: result.Forbidden, Doc: "a Go runtime fatal error"},
		result.Crash:    {Grade: result.Forbidden, Doc: "killed by a signal, or over its memory limit"},
		result.Hang:     {Grade: result.Forbidden, Doc: "stopped by the watchdog, the runtime's deadlock detector or go test's -timeout"},
		result.Error:    {Grade: result.Forbidden, Doc: "could not be started, or did not build: never a pass, never a detection"},
	},
}

// ExecSignature is an exec control's signature: every way a command can
// fail. A control command is caught when it fails at all; only a harness
// error (it could not start) is no detection.
var ExecSignature = []result.Outcome{result.Fail, result.Panic, result.DataRace, result.Fatal, result.Crash, result.Hang}

// ExtraExec is the key of the exec run's description in a results header's
// Extra map.
const ExtraExec = "exec"

// ExecTarget is one command of an exec run, as its results header records
// it: enough to rerun any of its trials (racestress replay).
type ExecTarget struct {
	Name string      `json:"name"`
	Role result.Role `json:"role"`
	// Argv is the command line, program first; Dir the working directory
	// it ran in (absolute); Env what was added to racestress's own
	// environment (which is inherited and not recorded).
	Argv []string `json:"argv"`
	Dir  string   `json:"dir"`
	Env  []string `json:"env,omitempty"`
}

// ExecRun describes an exec run's commands and limits: the Extra entry
// ExtraExec of its results header.
type ExecRun struct {
	Targets     []ExecTarget `json:"targets"`
	TimeoutNs   int64        `json:"timeout_ns"` // 0: no watchdog
	GraceNs     int64        `json:"grace_ns,omitempty"`
	MemoryLimit int64        `json:"memory_limit,omitempty"`
	FailOn      string       `json:"fail_on,omitempty"`
	Ignore      string       `json:"ignore,omitempty"`
	LogAll      bool         `json:"log_all,omitempty"`
	// GoTest, when set, is the package racestress gotest built the test
	// binary of, and how; GoTests, when set instead, the builds of a
	// comparison of trees (--control/--clean NAME=REV_OR_DIR), one a
	// target, in the targets' order.
	GoTest  *GoTestBuild  `json:"gotest,omitempty"`
	GoTests []GoTestBuild `json:"gotests,omitempty"`
	// Batch, when more than 1, is the iterations each test process ran
	// (-test.count): the trials are iterations (see Batches).
	Batch int `json:"batch,omitempty"`
}

// GoTestBuild is how racestress gotest built its test binary.
type GoTestBuild struct {
	Package    string   `json:"package"` // as given
	ImportPath string   `json:"import_path"`
	Binary     string   `json:"binary"`
	BuildFlags []string `json:"build_flags,omitempty"`
	// Name and Tree, in a comparison of trees, are the target built and
	// its tree as given (a directory, or a git revision, which Revision
	// then names); Dir is where the package was built: the directory, or
	// the revision's export.
	Name     string `json:"name,omitempty"`
	Tree     string `json:"tree,omitempty"`
	Revision string `json:"revision,omitempty"`
	Dir      string `json:"dir,omitempty"`
	// Run and Skip are the test patterns the binary runs with; Tests, the
	// top-level tests one iteration of it runs (-test.list), when known.
	Run   string `json:"run,omitempty"`
	Skip  string `json:"skip,omitempty"`
	Tests int    `json:"tests,omitempty"`
}

// Subjects returns the run's subjects: each target with its role, its
// signature (ExecSignature for a control) and its command.Command in New.
func (x ExecRun) Subjects() ([]scenarios.Subject, error) {
	var failOn, ignore *regexp.Regexp
	var err error
	if x.FailOn != "" {
		if failOn, err = regexp.Compile(x.FailOn); err != nil {
			return nil, fmt.Errorf("fail-on: %v", err)
		}
	}
	if x.Ignore != "" {
		if ignore, err = regexp.Compile(x.Ignore); err != nil {
			return nil, fmt.Errorf("ignore: %v", err)
		}
	}
	var out []scenarios.Subject
	for _, t := range x.Targets {
		if len(t.Argv) == 0 || t.Name == "" || !t.Role.Valid() {
			return nil, fmt.Errorf("command %q: no command line, name or role", t.Name)
		}
		if slices.ContainsFunc(out, func(s scenarios.Subject) bool { return s.Name == t.Name }) {
			return nil, fmt.Errorf("two commands named %q", t.Name)
		}
		c := command.Command{
			Path: t.Argv[0], Args: slices.Clone(t.Argv[1:]), Env: slices.Clone(t.Env), Dir: t.Dir,
			Timeout: time.Duration(x.TimeoutNs), Grace: time.Duration(x.GraceNs), MemoryLimit: x.MemoryLimit,
			FailOn: failOn, Ignore: ignore, LogAll: x.LogAll,
		}
		s := scenarios.Subject{Name: t.Name, Role: t.Role, Doc: strings.Join(t.Argv, " "), Crashes: true, New: c}
		if t.Role == result.Control {
			s.Signature = slices.Clone(ExecSignature)
		}
		out = append(out, s)
	}
	return out, nil
}

// Extra returns x as a results header's Extra map.
func (x ExecRun) Extra() map[string]any { return map[string]any{ExtraExec: x} }

// ExecRunOf returns the exec run a results header describes; ok is false
// when it describes none (a run of a built-in scenario).
func ExecRunOf(h *result.Header) (x ExecRun, ok bool, err error) {
	if h == nil || h.Extra[ExtraExec] == nil {
		return x, false, nil
	}
	b, err := json.Marshal(h.Extra[ExtraExec])
	if err == nil {
		err = json.Unmarshal(b, &x)
	}
	if err != nil {
		return x, true, fmt.Errorf("header: the exec run's description: %v", err)
	}
	return x, true, nil
}

// Commands is the Executor of exec runs: each trial runs its subject's
// command.Command (the subject's New) once and is graded against Scenario
// (ExecScenario when nil) with the spec's role and signature.
type Commands struct {
	Scenario *scenarios.Scenario
	Subjects []scenarios.Subject
	// LogDir receives the logs of failed trials (every trial's with
	// LogAll); none are kept when empty. LogBase, when set, is the folder
	// the records' log paths are relative to: the results file's.
	LogDir, LogBase string
}

// Execute implements Executor.
func (c Commands) Execute(ctx context.Context, spec Spec) (result.Record, bool) {
	sc := c.Scenario
	if sc == nil {
		sc = ExecScenario
	}
	rec := newRecord(spec, time.Now())
	cmd, err := commandOf(c.Subjects, spec.Registry, c.LogDir)
	if err != nil {
		return errorRecord(rec, err.Error()), true
	}
	res := cmd.Run(ctx, spec.Trial, spec.Seed)
	if res.Interrupted {
		return rec, false
	}
	return CommandRecord(sc, spec, rec, res, c.LogBase), true
}

// commandOf returns the command of the subject called name, its logs
// going to logDir unless it names its own folder.
func commandOf(subjects []scenarios.Subject, name, logDir string) (command.Command, error) {
	i := slices.IndexFunc(subjects, func(s scenarios.Subject) bool { return s.Name == name })
	if i < 0 {
		return command.Command{}, fmt.Errorf("no command for subject %q", name)
	}
	cmd, ok := subjects[i].New.(command.Command)
	if !ok {
		return command.Command{}, fmt.Errorf("subject %q is not a command", name)
	}
	if cmd.LogDir == "" {
		cmd.LogDir = logDir
	}
	return cmd, nil
}

// CommandRecord fills rec, the record of spec's trial, from how its command
// ended, and grades it: the outcome, its message as FirstError, the failure
// signature and failing test, the process's exit, and its wall time as the
// trial's duration and, for a failure, its time to failure. A command that
// could not start (outcome error) is a harness error: never a pass, never a
// detection. Log paths are made relative to logBase when it is set.
func CommandRecord(sc *scenarios.Scenario, spec Spec, rec result.Record, res command.Result, logBase string) result.Record {
	rec.Role = spec.Role
	rec.Process = &result.Process{
		Isolation: "exec", ExitCode: res.ExitCode, Signal: res.Signal, WallNanos: int64(res.Wall), PeakRSS: res.PeakRSS,
		Log: recordPath(logBase, res.Log), Dump: recordPath(logBase, res.Dump), TimedOut: res.TimedOut, OverMemory: res.OverMemory,
	}
	rec.DurationNs = int64(res.Wall)
	rec.Test = res.Test
	rec.FailureSignature = res.Signature
	if res.Outcome == result.Error || !res.Outcome.Valid() {
		rec = errorRecord(rec, strings.TrimPrefix(res.Message, "error: "))
		rec.FailureSignature = res.Signature
		return rec
	}
	rec = gradeOutcome(sc, spec, rec, res.Outcome)
	if res.Outcome != result.OK {
		rec.Failures = map[result.Outcome]int{res.Outcome: 1}
		rec.FirstError = res.Message
	} else if res.Ignored {
		rec.FirstError = res.Message // what was ignored, kept in the results file
		rec.FailureSignature = ""
	}
	if rec.Detected {
		rec.TTFFNanos = int64(res.Wall)
	}
	return rec
}

// recordPath is a log's path as a record stores it, as Processes' are:
// relative to base when set; "" stays "".
func recordPath(base, name string) string {
	if name == "" {
		return ""
	}
	return Processes{LogBase: base}.recordPath(name)
}
