package tune

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"time"
)

// The preset file's kind and the version of its format this package reads
// and writes.
const (
	PresetKind    = "racestress-preset"
	PresetVersion = 1
)

// maxPresetBytes bounds a preset file.
const maxPresetBytes = 16 << 20

// Target names what a preset was tuned for.
type Target struct {
	// Kind is "scenario", "exec" or "gotest".
	Kind string `json:"kind"`
	// Scenario and Subjects name a built-in scenario and the subjects the
	// tune ran (the control first).
	Scenario string   `json:"scenario,omitempty"`
	Subjects []string `json:"subjects,omitempty"`
	// Command is an exec target's command line.
	Command []string `json:"command,omitempty"`
	// Package and Run name a gotest target: the package and the -run
	// pattern.
	Package string `json:"package,omitempty"`
	Run     string `json:"run,omitempty"`
}

// Machine describes the machine a preset was tuned on.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GoVersion  string `json:"go_version"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	Racestress string `json:"racestress_version"`
}

// ThisMachine describes the machine this program runs on; version is
// racestress's.
func ThisMachine(version string) Machine {
	return Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Racestress: version}
}

// SearchTable is the search behind a preset.
type SearchTable struct {
	Budget  time.Duration `json:"budget_ns"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Rungs   int           `json:"rungs"`
	Trials  int           `json:"trials"`
	Stop    string        `json:"stop"`
	Cells   []CellStats   `json:"cells"`
}

// Preset is a tuned preset: the cell a tune chose for a target, what it
// measured there, the search that found it and the machine it ran on.
type Preset struct {
	Kind         string       `json:"kind"`
	Version      int          `json:"version"`
	Target       Target       `json:"target"`
	Cell         Cell         `json:"cell"`
	Confirmation Confirmation `json:"confirmation"`
	Search       SearchTable  `json:"search"`
	Machine      Machine      `json:"machine"`
}

// NewPreset returns the preset of the search res for target, confirmed by
// conf, on machine m: its cell is res's winner.
func NewPreset(target Target, res *Result, conf Confirmation, m Machine) *Preset {
	return &Preset{
		Kind: PresetKind, Version: PresetVersion, Target: target, Cell: res.Winner().Cell, Confirmation: conf,
		Search:  res.Table(),
		Machine: m,
	}
}

// Write writes p as indented JSON, after checking it.
func (p *Preset) Write(w io.Writer) error {
	if err := p.Check(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("tune: preset: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadPreset reads a preset file, strictly: another kind of file, another
// version, a field this version does not know, trailing data or a value
// out of bounds is an error that says which.
func ReadPreset(r io.Reader) (*Preset, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPresetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("preset: %w", err)
	}
	if len(b) > maxPresetBytes {
		return nil, fmt.Errorf("preset: larger than %d bytes", maxPresetBytes)
	}
	var head struct {
		Kind    string `json:"kind"`
		Version int    `json:"version"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&head); err != nil {
		return nil, fmt.Errorf("preset: not a JSON preset file: %w", err)
	}
	if head.Kind != PresetKind {
		return nil, fmt.Errorf("preset: kind %q, not a racestress preset (want kind %q)", head.Kind, PresetKind)
	}
	if head.Version != PresetVersion {
		return nil, fmt.Errorf("preset: version %d, this racestress reads version %d", head.Version, PresetVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Preset
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("preset: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("preset: data after the preset")
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Check reports the first thing wrong with p.
func (p *Preset) Check() error {
	bad := func(format string, a ...any) error { return fmt.Errorf("preset: "+format, a...) }
	t, m := p.Target, p.Machine
	switch {
	case p.Kind != PresetKind || p.Version != PresetVersion:
		return bad("kind %q version %d, want %q version %d", p.Kind, p.Version, PresetKind, PresetVersion)
	case t.Kind == "scenario" && (t.Scenario == "" || len(t.Subjects) == 0):
		return bad("a scenario target names its scenario and subjects")
	case t.Kind == "exec" && len(t.Command) == 0:
		return bad("an exec target names its command")
	case t.Kind == "gotest" && t.Package == "":
		return bad("a gotest target names its package")
	case t.Kind != "scenario" && t.Kind != "exec" && t.Kind != "gotest":
		return bad("target kind %q (want scenario, exec or gotest)", t.Kind)
	case m.CPUs < 1 || m.CPUs > 1<<16 || m.GoVersion == "" || m.GOOS == "" || m.GOARCH == "":
		return bad("the machine is not described (CPUs 1 to 65536, Go version, GOOS, GOARCH)")
	case len(p.Search.Cells) > MaxCells:
		return bad("a search of %d cells, more than %d", len(p.Search.Cells), MaxCells)
	case p.Search.Budget < 0 || p.Search.Budget > MaxBudget || p.Search.Elapsed < 0 || p.Search.Trials < 0 || p.Search.Rungs < 0:
		return bad("search figures out of bounds")
	}
	if err := checkCell(p.Cell); err != nil {
		return bad("cell: %v", err)
	}
	if err := checkRate(p.Confirmation.Defaults); err != nil {
		return bad("defaults' hazard: %v", err)
	}
	if err := checkRate(p.Confirmation.Winner); err != nil {
		return bad("winner's hazard: %v", err)
	}
	winners := 0
	for _, c := range p.Search.Cells {
		if err := checkCell(c.Cell); err != nil {
			return bad("search cell: %v", err)
		}
		if err := checkRate(c.Rate); err != nil {
			return bad("search cell %s: %v", c.Cell.Label, err)
		}
		if c.Winner {
			winners++
			if c.Cell.Label != p.Cell.Label {
				return bad("the search's winner is %s, the preset's cell %s", c.Cell.Label, p.Cell.Label)
			}
		}
	}
	if len(p.Search.Cells) > 0 && winners != 1 {
		return bad("%d winners in the search table, want 1", winners)
	}
	return nil
}

func checkCell(c Cell) error {
	switch {
	case c.Label == "":
		return errors.New("no label")
	case c.Isolation != "" && c.Isolation != "process" && c.Isolation != "pool":
		return fmt.Errorf("isolation %q (want process or pool)", c.Isolation)
	case c.Batch < 0 || c.Batch > MaxBatch:
		return fmt.Errorf("batch %d (want 0 to %d)", c.Batch, MaxBatch)
	}
	return nil
}

func checkRate(r Rate) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 }
	switch {
	case r.Trials < 0 || r.Hits < 0 || r.Hits > r.Trials || r.Wall < 0:
		return fmt.Errorf("%d hits in %d trials over %v", r.Hits, r.Trials, r.Wall)
	case !finite(r.PerSecond) || !finite(r.Lo) || !finite(r.Hi) || r.Lo > r.PerSecond || r.PerSecond > r.Hi && r.Wall > 0:
		return fmt.Errorf("hazard %v outside its interval [%v, %v]", r.PerSecond, r.Lo, r.Hi)
	}
	return nil
}

// Compare returns a warning for each way the machine the preset was tuned
// on differs from current, e.g. "tuned on 8 CPUs, this machine has 2": the
// preset still runs, but its knobs may no longer be the fastest.
func (p *Preset) Compare(current Machine) []string {
	m := p.Machine
	var w []string
	if m.CPUs != current.CPUs {
		w = append(w, fmt.Sprintf("tuned on %d CPUs, this machine has %d", m.CPUs, current.CPUs))
	}
	if m.GOOS != current.GOOS || m.GOARCH != current.GOARCH {
		w = append(w, fmt.Sprintf("tuned on %s/%s, this machine is %s/%s", m.GOOS, m.GOARCH, current.GOOS, current.GOARCH))
	}
	if m.GoVersion != current.GoVersion {
		w = append(w, fmt.Sprintf("tuned with Go %s, this is Go %s", m.GoVersion, current.GoVersion))
	}
	if m.Racestress != current.Racestress {
		w = append(w, fmt.Sprintf("tuned with racestress %s, this is racestress %s", orUnknown(m.Racestress), orUnknown(current.Racestress)))
	}
	return w
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown version)"
	}
	return s
}
