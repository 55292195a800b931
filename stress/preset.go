package stress

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/tune"
)

// IsPresetFile reports whether a --preset value names a tuned preset file
// (racestress tune's) rather than one of a scenario's presets: a name
// ending in .json, or an existing file.
func IsPresetFile(v string) bool {
	if v == "" {
		return false
	}
	if strings.HasSuffix(v, ".json") {
		return true
	}
	fi, err := os.Stat(v)
	return err == nil && fi.Mode().IsRegular()
}

// loadedPreset is a tuned preset a run takes its settings from.
type loadedPreset struct {
	path string
	p    *tune.Preset
	// warnings name each way this machine differs from the preset's.
	warnings []string
}

// LoadPreset reads the tuned preset file path, strictly (tune.ReadPreset).
func LoadPreset(path string) (*tune.Preset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return tune.ReadPreset(f)
}

// PresetWarnings returns the warnings a run with p prints: one for each
// way this machine differs from the one p was tuned on.
func PresetWarnings(path string, p *tune.Preset, m tune.Machine) []string {
	var w []string
	for _, d := range p.Compare(m) {
		w = append(w, fmt.Sprintf("preset %s: %s: it still runs, but its knobs may not be the fastest here (racestress tune finds this machine's)", path, d))
	}
	return w
}

func (lp *loadedPreset) header() *result.HeaderPreset {
	m, r := lp.p.Machine, lp.p.Confirmation.Winner
	return &result.HeaderPreset{
		Path: lp.path, Cell: lp.p.Cell.Label, Hazard: r.PerSecond, HazardLo: r.Lo, HazardHi: r.Hi,
		Machine: fmt.Sprintf("%d CPUs, %s %s/%s, racestress %s", m.CPUs, m.GoVersion, m.GOOS, m.GOARCH, orUnknown(m.Racestress)),
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown version)"
	}
	return s
}

// applyPreset loads the tuned preset Preset names, if it names a file,
// checks that it was tuned for the run's target, and takes its settings:
// for a scenario its knobs, isolation and subjects; for commands its
// environment, flags and batch. Settings given explicitly (Knobs, Set,
// an isolation or batch given (Given), Registries, Env, the test binary's
// own flags) override it.
func (p *Plan) applyPreset() error {
	c := &p.cfg
	if !IsPresetFile(c.Preset) {
		return nil
	}
	path := c.Preset
	tp, err := LoadPreset(path)
	if err != nil {
		return usage("--preset %s: %v", path, err)
	}
	t, cell := tp.Target, tp.Cell
	kind := "scenario"
	if c.Exec != nil {
		kind = "exec"
		if c.Exec.GoTest != nil {
			kind = "gotest"
		}
	}
	if t.Kind != kind {
		return usage("--preset %s was tuned for a %s target, not a %s run", path, t.Kind, kind)
	}
	switch kind {
	case "scenario":
		name := c.Scenario
		if c.Declared != nil {
			name = c.Declared.Name
		}
		switch {
		case name == "" || c.Given != nil && !c.Given["scenario"] && c.Declared == nil:
			c.Scenario = t.Scenario // not given: the preset's
		case name != t.Scenario:
			return usage("--preset %s was tuned for scenario %s, not %s", path, t.Scenario, name)
		}
		if c.Knobs == nil {
			k := cell.Knobs
			c.Knobs = &k
		}
		if !c.Given["isolate"] && cell.Isolation != "" {
			c.Isolation = cell.Isolation
		}
		if c.Registries == nil && c.Subjects == nil {
			c.Registries = slices.Clone(t.Subjects)
		}
	default:
		x := *c.Exec
		if kind == "gotest" && t.Package != x.GoTest.Package {
			return usage("--preset %s was tuned for package %s, not %s", path, t.Package, x.GoTest.Package)
		}
		if kind == "exec" && !slices.ContainsFunc(x.Targets, func(e harness.ExecTarget) bool { return slices.Equal(e.Argv, t.Command) }) {
			return usage("--preset %s was tuned for the command %q, which this run does not run", path, strings.Join(t.Command, " "))
		}
		if cell.Batch > 0 && !c.Given["batch"] {
			x.Batch = cell.Batch
		}
		// The user's --env comes later, and wins.
		x.Env = append(slices.Clone(cell.Env), x.Env...)
		x.Targets = slices.Clone(x.Targets)
		for i, e := range x.Targets {
			if len(e.Argv) > 0 && len(cell.Args) > 0 {
				// Right after the program, so that the command's own
				// flags, later, win.
				x.Targets[i].Argv = slices.Concat(e.Argv[:1], cell.Args, e.Argv[1:])
			}
		}
		c.Exec = &x
	}
	c.Preset = ""
	p.preset = &loadedPreset{path: path, p: tp, warnings: PresetWarnings(path, tp, tune.ThisMachine(harness.Version()))}
	return nil
}
