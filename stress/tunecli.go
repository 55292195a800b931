package stress

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/tune"
)

// TuneFlags are the flags racestress tune adds to a run's.
type TuneFlags struct {
	Cells         int
	ConfirmRuns   int
	ConfirmBudget time.Duration
	Seconds       float64
	PresetOut     string
	// Dims are a command tune's --sweep dimensions.
	Dims dimsFlag
}

// dimsFlag is a command tune's --sweep KEY=V1,V2: an environment variable,
// or a flag of the command when KEY starts with "-".
type dimsFlag []tune.Dim

func (d *dimsFlag) String() string { return "" }

func (d *dimsFlag) Set(arg string) error {
	kind := tune.EnvDim
	if strings.HasPrefix(arg, "-") {
		kind = tune.FlagDim
	}
	dim, err := tune.ParseDim(kind, arg)
	if err != nil {
		return err
	}
	*d = append(*d, dim)
	return nil
}

// AddTuneFlags defines racestress tune's own flags in fs. The run's
// --budget is the search's and its --sweep adds dimensions; tune's
// --seconds replaces the run's.
func AddTuneFlags(fs *flag.FlagSet) *TuneFlags {
	f := &TuneFlags{}
	fs.IntVar(&f.Cells, "cells", DefaultTuneCells, fmt.Sprintf("search at most `N` cells (1 to %d); a larger space is sampled, the defaults first", tune.MaxCells))
	fs.IntVar(&f.ConfirmRuns, "confirm-runs", DefaultConfirmRuns, fmt.Sprintf("confirm the winner in `N` rounds (1 to %d): each runs every control at the defaults and at the winner, every clean subject at the winner", MaxConfirmRuns))
	fs.DurationVar(&f.ConfirmBudget, "confirm-budget", 0, "stop the confirmation after `D` of wall-clock time (0: when its rounds are done)")
	fs.StringVar(&f.PresetOut, "preset-out", "", "write the tuned preset to the new `FILE` (default preset.json beside the results)")
	if fs.Lookup("sweep") == nil { // a command's tune
		fs.Var(&f.Dims, "sweep", "add the dimension `KEY=V1,V2`: an environment variable, or a flag of the command when KEY starts with - (-test.cpu=1,8); repeatable")
	}
	if s := fs.Lookup("seconds"); s != nil {
		s.Usage = "cap the preset's trials at `S` seconds (default: 30 times the winner's median time to first failure, at most the defaults')"
		s.DefValue = "0"
	}
	return f
}

// tuneRunFlags are the run's flags a tune does not take: it chooses the
// isolation itself and runs one trial at a time.
var tuneRunFlags = []string{"isolate", "runs", "count", "parallel", "shard", "failfast", "race", "keep-going", "pool-trials", "gate", "min-power", "min-effect", "max-fails"}

// Tune is racestress tune: it checks cfg (the run's configuration, set
// naming the flags given), searches, confirms, writes the preset and
// renders the search and the confirmation in format (table, markdown,
// html or json) on stdout, with the search's progress on stderr unless
// quiet. It returns the confirmation's verdict, or a *Error: why the
// tune could not start, or ended without a preset.
func (f *TuneFlags) Tune(ctx context.Context, cfg Config, set map[string]bool, format string, quiet bool, stdout, stderr io.Writer) (report.Verdict, error) {
	for _, n := range tuneRunFlags {
		if set[n] && !(n == "race" && cfg.Exec != nil) { // gotest's -race is a build flag
			return report.Verdict{}, usage("tune: --%s is not a tune's flag: a tune searches the isolation itself and runs one trial at a time", n)
		}
	}
	switch {
	case f.Cells < 1 || f.Cells > tune.MaxCells:
		return report.Verdict{}, usage("--cells must be between 1 and %d, got %d", tune.MaxCells, f.Cells)
	case f.ConfirmRuns < 1 || f.ConfirmRuns > MaxConfirmRuns:
		return report.Verdict{}, usage("--confirm-runs must be between 1 and %d, got %d", MaxConfirmRuns, f.ConfirmRuns)
	}
	if !slices.Contains([]string{"table", "markdown", "html", "json"}, format) {
		return report.Verdict{}, usage("tune: --format must be table, markdown, html or json, got %q", format)
	}
	tc := TuneConfig{Run: cfg, Cells: f.Cells, Budget: cfg.Budget, ConfirmRuns: f.ConfirmRuns, ConfirmBudget: f.ConfirmBudget, PresetOut: f.PresetOut}
	if !set["budget"] {
		tc.Budget = DefaultTuneBudget
	}
	if set["seconds"] {
		// --seconds sets the preset's trial length, not the search's.
		tc.Run.Set = slices.DeleteFunc(slices.Clone(cfg.Set), func(s Setting) bool { return s.Knob == "seconds" })
		for _, s := range cfg.Set {
			if s.Knob == "seconds" {
				if _, err := fmt.Sscan(s.Value, &tc.Seconds); err != nil {
					return report.Verdict{}, usage("--seconds: %v", err)
				}
			}
		}
	}
	tc.Run.Budget, tc.Run.Sweep, tc.Dims = 0, nil, slices.Clone(f.Dims)
	for _, d := range cfg.Sweep {
		kind := tune.KnobDim
		if d.Key == "isolation" {
			kind = tune.IsolationDim
		}
		tc.Dims = append(tc.Dims, tune.Dim{Name: d.Key, Kind: kind, Values: d.Values})
	}
	if !quiet {
		// A line when a rung starts, and at most every 10s within one.
		var last time.Time
		rung := 0
		tc.Progress = func(p tune.Progress) {
			if now := time.Now(); p.Rung != rung || now.Sub(last) >= 10*time.Second {
				fmt.Fprintln(stderr, "racestress: "+p.String())
				rung, last = p.Rung, now
			}
		}
	}
	plan, err := PrepareTune(tc)
	if err != nil {
		return report.Verdict{}, err
	}
	var hooks Hooks
	if !quiet {
		tc := plan.Config()
		fmt.Fprintf(stderr, "racestress: tune: %d cells within %v, then a confirmation of %d rounds; results in %s\n", len(plan.Cells()), tc.Budget, tc.ConfirmRuns, tc.Run.Out)
		var progress *report.Progress
		hooks.Started = func() {
			fmt.Fprintln(stderr, "racestress: tune: confirming the winner")
			progress = report.NewProgress(stderr, 0, report.IsTerminal(stderr), time.Now)
		}
		hooks.Record = func(r result.Record) { progress.Add(r) }
		defer func() {
			if progress != nil {
				progress.Done()
			}
		}()
	}
	res, err := plan.Run(ctx, hooks)
	if err != nil {
		return report.Verdict{}, err
	}
	if res.Search != nil {
		if err := RenderTune(stdout, format, res); err != nil {
			return report.Verdict{}, invalid("writing the report: %v", err)
		}
	}
	if res.Err != nil {
		return report.Verdict{}, res.Err
	}
	return res.Run.Summary.Verdict(), nil
}

// DefaultTuneBudget is the search's budget when none is given.
const DefaultTuneBudget = 3 * time.Minute

// RenderTune writes the search table and the confirmation in format:
// table or markdown (the search table in Markdown, the confirmation's
// lines, then its report), html (a page with the search's chart and
// table and the confirmation) or json.
func RenderTune(w io.Writer, format string, res *TuneResult) error {
	lines := res.ConfirmationLines()
	switch format {
	case "json":
		out := struct {
			Search       tune.SearchTable   `json:"search"`
			Seconds      float64            `json:"seconds,omitempty"`
			Confirmation *tune.Confirmation `json:"confirmation,omitempty"`
			Gain         string             `json:"gain,omitempty"`
			Lines        []string           `json:"lines,omitempty"`
			Preset       string             `json:"preset,omitempty"`
			Results      string             `json:"results,omitempty"`
			Summary      json.RawMessage    `json:"summary,omitempty"`
		}{Search: res.Search.Table(), Seconds: res.Seconds, Lines: lines, Preset: res.PresetPath}
		if res.Run != nil {
			out.Confirmation, out.Gain, out.Results = &res.Confirmation, res.Confirmation.GainString(), res.Run.Path
			var b strings.Builder
			if err := report.JSON(&b, res.Run.Summary); err != nil {
				return err
			}
			out.Summary = json.RawMessage(b.String())
		}
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(out)
	case "html":
		var b strings.Builder
		b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>racestress tune</title></head>\n<body>\n<h1>racestress tune</h1>\n<h2>Search</h2>\n")
		if err := tune.HTML(&b, res.Search.Table()); err != nil {
			return err
		}
		b.WriteString("<h2>Confirmation</h2>\n<ul>\n")
		for _, l := range lines {
			b.WriteString("<li>" + html.EscapeString(l) + "</li>\n")
		}
		b.WriteString("</ul>\n</body>\n</html>\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintln(w, "Search")
	fmt.Fprintln(w)
	if err := tune.Markdown(w, res.Search.Table()); err != nil {
		return err
	}
	if res.Run == nil {
		return nil
	}
	fmt.Fprintln(w, "\nConfirmation")
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprintln(w, "- "+l)
	}
	fmt.Fprintln(w)
	return report.Render(w, format, res.Run.Summary)
}

// ConfirmationLines says what the confirmation measured, one line each:
// the winner and its trial length, each control's hazard at the defaults
// and at the winner with the Kaplan–Meier median time to first failure,
// the gain, each clean subject's forbidden outcomes at the winner with
// their upper bound, and the preset written.
func (res *TuneResult) ConfirmationLines() []string {
	if res.Run == nil {
		return nil
	}
	w := res.Search.Winner().Cell
	iso := w.Isolation
	if iso == "" {
		iso = "process"
	}
	lines := []string{fmt.Sprintf("winner: %s (isolation %s), trials capped at %gs", w.Label, iso, res.Seconds)}
	if res.Seconds == 0 { // a command's
		lines[0] = fmt.Sprintf("winner: %s (environment %q, flags %q)", w.Label, w.Env, w.Args)
		// A Go test's: the iterations per test process.
		if i := slices.IndexFunc(res.Search.Cells, func(c tune.CellStats) bool { return c.Cell.Label == DefaultsCell }); w.Batch > 0 && i >= 0 {
			lines[0] = fmt.Sprintf("winner: %s (environment %q, flags %q, batch %d; the defaults' batch %d)", w.Label, w.Env, w.Args, w.Batch, res.Search.Cells[i].Cell.Batch)
		}
	}
	c := res.Confirmation
	for _, x := range []struct {
		cell string
		r    tune.Rate
		name string
	}{{DefaultsCell, c.Defaults, "defaults"}, {TunedCell, c.Winner, "winner"}} {
		l := fmt.Sprintf("controls at the %s (cell %s): hazard %s, %d caught in %d trials over %s", x.name, x.cell, x.r, x.r.Hits, x.r.Trials, report.FormatDuration(x.r.Wall))
		// Each control's median time to first failure in the cell, as
		// the report computes it.
		var in []result.Record
		for _, r := range res.Run.Records {
			if r.Cell == x.cell && r.Role == result.Control {
				in = append(in, r)
			}
		}
		for _, g := range report.Summarize(in).Groups {
			med := "not reached"
			if d, ok := report.KaplanMeier(g.Samples).Quantile(0.5); ok {
				med = report.FormatDuration(d)
			}
			l += fmt.Sprintf("; %s median time to first failure %s (Kaplan–Meier)", g.Registry, med)
		}
		lines = append(lines, l)
	}
	lines = append(lines, "gain: "+c.GainString())
	for _, g := range res.Run.Summary.Groups {
		if g.Role != result.Control {
			_, hi := report.ClopperPearson(g.Detected, g.Runs)
			lines = append(lines, fmt.Sprintf("clean %s at the winner: %d forbidden outcomes in %d trials (rate < %s at 95%%)", g.Registry, g.Detected, g.Runs, report.FormatUpper(hi)))
		}
	}
	if res.PresetPath != "" {
		lines = append(lines, "preset: "+res.PresetPath+" (use it with --preset FILE)")
	} else {
		lines = append(lines, "preset: none written (the confirmation did not pass)")
	}
	return lines
}
