package result

import (
	"fmt"
	"time"
)

// SchemaVersion is the version of the results file this package writes.
// Schema 1 files (no header, a "clean" flag per record) are still read.
const SchemaVersion = 2

// Kind marks a results file's header line.
const Kind = "racestress-results"

// Header is the first line of a results file: what the run was, so that a
// file describes its run and merge and report can refuse to mix runs.
type Header struct {
	Kind    string `json:"kind"`
	Schema  int    `json:"schema"`
	RunID   string `json:"run_id"`
	Version string `json:"version"` // racestress's module version or VCS revision
	Go      string `json:"go"`
	GOOS    string `json:"goos"`
	GOARCH  string `json:"goarch"`
	CPUs    int    `json:"cpus"`
	// Command is the command line, program name first.
	Command  []string        `json:"command"`
	Scenario string          `json:"scenario"`
	Subjects []HeaderSubject `json:"subjects"`
	Knobs    Knobs           `json:"knobs"`
	Cells    []HeaderCell    `json:"cells,omitempty"`
	Seed     int64           `json:"seed"`
	Rounds   int             `json:"rounds"` // -1: as many as the budget allowed
	Shard    HeaderShard     `json:"shard"`
	Verdict  VerdictPolicy   `json:"verdict"`
	Started  time.Time       `json:"started"`
	Extra    map[string]any  `json:"extra,omitempty"`
	// Preset is the tuned preset the run took its settings from, if any
	// (racestress tune; --preset FILE). Files written before it existed
	// have none: it is optional, and the schema did not change.
	Preset *HeaderPreset `json:"preset,omitempty"`
}

// HeaderPreset records the tuned preset a run took its settings from:
// its file, the cell it chose, the control's hazard the tune confirmed
// there (failures per second of wall-clock time, with its 95% interval)
// and the machine it was tuned on.
type HeaderPreset struct {
	Path     string  `json:"path"`
	Cell     string  `json:"cell"`
	Hazard   float64 `json:"hazard_per_second"`
	HazardLo float64 `json:"hazard_lo"`
	HazardHi float64 `json:"hazard_hi"`
	Machine  string  `json:"machine"`
}

// HeaderSubject is a subject of the run with the role it ran with.
type HeaderSubject struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Signature []Outcome `json:"signature,omitempty"`
}

// HeaderCell is a sweep cell.
type HeaderCell struct {
	Label string `json:"label"`
	Knobs Knobs  `json:"knobs"`
}

// HeaderShard is shard K of N; 1/1 for a whole run.
type HeaderShard struct {
	K int `json:"k"`
	N int `json:"n"`
}

// VerdictPolicy is what the run's verdict asked: the lowest acceptable
// lower bound of a control's detection rate, whether a run with no
// control may pass (the gate refuses), and, for the effect gate, the
// least effect R a clean subject must show against its control (it fails
// at most 1/R as often per trial; 0: no effect gate).
type VerdictPolicy struct {
	MinPower       float64 `json:"min_power"`
	RequireControl bool    `json:"require_control,omitempty"`
	MinEffect      float64 `json:"min_effect,omitempty"`
}

// Validate reports a header that cannot describe a run.
func (h Header) Validate() error {
	switch {
	case h.Kind != Kind:
		return fmt.Errorf("header: kind %q, want %q", h.Kind, Kind)
	case h.Schema < 2 || h.Schema > SchemaVersion:
		return fmt.Errorf("header: schema %d, this racestress reads headers of schema 2 to %d", h.Schema, SchemaVersion)
	case h.RunID == "":
		return fmt.Errorf("header: no run id")
	case h.Shard.N < 1 || h.Shard.K < 1 || h.Shard.K > h.Shard.N:
		return fmt.Errorf("header: shard %d/%d", h.Shard.K, h.Shard.N)
	case !(h.Verdict.MinPower >= 0 && h.Verdict.MinPower < 1):
		return fmt.Errorf("header: min power %g", h.Verdict.MinPower)
	}
	for _, s := range h.Subjects {
		if s.Name == "" || !s.Role.Valid() {
			return fmt.Errorf("header: subject %q with role %q", s.Name, s.Role)
		}
	}
	return nil
}

// SameRun reports how h and o differ other than by their shard index, or
// "" when they are shards of one run.
func (h Header) SameRun(o Header) string {
	switch {
	case h.RunID != o.RunID:
		return fmt.Sprintf("run ids %s and %s", h.RunID, o.RunID)
	case h.Shard.N != o.Shard.N:
		return fmt.Sprintf("shard counts %d and %d", h.Shard.N, o.Shard.N)
	case h.Seed != o.Seed:
		return fmt.Sprintf("seeds %d and %d", h.Seed, o.Seed)
	case h.Scenario != o.Scenario:
		return fmt.Sprintf("scenarios %s and %s", h.Scenario, o.Scenario)
	case !h.Knobs.Equal(o.Knobs):
		return "knobs"
	case h.Rounds != o.Rounds:
		return fmt.Sprintf("rounds %d and %d", h.Rounds, o.Rounds)
	case fmt.Sprint(h.Subjects) != fmt.Sprint(o.Subjects):
		return "subjects or roles"
	case !sameCells(h.Cells, o.Cells):
		return "sweep cells"
	case h.Verdict != o.Verdict:
		return "verdict policy"
	case h.Version != o.Version:
		return fmt.Sprintf("racestress versions %s and %s", h.Version, o.Version)
	case h.Go != o.Go:
		return fmt.Sprintf("Go versions %s and %s", h.Go, o.Go)
	}
	return ""
}

// SameMachine reports how the machines h and o ran on differ, or "" when
// they look alike. Shards of one run may run on different machines, but
// their timing, and with it their detection rates, may differ.
func (h Header) SameMachine(o Header) string {
	if h.GOOS != o.GOOS || h.GOARCH != o.GOARCH || h.CPUs != o.CPUs {
		return fmt.Sprintf("%s/%s with %d CPUs and %s/%s with %d CPUs", h.GOOS, h.GOARCH, h.CPUs, o.GOOS, o.GOARCH, o.CPUs)
	}
	return ""
}

func sameCells(a, b []HeaderCell) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Label != b[i].Label || !a[i].Knobs.Equal(b[i].Knobs) {
			return false
		}
	}
	return true
}
