package stress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/command"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
	"github.com/racestress/racestress/tune"
)

// tuneRun is a valid tune of the bpo-24484 scenario: unfixed (control)
// against fixed (clean), its files in dir.
func tuneRun(dir string) TuneConfig {
	c := scenarioRun()
	c.Registries, c.Out, c.Seed, c.SeedSet = []string{"unfixed", "fixed"}, filepath.Join(dir, "results.jsonl"), 5, true
	return TuneConfig{Run: c, Budget: time.Minute, Cells: 8, ConfirmRuns: 3}
}

func tuneRefusal(t *testing.T, cfg TuneConfig) string {
	t.Helper()
	_, err := PrepareTune(cfg)
	var se *Error
	require.True(t, errors.As(err, &se), "accepted: %v", err)
	assert.Equal(t, Usage, se.Kind)
	return se.Msg
}

func TestPrepareTuneChecksEveryBoundOnce(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		edit func(*TuneConfig)
		want string
	}{
		{"budget too short", func(c *TuneConfig) { c.Budget = time.Second / 2 }, "--budget must be between 1s and 24h0m0s, got 500ms"},
		{"budget too long", func(c *TuneConfig) { c.Budget = 25 * time.Hour }, "--budget must be between"},
		{"cells negative", func(c *TuneConfig) { c.Cells = -1 }, "--cells must be between 1 and 256, got -1"},
		{"cells too many", func(c *TuneConfig) { c.Cells = tune.MaxCells + 1 }, "--cells must be between 1 and 256, got 257"},
		{"confirm runs", func(c *TuneConfig) { c.ConfirmRuns = MaxConfirmRuns + 1 }, "--confirm-runs must be between 1 and 100000"},
		{"confirm budget", func(c *TuneConfig) { c.ConfirmBudget = time.Millisecond }, "--confirm-budget must be 0 (none) or between 1s"},
		{"seconds", func(c *TuneConfig) { c.Seconds = 0.001 }, "--seconds must be 0 (chosen) or between 0.01 and 86400, got 0.001"},
		{"no control", func(c *TuneConfig) { c.Run.Registries = []string{"fixed"} }, "tune: no control among the subjects"},
		{"no results file", func(c *TuneConfig) { c.Run.Out = "" }, "needs a results file"},
		{"race", func(c *TuneConfig) { c.Run.Race = true }, "--race is not a dimension"},
		{"a bad dimension", func(c *TuneConfig) { c.Dims = []tune.Dim{{Name: "gogc", Kind: tune.KnobDim, Values: []string{"-5"}}} }, "--sweep: "},
		{"an unknown knob", func(c *TuneConfig) { c.Dims = []tune.Dim{{Name: "nope", Kind: tune.KnobDim, Values: []string{"1"}}} }, "--sweep: "},
		{"a bad run", func(c *TuneConfig) { c.Run.Timeout = -1 }, "--timeout must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tuneRun(dir)
			tc.edit(&cfg)
			assert.Contains(t, tuneRefusal(t, cfg), tc.want)
		})
	}
}

func TestPrepareTuneRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	cfg := tuneRun(dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "preset.json"), nil, 0o644))
	assert.Contains(t, tuneRefusal(t, cfg), "--preset-out: "+filepath.Join(dir, "preset.json")+" exists")
	cfg.PresetOut = filepath.Join(dir, "other.json")
	require.NoError(t, os.WriteFile(cfg.Run.Out, nil, 0o644))
	assert.Contains(t, tuneRefusal(t, cfg), "--out: ")
}

func TestPrepareTuneCellsAndDefaults(t *testing.T) {
	cfg := tuneRun(t.TempDir())
	cfg.Cells, cfg.ConfirmRuns = 0, 0
	p, err := PrepareTune(cfg)
	require.NoError(t, err)
	cells := p.Cells()
	assert.Len(t, cells, DefaultTuneCells)
	assert.Equal(t, "defaults", cells[0].Label, "the defaults cell comes first")
	assert.Equal(t, "process", cells[0].Isolation)
	assert.Equal(t, DefaultConfirmRuns, p.Config().ConfirmRuns)
	assert.Equal(t, filepath.Join(filepath.Dir(cfg.Run.Out), "preset.json"), p.Config().PresetOut)

	// A user's dimension replaces a built-in one's values.
	cfg.Cells, cfg.Dims = 256, []tune.Dim{{Name: "isolation", Kind: tune.IsolationDim, Values: []string{"pool"}}}
	p, err = PrepareTune(cfg)
	require.NoError(t, err)
	for _, c := range p.Cells() {
		assert.Contains(t, []string{"process", "pool"}, c.Isolation)
	}
}

func TestConfirmSpecsInterleaveTheControlAndStressTheCleanAtTheWinner(t *testing.T) {
	cfg := tuneRun(t.TempDir())
	p, err := PrepareTune(cfg)
	require.NoError(t, err)
	subs := p.base.engine.Subjects
	cells := []harness.Cell{{Label: DefaultsCell}, {Label: TunedCell}}
	specs := p.confirmSpecs(subs, cells, []int{0, 0})
	var got []string
	for i, s := range specs {
		assert.Equal(t, i, s.Trial)
		assert.Equal(t, p.seed+int64(s.Round), s.Seed)
		got = append(got, s.Registry+"@"+s.Cell)
	}
	assert.Equal(t, []string{
		"unfixed@defaults", "unfixed@tuned", "fixed@tuned",
		"unfixed@tuned", "unfixed@defaults", "fixed@tuned",
		"unfixed@defaults", "unfixed@tuned", "fixed@tuned",
	}, got)

	// Batches of 3 at the defaults, one iteration per process at the
	// winner: a round is a block of 3 iterations of each, the last one
	// what is left of the 4.
	p.cfg.ConfirmRuns = 4
	got = nil
	for i, s := range p.confirmSpecs(subs, cells, []int{3, 1}) {
		assert.Equal(t, i, s.Trial)
		assert.Equal(t, p.seed+int64(s.Round), s.Seed)
		got = append(got, fmt.Sprintf("%s@%s r%d %d/%d", s.Registry, s.Cell, s.Round, s.Iteration, s.Batch))
	}
	assert.Equal(t, []string{
		"unfixed@defaults r0 0/3", "unfixed@defaults r0 1/3", "unfixed@defaults r0 2/3",
		"unfixed@tuned r0 0/0", "unfixed@tuned r0 0/0", "unfixed@tuned r0 0/0",
		"fixed@tuned r0 0/0", "fixed@tuned r0 0/0", "fixed@tuned r0 0/0",
		"unfixed@tuned r1 0/0", "unfixed@defaults r1 0/3", "fixed@tuned r1 0/0",
	}, got)
	// Batches of 2 in blocks of 3: the third iteration starts a batch.
	got = nil
	for _, s := range p.confirmSpecs(subs, cells, []int{3, 2})[3:6] {
		got = append(got, fmt.Sprintf("%s@%s r%d %d/%d", s.Registry, s.Cell, s.Round, s.Iteration, s.Batch))
	}
	assert.Equal(t, []string{"unfixed@tuned r0 0/2", "unfixed@tuned r0 1/2", "unfixed@tuned r0 0/2"}, got)
}

func TestTrialSeconds(t *testing.T) {
	ms := time.Millisecond
	hit := func(d time.Duration) tune.Sample { return tune.Sample{Hit: true, Wall: d + 5*ms, TTFF: d} }
	// Median 3ms: 30 medians are 90ms; the longest hit is 20ms, 4 times
	// that 80ms.
	s := []tune.Sample{hit(2 * ms), hit(3 * ms), hit(3 * ms), hit(4 * ms), hit(20 * ms)}
	assert.Equal(t, 0.09, TrialSeconds(s, 4))
	// The longest hit decides: 4 × 50ms.
	assert.Equal(t, 0.2, TrialSeconds(append(s, hit(50*ms)), 4))
	// Rounded up to two digits: 30 × 3.33ms = 99.9ms -> 0.1.
	assert.Equal(t, 0.1, TrialSeconds([]tune.Sample{hit(3330 * time.Microsecond)}, 4))
	// At most the defaults', at least MinTrialSeconds.
	assert.Equal(t, 4.0, TrialSeconds([]tune.Sample{hit(time.Second)}, 4))
	assert.Equal(t, MinTrialSeconds, TrialSeconds([]tune.Sample{hit(10 * time.Microsecond)}, 4))
	// No median: the defaults'.
	assert.Equal(t, 4.0, TrialSeconds([]tune.Sample{{Wall: ms, TTFF: ms}}, 4))
}

// fakeWorker runs trials without running anything: a control is caught
// after 2ms (a hit), a clean subject passes unless failClean.
func fakeWorker(failClean bool, made *[]string) func(*Plan, context.Context, string, string) (harness.Executor, error) {
	return func(_ *Plan, _ context.Context, isolation, _ string) (harness.Executor, error) {
		*made = append(*made, isolation)
		return executorFunc(func(ctx context.Context, spec harness.Spec) (result.Record, bool) {
			time.Sleep(3 * time.Millisecond) // longer than the 2ms to first failure, so that the wall holds it
			sc, _ := scenarios.Lookup(spec.Scenario)
			rec := result.Record{Trial: spec.Trial, Scenario: spec.Scenario, Registry: spec.Registry, Role: spec.Role, Seed: spec.Seed, Knobs: spec.Knobs}
			obs := scenarios.Observation{Outcome: result.OK, Duration: 10 * time.Millisecond}
			if spec.Role == result.Control || failClean {
				obs = scenarios.Observation{Outcome: result.ChangedSize, TTFF: 2 * time.Millisecond, Duration: 2 * time.Millisecond,
					Failures: map[result.Outcome]int{result.ChangedSize: 1}, FirstError: "registry changed size during iteration"}
			}
			rec.Process = &result.Process{Isolation: isolation}
			return harness.Grade(sc, spec, rec, obs), true
		}), nil
	}
}

func TestTuneWritesThePresetOnlyWhenTheCleanSubjectsPass(t *testing.T) {
	for _, failClean := range []bool{false, true} {
		dir := t.TempDir()
		cfg := tuneRun(dir)
		cfg.Budget, cfg.Cells, cfg.ConfirmRuns = tune.MinBudget, 4, 5
		cfg.Dims = []tune.Dim{{Name: "isolation", Kind: tune.IsolationDim, Values: []string{"process", "pool"}}}
		p, err := PrepareTune(cfg)
		require.NoError(t, err)
		var made []string
		p.worker = fakeWorker(failClean, &made)
		res, err := p.Run(context.Background(), Hooks{})
		require.NoError(t, err)
		require.NoError(t, res.Err)
		require.NotNil(t, res.Search)
		assert.Positive(t, res.Search.Trials)
		require.NotNil(t, res.Run)
		assert.Equal(t, 5, res.Confirmation.Defaults.Trials, "every round ran the control at the defaults")
		assert.Equal(t, 5, res.Confirmation.Winner.Trials)
		assert.Equal(t, 5, res.Confirmation.Winner.Hits)
		assert.Equal(t, 0.06, res.Seconds, "30 × the median 2ms")
		saved, err := result.ReadResultsFile(cfg.Run.Out)
		require.NoError(t, err)
		assert.Len(t, saved.Records, 15, "5 rounds of unfixed twice and fixed once, in the results file")
		for _, r := range saved.Records {
			if r.Cell == TunedCell {
				assert.Equal(t, 0.06, r.Knobs.Seconds, "the winner runs with the preset's trial length")
			}
		}
		if failClean {
			assert.Equal(t, report.Regression, res.Run.Summary.Verdict().Status)
			assert.Nil(t, res.Preset)
			assert.NoFileExists(t, filepath.Join(dir, "preset.json"))
			continue
		}
		assert.Equal(t, report.Pass, res.Run.Summary.Verdict().Status)
		require.NotNil(t, res.Preset)
		got, err := LoadPreset(res.PresetPath)
		require.NoError(t, err)
		assert.Equal(t, tune.Target{Kind: "scenario", Scenario: "bpo24484", Subjects: []string{"unfixed", "fixed"}}, got.Target)
		assert.Equal(t, res.Search.Winner().Cell.Label, got.Cell.Label)
		assert.Equal(t, 0.06, got.Cell.Knobs.Seconds)
		assert.Equal(t, 5, got.Confirmation.Winner.Hits)
		assert.NotEmpty(t, got.Machine.GoVersion)

		var b bytes.Buffer
		require.NoError(t, RenderTune(&b, "markdown", res))
		assert.Contains(t, b.String(), "| **winner** |")
		assert.Contains(t, b.String(), "gain: hazard ")
		assert.Contains(t, b.String(), "controls at the defaults (cell defaults): hazard ")
		assert.Contains(t, b.String(), "5 caught in 5 trials over ")
		assert.Contains(t, b.String(), "; unfixed median time to first failure 2ms (Kaplan–Meier)")
		assert.Contains(t, b.String(), "clean fixed at the winner: 0 forbidden outcomes in 5 trials (rate < 52.2% at 95%)")
		b.Reset()
		require.NoError(t, RenderTune(&b, "json", res))
		var j map[string]any
		require.NoError(t, json.Unmarshal(b.Bytes(), &j))
		assert.Contains(t, j, "search")
		assert.Contains(t, j, "summary")
		b.Reset()
		require.NoError(t, RenderTune(&b, "html", res))
		assert.True(t, strings.HasPrefix(b.String(), "<!DOCTYPE html>"))
		assert.Contains(t, b.String(), "<svg")
	}
}

func TestTuneWithNoControlCaughtHasNoPreset(t *testing.T) {
	cfg := tuneRun(t.TempDir())
	cfg.Budget, cfg.Cells = tune.MinBudget, 2
	p, err := PrepareTune(cfg)
	require.NoError(t, err)
	p.worker = func(*Plan, context.Context, string, string) (harness.Executor, error) {
		return executorFunc(func(ctx context.Context, spec harness.Spec) (result.Record, bool) {
			sc, _ := scenarios.Lookup(spec.Scenario)
			return harness.Grade(sc, spec, result.Record{Trial: spec.Trial, Registry: spec.Registry}, scenarios.Observation{Duration: time.Millisecond}), true
		}), nil
	}
	res, err := p.Run(context.Background(), Hooks{})
	require.NoError(t, err)
	assert.Equal(t, NotCaught, kindOf(res.Err))
	assert.Nil(t, res.Run)
	assert.Nil(t, res.Preset)
}

func TestTuneAHarnessFaultIsInvalid(t *testing.T) {
	cfg := tuneRun(t.TempDir())
	cfg.Budget, cfg.Cells = tune.MinBudget, 2
	p, err := PrepareTune(cfg)
	require.NoError(t, err)
	p.worker = func(*Plan, context.Context, string, string) (harness.Executor, error) {
		return executorFunc(func(ctx context.Context, spec harness.Spec) (result.Record, bool) {
			return result.Record{Trial: spec.Trial, Outcome: result.Error, FirstError: "error: worker died"}, true
		}), nil
	}
	res, err := p.Run(context.Background(), Hooks{})
	require.NoError(t, err)
	assert.Equal(t, Invalid, kindOf(res.Err))
	assert.Contains(t, res.Err.Error(), "harness error: error: worker died")
}

func TestTuneFlagsRefuseRunFlags(t *testing.T) {
	f := &TuneFlags{Cells: 4, ConfirmRuns: 1}
	_, err := f.Tune(context.Background(), tuneRun(t.TempDir()).Run, map[string]bool{"isolate": true}, "table", true, nil, nil)
	assert.Equal(t, Usage, kindOf(err))
	assert.Contains(t, err.Error(), "--isolate is not a tune's flag")
	_, err = f.Tune(context.Background(), tuneRun(t.TempDir()).Run, map[string]bool{"race": true}, "table", true, nil, nil)
	assert.Contains(t, err.Error(), "--race is not a tune's flag", "a scenario's race-enabled workers")
	// gotest's -race is a build flag: the tune goes on (and stops here
	// at the missing results file).
	_, err = f.Tune(context.Background(), execRun(), map[string]bool{"race": true}, "table", true, nil, nil)
	assert.Equal(t, Usage, kindOf(err))
	assert.Contains(t, err.Error(), "needs a results file")
	_, err = f.Tune(context.Background(), tuneRun(t.TempDir()).Run, nil, "junit", true, nil, nil)
	assert.Equal(t, Usage, kindOf(err))
	assert.Contains(t, err.Error(), "--format must be table, markdown, html or json")
}

// writeTestPreset writes a preset for target with cell, tuned on m.
func writeTestPreset(t *testing.T, target tune.Target, cell tune.Cell, m tune.Machine) string {
	t.Helper()
	res := &tune.Result{Cells: []tune.CellStats{{Cell: cell, Rate: tune.NewRate(10, 10, time.Second), Rung: 1, Winner: true}}, Rungs: 1, Trials: 10, Budget: time.Minute, Stop: "one cell left"}
	conf := tune.Confirm([]tune.Sample{{Hit: true, Wall: time.Second}}, []tune.Sample{{Hit: true, Wall: time.Second / 10}})
	path := filepath.Join(t.TempDir(), "preset.json")
	require.NoError(t, writePreset(path, tune.NewPreset(target, res, conf, m)))
	return path
}

func TestPresetFileSetsTheRun(t *testing.T) {
	sc := scenarios.ThreadSafety
	k := sc.DefaultKnobsOf()
	k.GOGC, k.Procs, k.Seconds, k.Preset = 1, 2, 0.25, ""
	here := tune.ThisMachine(harness.Version())
	path := writeTestPreset(t, tune.Target{Kind: "scenario", Scenario: sc.Name, Subjects: []string{"unfixed", "fixed"}},
		tune.Cell{Label: "gogc=1 procs=2 isolation=pool", Knobs: k, Isolation: "pool"}, here)

	assert.True(t, IsPresetFile(path))
	assert.True(t, IsPresetFile("missing.json"))
	assert.False(t, IsPresetFile("fast"))

	c := scenarioRun()
	c.Preset, c.Scenario, c.Given = path, "", map[string]bool{}
	p := prepare(t, c)
	assert.Equal(t, sc.Name, p.engine.Scenario.Name)
	assert.Equal(t, 1, p.engine.Knobs.GOGC)
	assert.Equal(t, 0.25, p.engine.Knobs.Seconds)
	assert.Equal(t, "pool", p.cfg.Isolation)
	assert.Equal(t, []string{"unfixed", "fixed"}, []string{p.engine.Subjects[0].Name, p.engine.Subjects[1].Name})
	assert.Empty(t, p.preset.warnings, "tuned on this machine")
	h := p.preset.header()
	assert.Equal(t, path, h.Path)
	assert.Equal(t, "gogc=1 procs=2 isolation=pool", h.Cell)

	// Flags given win: the isolation, a knob.
	c.Isolation, c.Given = "process", map[string]bool{"isolate": true}
	c.Set = Settings{{Knob: "gogc", Value: "50", From: "gogc"}}
	p = prepare(t, c)
	assert.Equal(t, "process", p.cfg.Isolation)
	assert.Equal(t, 50, p.engine.Knobs.GOGC)
	assert.Equal(t, 2, p.engine.Knobs.Procs)

	// Another scenario, a command run, a missing or broken file: refused.
	c = scenarioRun()
	c.Preset, c.Scenario = path, "weakcache"
	assert.Equal(t, "--preset "+path+" was tuned for scenario bpo24484, not weakcache", refusal(t, c))
	x := execRun()
	x.Preset = path
	assert.Equal(t, "--preset "+path+" was tuned for a scenario target, not a exec run", refusal(t, x))
	c.Preset = filepath.Join(t.TempDir(), "missing.json")
	assert.Contains(t, refusal(t, c), "no such file")
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"kind":"racestress-preset","version":9}`), 0o644))
	c.Preset = bad
	assert.Contains(t, refusal(t, c), "version 9")
}

func TestPresetFromAnotherMachineRunsWithAWarning(t *testing.T) {
	sc := scenarios.FinalizeOrder
	k := sc.DefaultKnobsOf()
	k.Seconds = 0.05
	other := tune.ThisMachine("v0.0.1")
	other.CPUs, other.GoVersion = other.CPUs+6, "go1.1"
	path := writeTestPreset(t, tune.Target{Kind: "scenario", Scenario: sc.Name, Subjects: []string{"unfixed", "fixed"}},
		tune.Cell{Label: "defaults", Knobs: k, Isolation: "process"}, other)
	c := orderRun(filepath.Join(t.TempDir(), "r.jsonl"), 1)
	c.Preset, c.Set, c.Given = path, nil, map[string]bool{"isolate": true}
	p := prepare(t, c)
	assert.Equal(t, "none", p.cfg.Isolation, "the scenario run's isolation was given")
	res, err := p.Run(context.Background(), Hooks{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.NotNil(t, res.Header.Preset)
	assert.Equal(t, path, res.Header.Preset.Path)
	assert.Contains(t, res.Summary.Warnings, "preset "+path+": tuned on "+strconv.Itoa(other.CPUs)+" CPUs, this machine has "+strconv.Itoa(other.CPUs-6)+
		": it still runs, but its knobs may not be the fastest here (racestress tune finds this machine's)")
	assert.True(t, hasPrefix(res.Summary.Warnings, "preset "+path+": tuned with Go go1.1"))
	saved, err := result.ReadResultsFile(res.Path)
	require.NoError(t, err)
	assert.Equal(t, res.Header.Preset, saved.Header.Preset, "the results file records the preset")
	assert.Equal(t, result.SchemaVersion, saved.Header.Schema)
}

func TestPresetFileSetsACommandsEnvironmentAndFlags(t *testing.T) {
	cmd := []string{"true"}
	path := writeTestPreset(t, tune.Target{Kind: "exec", Command: cmd},
		tune.Cell{Label: "GOMAXPROCS=1", Env: []string{"GOMAXPROCS=1", "GOGC=10"}, Args: []string{"-test.cpu=1,4"}}, tune.ThisMachine(harness.Version()))
	c := execRun()
	c.Exec.Env, c.Preset = []string{"GOGC=50"}, path
	p := prepare(t, c)
	got := p.exec.Targets[0]
	assert.Equal(t, []string{"GOMAXPROCS=1", "GOGC=10", "GOGC=50"}, got.Env, "the user's --env comes last, and wins")
	assert.Equal(t, "-test.cpu=1,4", got.Argv[1])
	assert.Equal(t, []string{"GOGC=50"}, c.Exec.Env, "the caller's configuration is not changed")
	assert.Equal(t, []string{"true"}, c.Exec.Targets[0].Argv)

	other := execRun(harness.ExecTarget{Name: "false", Role: result.Clean, Argv: []string{"false"}, Dir: "/"})
	other.Preset = path
	assert.Equal(t, `--preset `+path+` was tuned for the command "true", which this run does not run`, refusal(t, other))
}

func hasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestTuneACommandsEnvironment(t *testing.T) {
	dir := t.TempDir()
	// The control fails exactly when GOGC is 1: only that cell catches it.
	control := harness.ExecTarget{Name: "gc1", Role: result.Control, Argv: []string{"sh", "-c", `[ "$GOGC" != 1 ]`}}
	clean := harness.ExecTarget{Name: "ok", Role: result.Clean, Argv: []string{"true"}}
	c := execRun(control, clean)
	c.Out, c.Seed, c.SeedSet = filepath.Join(dir, "results.jsonl"), 3, true
	cfg := TuneConfig{Run: c, Budget: tune.MinBudget, Cells: 8, ConfirmRuns: 2,
		Dims: []tune.Dim{{Name: "GOMAXPROCS", Kind: tune.EnvDim, Values: []string{""}}, {Name: "GOGC", Kind: tune.EnvDim, Values: []string{"1"}}}}
	p, err := PrepareTune(cfg)
	require.NoError(t, err)
	var labels []string
	for _, cell := range p.Cells() {
		labels = append(labels, cell.Label)
	}
	assert.Equal(t, []string{"defaults", "GOGC=1"}, labels)
	res, err := p.Run(context.Background(), Hooks{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	assert.Equal(t, "GOGC=1", res.Search.Winner().Cell.Label)
	assert.Equal(t, []string{"GOGC=1"}, res.Search.Winner().Cell.Env)
	assert.Equal(t, 0, res.Confirmation.Defaults.Hits)
	assert.Equal(t, 2, res.Confirmation.Winner.Hits)
	saved, err := result.ReadResultsFile(c.Out)
	require.NoError(t, err)
	assert.Contains(t, saved.Header.Extra, ExtraTuneCells, "the header names the cells' environments")
	assert.Equal(t, report.Pass, res.Run.Summary.Verdict().Status, "the defaults' misses are the baseline, not the verdict")
	require.NotNil(t, res.Preset)
	assert.Equal(t, tune.Target{Kind: "exec", Command: control.Argv}, res.Preset.Target)
}

func TestPresetFileSetsAGoTestsBatchUnlessGiven(t *testing.T) {
	target := harness.ExecTarget{Name: "pkg.test", Role: result.Control, Argv: []string{"/x/pkg.test", "-test.count=1"}, Dir: "/"}
	path := writeTestPreset(t, tune.Target{Kind: "gotest", Package: "./pkg"},
		tune.Cell{Label: "GOMAXPROCS=1", Env: []string{"GOMAXPROCS=1"}, Batch: 5}, tune.ThisMachine(harness.Version()))
	gotest := func(batch int, given map[string]bool) Config {
		c := execRun(target)
		c.Exec.GoTest, c.Exec.Batch, c.Preset, c.Given = &harness.GoTestBuild{Package: "./pkg"}, batch, path, given
		return c
	}
	p := prepare(t, gotest(DefaultBatch, map[string]bool{}))
	assert.Equal(t, 5, p.exec.Batch, "the preset's batch")
	assert.Equal(t, []string{"GOMAXPROCS=1"}, p.exec.Targets[0].Env)
	p = prepare(t, gotest(7, map[string]bool{"batch": true}))
	assert.Equal(t, 7, p.exec.Batch, "--batch given wins")

	other := gotest(DefaultBatch, nil)
	other.Exec.GoTest.Package = "./other"
	assert.Equal(t, "--preset "+path+" was tuned for package ./pkg, not ./other", refusal(t, other))
}

func TestPrepareTuneOfAGoTest(t *testing.T) {
	dir := t.TempDir()
	c := execRun(harness.ExecTarget{Name: "pkg.test", Role: result.Control, Argv: []string{"/x/pkg.test"}, Dir: "/"})
	c.Exec.GoTest, c.Exec.Batch, c.Out = &harness.GoTestBuild{Package: "./pkg"}, DefaultBatch, filepath.Join(dir, "r.jsonl")
	// Every cell: GOMAXPROCS (at most 5 values) × GOGC (4) × -test.cpu (2)
	// × batch (3).
	cfg := TuneConfig{Run: c, Budget: time.Minute, Cells: tune.MaxCells, ConfirmRuns: 2}
	p, err := PrepareTune(cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, p.Config().Run.Exec.Batch, "a test process per iteration")
	assert.Equal(t, DefaultBatch, c.Exec.Batch, "the caller's configuration is not changed")
	cpu := "-test.cpu=1," + strconv.Itoa(2*runtime.NumCPU())
	assert.True(t, slices.ContainsFunc(p.Cells(), func(c tune.Cell) bool { return slices.Equal(c.Args, []string{cpu}) }), "the -test.cpu dimension is in the space")
	assert.True(t, slices.ContainsFunc(p.Cells(), func(c tune.Cell) bool { return slices.Equal(c.Env, []string{"GOGC=1"}) }), "the GOGC dimension is in the space")

	batches := map[int]bool{}
	for _, cell := range p.Cells() {
		batches[cell.Batch] = true
	}
	assert.Equal(t, DefaultBatch, p.Cells()[0].Batch, "the defaults cell runs gotest's default batch")
	assert.Equal(t, map[int]bool{1: true, 10: true, 100: true}, batches, "the batch dimension is in the space")

	assert.False(t, slices.ContainsFunc(p.Cells(), func(c tune.Cell) bool { return strings.Contains(c.Label, "GORACE") }),
		"no race detector, no GORACE dimension")

	// A race-enabled test binary: GORACE, whose second value makes the
	// batched executor keep a process after a race.
	for _, flags := range [][]string{{"-race=true"}, {"-race=false", "-tags=x", "-race=true"}} {
		cfg.Run.Exec = &Exec{Targets: c.Exec.Targets, GoTest: &harness.GoTestBuild{Package: "./pkg", BuildFlags: flags}, Batch: DefaultBatch}
		p, err = PrepareTune(cfg)
		require.NoError(t, err)
		i := slices.IndexFunc(p.Cells(), func(c tune.Cell) bool { return slices.Contains(c.Env, "GORACE="+tune.RepeatRaces) })
		require.GreaterOrEqual(t, i, 0, "%q: the GORACE dimension is in the space", flags)
		assert.True(t, command.Command{Env: p.Cells()[i].Env}.RepeatsRaces(), p.Cells()[i].Label)
	}

	// --batch is the defaults cell's, checked as a run's.
	cfg.Run.Exec = &Exec{Targets: c.Exec.Targets, GoTest: c.Exec.GoTest, Batch: 7}
	cfg.Run.Given = map[string]bool{"batch": true}
	p, err = PrepareTune(cfg)
	require.NoError(t, err)
	assert.Equal(t, 7, p.Cells()[0].Batch)
	assert.Equal(t, 1, p.Config().Run.Exec.Batch)
	cfg.Run.Exec.Batch = MaxBatch + 1
	assert.Contains(t, tuneRefusal(t, cfg), "--batch must be between 1 and 100000, got 100001")
	cfg.Run.Given = nil
	cfg.Run.Exec = &Exec{Targets: c.Exec.Targets, GoTests: []harness.GoTestBuild{{Package: "./pkg"}}}
	assert.Contains(t, tuneRefusal(t, cfg), "trees are not tuned yet")
	cfg.Run.Exec, cfg.Seconds = c.Exec, 1
	assert.Contains(t, tuneRefusal(t, cfg), "--seconds is a scenario's knob")
}

// fakeBatches is a cell's batched executor that runs nothing: it logs the
// trials it is given and how often it was closed, and its records say the
// process was replaced at the iterations in replace.
type fakeBatches struct {
	cell    string
	log     *[]string
	replace map[int]bool // by trial
}

func (f *fakeBatches) Execute(_ context.Context, spec harness.Spec) (result.Record, bool) {
	*f.log = append(*f.log, fmt.Sprintf("%s r%d %d/%d", spec.Cell, spec.Round, spec.Iteration, spec.Batch))
	rec := result.Record{Trial: spec.Trial, Registry: spec.Registry, Role: spec.Role, Outcome: result.OK, DurationNs: 1,
		Process: &result.Process{Isolation: "batch"}}
	if f.replace[spec.Trial] {
		rec.Outcome, rec.Detected, rec.Signature = result.DataRace, true, true
		rec.Process.Recycled = "replaced after data-race"
	}
	return rec, true
}

func (f *fakeBatches) Close() error {
	*f.log = append(*f.log, "close "+f.cell)
	return nil
}

func TestTuneSearchRunsACellsIterationsInItsOwnBatches(t *testing.T) {
	c := execRun(harness.ExecTarget{Name: "pkg.test", Role: result.Control, Argv: []string{"/x/pkg.test"}, Dir: "/"})
	c.Exec.GoTest, c.Exec.Batch, c.Out = &harness.GoTestBuild{Package: "./pkg"}, DefaultBatch, filepath.Join(t.TempDir(), "r.jsonl")
	p, err := PrepareTune(TuneConfig{Run: c, Budget: time.Minute, ConfirmRuns: 2})
	require.NoError(t, err)
	e := p.newCellExecutors(p.base)
	var log []string
	names := []string{"a", "b"} // the cells, in the order their trials first run
	e.batches = func(_ *Plan, subs []scenarios.Subject, _ string) batchExecutor {
		require.Len(t, subs, 1)
		require.NotEmpty(t, names, "one executor per cell")
		f := &fakeBatches{cell: names[0], log: &log, replace: map[int]bool{7: true}}
		names = names[1:]
		return f
	}
	a := tune.Cell{Label: "a", Batch: 3}
	b := tune.Cell{Label: "b", Batch: 2, Env: []string{"GOGC=1"}}
	for trial, cell := range []tune.Cell{a, a, b, a, a, a, a, a, a} {
		spec := e.searchSpec(cell, harness.Spec{Trial: trial, Round: trial, Registry: "pkg.test", Role: result.Control, Cell: cell.Label})
		s, rec, err := e.sample(context.Background(), cell, spec)
		require.NoError(t, err)
		assert.Positive(t, s.Wall)
		assert.Equal(t, trial == 7, s.Hit)
		more := e.searchDone(cell, spec, rec)
		assert.Equal(t, spec.Iteration < spec.Batch-1 && trial != 7, more, "trial %d: the batch runs on", trial)
	}
	require.NoError(t, e.Close())
	require.Len(t, log, 13)
	slices.Sort(log[11:]) // the search's end closes both, in any order
	assert.Equal(t, []string{
		"a r0 0/3", "a r0 1/3",
		"close a", "b r0 0/2", // b's trial ends a's batch
		"close b", "a r1 0/3", "a r1 1/3", "a r1 2/3", // a starts a new batch, not the rest of the one ended
		"a r2 0/3", "a r2 1/3", // trial 7: its process was replaced
		"a r3 0/3", // a new batch
		"close a", "close b",
	}, log)
	assert.Empty(t, e.batched)
}

// TestTuneAGoTestsBatchReal tunes a real test binary: flakytest's
// TestCounted fails in the second run of every three in a process, so one
// iteration per process never fails and batches of 3 fail once each. The
// search reads a cell's batches whole, so the batch cell is caught in
// every batch however loaded the machine, and wins; its preset says batch
// 3. Nothing here depends on timing but the budget: 20s, in which each
// cell runs at least one batch even when a test process takes seconds to
// start (over 3 s was seen with four busy loops on the two cores).
func TestTuneAGoTestsBatchReal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "results.jsonl")
	targets, builds, err := GoTest(context.Background(), GoTestPackage{Package: "../cmd/racestress/testdata/flakytest", Role: result.Control, Run: "^TestCounted$"}, out, time.Minute)
	require.NoError(t, err)
	c := execRun(targets...)
	c.Exec.GoTest, c.Exec.Batch, c.Out, c.Seed, c.SeedSet = &builds[0], 1, out, 1, true
	c.Given = map[string]bool{"batch": true}
	p, err := PrepareTune(TuneConfig{Run: c, Budget: 20 * time.Second, ConfirmRuns: 6})
	require.NoError(t, err)
	require.Equal(t, 1, p.cells[0].Batch, "--batch 1: the defaults cell's")
	p.cells = []tune.Cell{p.cells[0], {Label: "batch=3", Batch: 3}}
	res, err := p.Run(context.Background(), Hooks{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	w := res.Search.Winner()
	assert.Equal(t, "batch=3", w.Cell.Label)
	assert.Equal(t, (w.Trials+1)/3, w.Hits, "one failure a batch, in its second iteration (the budget may end the last)")
	assert.Zero(t, res.Search.Cells[1].Hits, "a process per iteration never fails")
	// The confirmation: blocks of 3 iterations of each cell, each the
	// winner's a batch of its own.
	assert.Equal(t, 6, res.Confirmation.Defaults.Trials)
	assert.Zero(t, res.Confirmation.Defaults.Hits)
	assert.Equal(t, 6, res.Confirmation.Winner.Trials)
	assert.Equal(t, 2, res.Confirmation.Winner.Hits)
	saved, err := result.ReadResultsFile(out)
	require.NoError(t, err)
	pids := map[int]bool{}
	for _, r := range saved.Records {
		if r.Cell == TunedCell {
			require.NotNil(t, r.Process)
			assert.Equal(t, "batch", r.Process.Isolation)
			pids[r.Process.WorkerPID] = true
		}
	}
	assert.Len(t, pids, 2, "two processes of 3 iterations")
	require.NotNil(t, res.Preset)
	assert.Equal(t, 3, res.Preset.Cell.Batch, "the preset runs gotest in batches of 3")
	assert.Equal(t, `winner: batch=3 (environment [], flags [], batch 3; the defaults' batch 1)`, res.ConfirmationLines()[0])
	assert.Equal(t, tune.Target{Kind: "gotest", Package: "../cmd/racestress/testdata/flakytest"}, res.Preset.Target)
}
