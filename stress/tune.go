package stress

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
	"github.com/racestress/racestress/tune"
)

// TuneConfig is what a tune of a built-in scenario is: the run it tunes
// and how to search. Run names the scenario, the subjects with their
// roles (the controls are searched; the clean ones are confirmed at the
// winner), the knobs the defaults cell starts from, the watchdog and
// memory limit, and the confirmation's results file (Out) and command
// line; its isolation, rounds, budget and sweep are the tune's own.
type TuneConfig struct {
	Run Config
	// Dims are the user's own dimensions (--sweep), added to
	// tune.ScenarioSpace's.
	Dims []tune.Dim
	// Cells is the most cells searched, 1 to tune.MaxCells (0:
	// DefaultTuneCells); a larger space is sampled, the defaults first.
	Cells int
	// Budget is the search's wall-clock time, tune.MinBudget to
	// tune.MaxBudget.
	Budget time.Duration
	// ConfirmRuns is the confirmation's rounds, 1 to MaxConfirmRuns (0:
	// DefaultConfirmRuns): each round runs every control at the defaults
	// and at the winner, and every clean subject at the winner.
	// ConfirmBudget, when set (tune.MinBudget to MaxBudget), stops it
	// sooner.
	ConfirmRuns   int
	ConfirmBudget time.Duration
	// Seconds is the trial length of the preset (its seconds knob), with
	// which the winner is confirmed; 0 chooses it from the winner's times
	// to first failure (see TrialSeconds).
	Seconds float64
	// PresetOut is the preset file to write, which must not exist; ""
	// writes preset.json beside Run.Out.
	PresetOut string
	// Progress, when set, is called after each round of the search.
	Progress func(tune.Progress)
}

// Bounds and defaults of a tune.
const (
	DefaultTuneCells   = 24
	DefaultConfirmRuns = 200
	MaxConfirmRuns     = 100_000
)

// TunePlan is a checked tune, ready to search.
type TunePlan struct {
	cfg      TuneConfig
	base     *Plan // the run the cells are trials of
	sc       *scenarios.Scenario
	controls []scenarios.Subject
	cells    []tune.Cell
	seed     int64
	// worker makes a cell's executor: Plan.worker, or a test's fake.
	worker func(p *Plan, ctx context.Context, isolation, logDir string) (harness.Executor, error)
	// batches makes a cell's batched executor: Plan.batches, or a test's
	// fake.
	batches func(p *Plan, subjects []scenarios.Subject, logDir string) batchExecutor
	// exec is set when the targets are commands (exec, gotest): a cell
	// sets their environment and flags.
	exec bool
}

// PrepareTune checks cfg, every bound, and returns the tune it describes.
func PrepareTune(cfg TuneConfig) (*TunePlan, error) {
	c := cfg.Run
	switch {
	case c.Race:
		return nil, usage("tune: --race is not a dimension of a scenario's tune")
	case len(c.Sweep) > 0 || len(c.Cells) > 0:
		return nil, usage("tune: give dimensions with --sweep KEY=V1,V2 (tune.Dim), not sweep cells")
	case cfg.Cells < 0 || cfg.Cells > tune.MaxCells:
		return nil, usage("--cells must be between 1 and %d, got %d", tune.MaxCells, cfg.Cells)
	case cfg.Budget < tune.MinBudget || cfg.Budget > tune.MaxBudget:
		return nil, usage("--budget must be between %v and %v, got %v", tune.MinBudget, tune.MaxBudget, cfg.Budget)
	case cfg.ConfirmRuns < 0 || cfg.ConfirmRuns > MaxConfirmRuns:
		return nil, usage("--confirm-runs must be between 1 and %d, got %d", MaxConfirmRuns, cfg.ConfirmRuns)
	case cfg.ConfirmBudget != 0 && (cfg.ConfirmBudget < tune.MinBudget || cfg.ConfirmBudget > MaxBudget):
		return nil, usage("--confirm-budget must be 0 (none) or between %v and %v, got %v", tune.MinBudget, MaxBudget, cfg.ConfirmBudget)
	case cfg.Seconds != 0 && c.Exec != nil:
		return nil, usage("tune: --seconds is a scenario's knob; a command runs as long as it runs")
	case cfg.Seconds != 0 && !(cfg.Seconds >= MinTrialSeconds && cfg.Seconds <= MaxTrialSeconds):
		return nil, usage("--seconds must be 0 (chosen) or between %g and %g, got %g", MinTrialSeconds, MaxTrialSeconds, cfg.Seconds)
	}
	if x := c.Exec; x != nil {
		switch {
		case len(x.GoTests) > 0:
			return nil, usage("tune gotest: --control/--clean trees are not tuned yet: tune one package's test binary (--role control)")
		}
		// A cell says its own batch (Cell.Batch): the runs the tune
		// prepares are of one iteration per trial. The base run (c) checks
		// --batch, the defaults cell's.
		y := *x
		y.Batch = 1
		cfg.Run.Exec = &y
	}
	if cfg.Cells == 0 {
		cfg.Cells = DefaultTuneCells
	}
	if cfg.ConfirmRuns == 0 {
		cfg.ConfirmRuns = DefaultConfirmRuns
	}
	if c.Out == "" {
		return nil, usage("tune: the confirmation needs a results file")
	}
	if cfg.PresetOut == "" {
		cfg.PresetOut = filepath.Join(filepath.Dir(c.Out), "preset.json")
	}
	for _, f := range [][2]string{{"--out", c.Out}, {"--preset-out", cfg.PresetOut}} {
		if _, err := os.Stat(f[1]); err == nil {
			return nil, usage("%s: %s exists; racestress does not overwrite a file", f[0], f[1])
		}
	}
	// The base run: one trial per subject, in a child process, checked
	// as any run is (scenario, subjects and roles, knobs, watchdog,
	// memory limit).
	c.Out, c.Runs, c.RunsSet, c.Budget, c.Parallel, c.Isolation = "", 1, true, 0, 1, "process"
	if c.PoolTrials == 0 {
		c.PoolTrials = harness.DefaultPoolTrials
	}
	base, err := Prepare(c)
	if err != nil {
		return nil, err
	}
	if base.preset != nil {
		return nil, usage("tune: --preset FILE: a tune starts from a scenario's preset, not a tuned one")
	}
	t := &TunePlan{cfg: cfg, base: base, sc: base.engine.Scenario, seed: base.engine.Seed, worker: (*Plan).worker, batches: planBatches, exec: base.exec != nil}
	t.cfg.Run.Seed, t.cfg.Run.SeedSet = t.seed, true
	for _, s := range base.engine.Subjects {
		if s.Role == result.Control {
			t.controls = append(t.controls, s)
		}
	}
	if len(t.controls) == 0 {
		return nil, usage("tune: no control among the subjects: a tune searches for the knobs that catch a control fastest (name one with --registry or --control)")
	}
	var space *tune.Space
	if x := c.Exec; t.exec {
		// The commands' own --env is the defaults cell's environment; a
		// Go test's --batch (DefaultBatch when not given) its batch.
		base, opt := tune.Cell{Env: slices.Clone(x.Env)}, tune.SpaceOptions{Dims: cfg.Dims}
		if x.GoTest != nil {
			base.Batch, opt.GoTest, opt.Batches = cmp.Or(x.Batch, DefaultBatch), true, TuneBatches
			opt.RaceReports = raceBuild(x.GoTest.BuildFlags)
		}
		space, err = tune.ExecSpace(base, opt)
	} else {
		space, err = tune.ScenarioSpace(t.sc, base.engine.Knobs, tune.SpaceOptions{Dims: cfg.Dims})
	}
	if err != nil {
		return nil, usage("--sweep: %v", err)
	}
	if t.cells, err = space.Cells(cfg.Cells, t.seed); err != nil {
		return nil, usage("--cells: %v", err)
	}
	for _, cell := range t.cells {
		if t.exec {
			continue
		}
		if err := t.sc.CheckKnobs(cell.Knobs); err != nil {
			return nil, usage("cell %s: %v", cell.Label, err)
		}
	}
	return t, nil
}

// TuneBatches are the batch sizes a Go test's tune tries besides the
// defaults' (--batch): one process per iteration, and warm processes of
// 10 and 100 iterations (-test.count).
var TuneBatches = []int{1, 10, 100}

func planBatches(p *Plan, subjects []scenarios.Subject, logDir string) batchExecutor {
	return p.batches(subjects, logDir)
}

// Bounds of a trial's length (the seconds knob) that a tune chooses.
const (
	MinTrialSeconds = 0.01
	MaxTrialSeconds = 24 * 3600.0
)

// Cells returns the cells the tune searches, the defaults first.
func (t *TunePlan) Cells() []tune.Cell { return slices.Clone(t.cells) }

// Config returns the tune's configuration, its defaults filled in.
func (t *TunePlan) Config() TuneConfig { return t.cfg }

// TuneResult is what a tune did.
type TuneResult struct {
	// Search is the search; nil when it did not run.
	Search *tune.Result
	// Seconds is the trial length the winner was confirmed and the preset
	// written with.
	Seconds float64
	// Confirmation is the control's hazard at the defaults and at the
	// winner, measured afresh in the confirmation run, and the gain.
	Confirmation tune.Confirmation
	// Run is the confirmation run; nil when it did not run.
	Run *Result
	// Preset is the tuned preset, written to PresetPath when the
	// confirmation passed; nil otherwise.
	Preset     *tune.Preset
	PresetPath string
	// Err, when set, says why the tune has no preset: an *Error, or the
	// confirmation's verdict decides (Run.Summary.Verdict()).
	Err error
}

// Run searches, confirms the winner and writes the preset. hooks follow
// the confirmation run. Its error is a *Error: the tune could not start;
// the result's Err says why it ended without a preset.
func (t *TunePlan) Run(ctx context.Context, hooks Hooks) (*TuneResult, error) {
	out := &TuneResult{}
	if x := t.base.exec; x != nil && x.GoTest != nil {
		if err := buildTest(ctx, x.GoTest); err != nil {
			return nil, err
		}
	}
	execs := t.newCellExecutors(t.base)
	defer execs.Close()
	seen := map[string][]tune.Sample{}
	var trial int
	run := func(ctx context.Context, cell tune.Cell) (tune.Sample, error) {
		sub := t.controls[len(seen[cell.Label])%len(t.controls)]
		spec := execs.searchSpec(cell, harness.Spec{
			Trial: trial, Round: trial, Scenario: t.sc.Name, Registry: sub.Name, Role: sub.Role,
			Signature: sub.Signature, Cell: cell.Label, Seed: t.seed + int64(trial), Knobs: cell.Knobs,
		})
		trial++
		s, rec, err := execs.sample(ctx, cell, spec)
		if err == nil {
			s.More = execs.searchDone(cell, spec, rec)
			seen[cell.Label] = append(seen[cell.Label], s)
		}
		return s, err
	}
	res, err := tune.Search(ctx, tune.Config{Cells: t.cells, Budget: t.cfg.Budget, Run: run, Seed: t.seed, Progress: t.cfg.Progress})
	execs.Close()
	out.Search = res
	switch {
	case err != nil && ctx.Err() != nil:
		out.Err = &Error{Kind: Interrupted, Msg: fmt.Sprintf("interrupted in the search, after %d trials", res.Trials)}
		return out, nil
	case err != nil:
		out.Err = invalid("%v", err)
		return out, nil
	}
	w := res.Winner()
	if w.Hits == 0 {
		out.Err = &Error{Kind: NotCaught, Msg: fmt.Sprintf("tune: no control was caught in any of %d cells (%d trials): there are no knobs to tune", len(res.Cells), res.Trials)}
		return out, nil
	}
	out.Seconds = t.cfg.Seconds
	if out.Seconds == 0 && !t.exec {
		out.Seconds = TrialSeconds(seen[w.Cell.Label], t.base.engine.Knobs.Seconds)
	}
	return out, t.confirm(ctx, hooks, out)
}

// TrialSeconds returns the trial length a preset is written with, from
// the winner's samples: long enough that a control caught as fast as in
// them is caught in nearly every trial, 30 times the Kaplan–Meier median
// time to first failure and 4 times the longest one seen, rounded up to
// two significant digits; at least MinTrialSeconds, at most the defaults'
// seconds (max). For a time to first failure exponential beyond a floor,
// a trial of 30 medians misses with probability below 2⁻³⁰.
func TrialSeconds(samples []tune.Sample, max float64) float64 {
	var obs []report.Sample
	var longest time.Duration
	for _, s := range samples {
		obs = append(obs, report.Sample{T: s.TTFF, Detected: s.Hit})
		if s.Hit {
			longest = maxDuration(longest, s.TTFF)
		}
	}
	med, ok := report.KaplanMeier(obs).Quantile(0.5)
	if !ok {
		return max
	}
	want := math.Max(30*med.Seconds(), 4*longest.Seconds())
	// Round up to two significant digits.
	p := math.Pow(10, math.Floor(math.Log10(want))-1)
	want = math.Ceil(want/p) * p
	want, _ = strconv.ParseFloat(strconv.FormatFloat(want, 'g', 2, 64), 64)
	return math.Min(math.Max(want, MinTrialSeconds), max)
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// Labels of the confirmation's cells.
const (
	DefaultsCell = "defaults"
	TunedCell    = "tuned"
)

// confirm runs the confirmation: the controls at the defaults and at the
// winner, interleaved, and the clean subjects at the winner, every record
// in the results file; then the preset, when its verdict passes.
func (t *TunePlan) confirm(ctx context.Context, hooks Hooks, out *TuneResult) error {
	w := out.Search.Winner().Cell
	tuned := w
	if !t.exec {
		tuned.Knobs.Seconds = out.Seconds
	}
	defaults := t.cells[0]
	c := t.cfg.Run
	cells := []harness.Cell{{Label: DefaultsCell, Knobs: defaults.Knobs}, {Label: TunedCell, Knobs: tuned.Knobs}}
	if !t.exec {
		c.Cells = cells
	}
	c.Runs, c.RunsSet, c.Budget, c.Parallel, c.Isolation = t.cfg.ConfirmRuns, true, t.cfg.ConfirmBudget, 1, "process"
	c.Set, c.Preset = nil, ""
	if c.PoolTrials == 0 {
		c.PoolTrials = harness.DefaultPoolTrials
	}
	plan, err := Prepare(c)
	if err != nil {
		return err
	}
	if t.exec {
		// The cells are environments and flags: the header names them.
		plan.engine.Cells = cells
		plan.extra = map[string]any{ExtraTuneCells: map[string]tune.Cell{DefaultsCell: defaults, TunedCell: tuned}}
	}
	plan.specs = t.confirmSpecs(plan.engine.Subjects, cells, []int{defaults.Batch, tuned.Batch})
	byLabel := map[string]tune.Cell{DefaultsCell: defaults, TunedCell: tuned}
	execs := t.newCellExecutors(plan)
	var mu sync.Mutex
	samples := map[string][]tune.Sample{}
	plan.tuneExec = func(ctx context.Context, logDir string) (harness.Executor, error) {
		execs.logDir = logDir
		for label, cell := range byLabel {
			cell.Label = label
			if _, err := execs.executor(ctx, cell); err != nil {
				return nil, err
			}
		}
		return executorFunc(func(ctx context.Context, spec harness.Spec) (result.Record, bool) {
			cell := byLabel[spec.Cell]
			cell.Label = spec.Cell
			s, rec, err := execs.sample(ctx, cell, spec)
			if err == nil && spec.Role == result.Control {
				mu.Lock()
				samples[spec.Cell] = append(samples[spec.Cell], s)
				mu.Unlock()
			}
			return rec, ctx.Err() == nil
		}), nil
	}
	res, err := plan.Run(ctx, hooks)
	execs.Close()
	if err != nil {
		return err
	}
	// The verdict is the winner's: the controls' trials at the defaults
	// are the baseline the gain is measured against, and a control the
	// defaults rarely catch is why one tunes.
	var at []result.Record
	for _, r := range res.Records {
		if r.Cell == TunedCell {
			at = append(at, r)
		}
	}
	res.Summary = Summarize(at, &res.Header, nil)
	if len(at) > 0 {
		res.Summary.Empty = ""
	}
	if tuned.Isolation == "pool" {
		res.Summary.Warnings = append(res.Summary.Warnings, harness.PoolIndependence)
	}
	res.Summary.Warnings = append(res.Summary.Warnings, BaselineNote)
	out.Run = res
	out.Confirmation = tune.Confirm(samples[DefaultsCell], samples[TunedCell])
	if res.Err != nil {
		out.Err = res.Err
		return nil
	}
	if v := res.Summary.Verdict(); v.Status != report.Pass {
		return nil
	}
	target := t.target(plan)
	p := tune.NewPreset(target, out.Search, out.Confirmation, tune.ThisMachine(harness.Version()))
	p.Cell = tuned
	if err := writePreset(t.cfg.PresetOut, p); err != nil {
		out.Err = invalid("--preset-out: %v", err)
		return nil
	}
	out.Preset, out.PresetPath = p, t.cfg.PresetOut
	return nil
}

// BaselineNote is the warning of a tune's confirmation: what its verdict
// covers.
const BaselineNote = "tune: this report and its verdict cover the winner's cell (tuned); the controls' trials at the defaults, also in the results file, are the baseline of the gain and are reported with it"

// ExtraTuneCells is the key, in the results header's Extra map of a
// command tune's confirmation, of its two cells' environments and flags.
const ExtraTuneCells = "tune_cells"

// target names what the tune tuned, as the preset records it.
func (t *TunePlan) target(plan *Plan) tune.Target {
	if x := t.cfg.Run.Exec; x != nil {
		if x.GoTest != nil {
			return tune.Target{Kind: "gotest", Package: x.GoTest.Package}
		}
		// The command line as given (before its program was looked up):
		// --preset compares it with the run's.
		i := slices.IndexFunc(x.Targets, func(e harness.ExecTarget) bool { return e.Role == result.Control })
		return tune.Target{Kind: "exec", Command: slices.Clone(x.Targets[i].Argv)}
	}
	target := tune.Target{Kind: "scenario", Scenario: t.sc.Name}
	for _, s := range t.controls {
		target.Subjects = append(target.Subjects, s.Name)
	}
	for _, s := range plan.engine.Subjects {
		if s.Role != result.Control {
			target.Subjects = append(target.Subjects, s.Name)
		}
	}
	return target
}

// confirmSpecs returns the confirmation's trials: round by round, each
// control at the defaults and at the winner (which first alternates), then
// each clean subject at the winner. batches are the cells' iterations per
// test process (0 or 1: one per trial): a round then runs a block of the
// larger batch's iterations of each, in order, each cell's in its batches,
// so that both cells run as they would in a run of their own and meet the
// same machine; ConfirmRuns counts iterations.
func (t *TunePlan) confirmSpecs(subjects []scenarios.Subject, cells []harness.Cell, batches []int) []harness.Spec {
	blk := max(1, slices.Max(batches))
	var specs []harness.Spec
	add := func(r, n int, s scenarios.Subject, c int) {
		b := max(1, batches[c])
		for i := range n {
			spec := harness.Spec{
				Trial: len(specs), Round: r, Scenario: t.sc.Name, Registry: s.Name, Role: s.Role, Signature: s.Signature,
				Cell: cells[c].Label, Seed: t.seed + int64(r), Knobs: cells[c].Knobs,
			}
			if b > 1 {
				spec.Batch, spec.Iteration = b, i%b
			}
			specs = append(specs, spec)
		}
	}
	for r, done := 0, 0; done < t.cfg.ConfirmRuns; r++ {
		n := min(blk, t.cfg.ConfirmRuns-done)
		done += n
		for _, s := range subjects {
			if s.Role != result.Control {
				continue
			}
			a, b := 0, 1
			if r%2 == 1 {
				a, b = b, a
			}
			add(r, n, s, a)
			add(r, n, s, b)
		}
		for _, s := range subjects {
			if s.Role != result.Control {
				add(r, n, s, 1)
			}
		}
	}
	return specs
}

// writePreset writes p to the new file path.
func writePreset(path string, p *tune.Preset) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := p.Write(f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// executorFunc is a function as a harness.Executor.
type executorFunc func(ctx context.Context, spec harness.Spec) (result.Record, bool)

func (f executorFunc) Execute(ctx context.Context, spec harness.Spec) (result.Record, bool) {
	return f(ctx, spec)
}

// cellExecutors runs a tune's trials: in a child process per trial, or in
// a pool of warm workers of the trial's cell's own, kept across its
// trials, so that a pool cell's hazard counts its workers' start once per
// worker, as a run at that cell would. A Go test's cell of batches (Batch
// > 1) runs its iterations in warm test processes of its own
// (harness.Batches), kept while the cell's trials follow one another (the
// search reads a batch whole: searchDone) and ended when another cell's
// trial starts: a batch left running would run its iterations ahead, on
// the machine the other cells are measured on, and its own would then
// seem to cost no time.
type cellExecutors struct {
	plan   *Plan
	worker func(p *Plan, ctx context.Context, isolation, logDir string) (harness.Executor, error)
	logDir string
	proc   harness.Executor
	pools  map[string]harness.Executor
	// batches makes a cell's batched executor: Plan.batches, or a test's
	// fake.
	batches func(p *Plan, subjects []scenarios.Subject, logDir string) batchExecutor
	batched map[string]batchExecutor // by cell
	active  string                   // the cell of the last trial
	next    map[string]int           // by cell, its iterations in the search
}

// batchExecutor is a harness.Batches: an executor of batches it ends with
// Close, after which it starts new ones.
type batchExecutor interface {
	harness.Executor
	io.Closer
}

func (t *TunePlan) newCellExecutors(p *Plan) *cellExecutors {
	return &cellExecutors{plan: p, worker: t.worker, pools: map[string]harness.Executor{},
		batches: t.batches, batched: map[string]batchExecutor{}, next: map[string]int{}}
}

// searchSpec returns spec, a search's trial of cell, as its cell's next
// iteration: for a cell of batches, the iterations of each of its
// processes in order (Spec.Batch, Iteration), a process a round. A batch
// starts afresh when the one before ended: its iterations were all read,
// it was replaced (searchDone) or another cell ran in between.
func (e *cellExecutors) searchSpec(cell tune.Cell, spec harness.Spec) harness.Spec {
	b := cell.Batch
	if e.plan.exec == nil || b <= 1 {
		return spec
	}
	n := e.next[cell.Label]
	if cell.Label != e.active && n%b != 0 {
		n += b - n%b
	}
	e.next[cell.Label] = n + 1
	spec.Batch, spec.Iteration, spec.Round = b, n%b, n/b
	return spec
}

// searchDone notes the record of a search's trial spec at cell, and
// reports whether the cell's batch runs on (tune.Sample.More): the search
// then runs the cell's next trial before another cell's, so that a batch
// is read whole while it runs. After a process replaced (a race, panic,
// fatal error or hang), the cell's next trial starts a new batch.
func (e *cellExecutors) searchDone(cell tune.Cell, spec harness.Spec, rec result.Record) (more bool) {
	b := spec.Batch
	if b <= 1 {
		return false
	}
	if rec.Process != nil && rec.Process.Recycled != "" {
		if n := e.next[cell.Label]; n%b != 0 {
			e.next[cell.Label] = n + b - n%b
		}
		return false
	}
	return spec.Iteration < b-1
}

// sample runs spec at cell, and returns what it tells a search: whether it caught a control's bug,
// its wall-clock time around the executor (process start and teardown
// included) and its time to first failure. A harness fault is an error.
func (e *cellExecutors) sample(ctx context.Context, cell tune.Cell, spec harness.Spec) (tune.Sample, result.Record, error) {
	if cell.Label != e.active {
		// Another cell's batches must not run on while this one's trials
		// are measured.
		if ex := e.batched[e.active]; ex != nil {
			if err := ex.Close(); err != nil {
				return tune.Sample{}, result.Record{}, err
			}
		}
		e.active = cell.Label
	}
	ex, err := e.executor(ctx, cell)
	if err != nil {
		return tune.Sample{}, result.Record{}, err
	}
	start := time.Now()
	rec, ok := ex.Execute(ctx, spec)
	wall := time.Since(start)
	if !ok {
		return tune.Sample{}, rec, context.Cause(ctx)
	}
	if rec.Invalid() {
		return tune.Sample{}, rec, fmt.Errorf("trial %d of %s: harness error: %s", spec.Trial, spec.Registry, rec.FirstError)
	}
	s := tune.Sample{Hit: rec.Detected && rec.Signature && spec.Role == result.Control, Wall: max(wall, time.Nanosecond)}
	if s.Hit && rec.TTFFNanos > 0 {
		s.TTFF = time.Duration(rec.TTFFNanos)
	} else if !s.Hit {
		s.TTFF = time.Duration(rec.DurationNs)
	}
	s.TTFF = min(max(s.TTFF, 0), s.Wall)
	return s, rec, nil
}

// executor returns the executor of cell's trials: for commands, their
// command lines with its environment and flags; for a scenario, a child
// process per trial or the cell's own pool.
func (e *cellExecutors) executor(ctx context.Context, cell tune.Cell) (harness.Executor, error) {
	label := cell.Label
	if x := e.plan.exec; x != nil {
		if ex := e.batched[label]; ex != nil {
			return ex, nil
		}
		if cell.Batch > 1 && x.GoTest == nil {
			return nil, fmt.Errorf("cell %s: batches of iterations are a Go test's", label)
		}
		run := *x
		run.Targets = slices.Clone(x.Targets)
		for i, tg := range run.Targets {
			run.Targets[i].Env = slices.Clone(cell.Env)
			run.Targets[i].Argv = slices.Concat(tg.Argv[:1], cell.Args, tg.Argv[1:])
		}
		subs, err := run.Subjects()
		if err != nil {
			return nil, err
		}
		if cell.Batch > 1 {
			ex := e.batches(e.plan, subs, e.logDir)
			e.batched[label] = ex
			return ex, nil
		}
		return harness.Commands{Subjects: subs, LogDir: e.logDir, LogBase: logBase(e.plan.cfg.Out)}, nil
	}
	if cell.Isolation == "pool" {
		if ex := e.pools[label]; ex != nil {
			return ex, nil
		}
		ex, err := e.worker(e.plan, ctx, "pool", e.logDir)
		if err != nil {
			return nil, err
		}
		e.pools[label] = ex
		return ex, nil
	}
	if e.proc == nil {
		ex, err := e.worker(e.plan, ctx, "process", e.logDir)
		if err != nil {
			return nil, err
		}
		e.proc = ex
	}
	return e.proc, nil
}

// Close stops the pools' workers and the batches' processes.
func (e *cellExecutors) Close() error {
	var errs []error
	for label, ex := range e.batched {
		errs = append(errs, ex.Close())
		delete(e.batched, label)
	}
	for label, ex := range e.pools {
		if c, ok := ex.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
		delete(e.pools, label)
	}
	return errors.Join(errs...)
}
