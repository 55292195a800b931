package tune

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

// fixtureTable is a search table with literal numbers (not computed, so
// that the golden files do not depend on the platform's floating point):
// a winner, a finalist, cells dropped early (one that never failed, one
// whose label needs escaping) and one that never ran.
func fixtureTable() SearchTable {
	base := scenarios.ThreadSafety.DefaultKnobsOf()
	win := base
	win.GOGC, win.Procs, win.Preset = 1, 4, ""
	fin := base
	fin.GOGC, fin.Chaos, fin.Preset = 25, "high", ""
	wide := base
	wide.Threads, wide.Makers, wide.Runners, wide.Preset = 32, 16, 16, ""
	big := base
	big.Slots, big.PerSlot, big.MaxPriority, big.SleepScale, big.Preset = 512, 160, 1600, 0.8, ""
	ms := time.Millisecond
	return SearchTable{
		Budget: 3 * time.Minute, Elapsed: 179*time.Second + 412*ms, Rungs: 3, Trials: 2514, Stop: "one cell left",
		Cells: []CellStats{
			{Cell: Cell{Label: "gogc=1 procs=4 isolation=pool", Knobs: win, Isolation: "pool"},
				Rate: Rate{Trials: 1412, Hits: 1390, Wall: 61*time.Second + 250*ms, PerSecond: 22.694, Lo: 21.512, Hi: 23.921},
				Rung: 3, MedianTTFF: 21400 * time.Microsecond, Winner: true},
			{Cell: Cell{Label: "gogc=25 chaos=high", Knobs: fin, Isolation: "process"},
				Rate: Rate{Trials: 702, Hits: 690, Wall: 60*time.Second + 800*ms, PerSecond: 11.349, Lo: 10.516, Hi: 12.228},
				Rung: 3, MedianTTFF: 47 * ms},
			{Cell: Cell{Label: "defaults", Knobs: base, Isolation: "process"},
				Rate: Rate{Trials: 300, Hits: 297, Wall: 28*time.Second + 500*ms, PerSecond: 10.421, Lo: 9.2693, Hi: 11.675},
				Rung: 2, MedianTTFF: 52 * ms},
			{Cell: Cell{Label: "threads=32 <a|b>", Knobs: wide, Isolation: "process"},
				Rate: Rate{Trials: 100, Hits: 0, Wall: 14*time.Second + 100*ms, PerSecond: 0, Lo: 0, Hi: 0.26162},
				Rung: 1},
			{Cell: Cell{Label: "slots=512 per-slot=160 max-priority=1600 sleep-scale=0.8", Knobs: big, Isolation: "process"}},
		},
	}
}

// fixturePreset is a preset around fixtureTable.
func fixturePreset() *Preset {
	t := fixtureTable()
	return &Preset{
		Kind: PresetKind, Version: PresetVersion,
		Target: Target{Kind: "scenario", Scenario: "bpo24484", Subjects: []string{"unfixed", "fixed"}},
		Cell:   t.Cells[0].Cell,
		Confirmation: Confirmation{
			Defaults: Rate{Trials: 400, Hits: 396, Wall: 40 * time.Second, PerSecond: 9.9, Lo: 8.9511, Hi: 10.922},
			Winner:   Rate{Trials: 900, Hits: 890, Wall: 40 * time.Second, PerSecond: 22.25, Lo: 20.818, Hi: 23.757},
			Gain:     Ratio{Value: 2.2475, Lo: 1.9969, Hi: 2.5334},
		},
		Search:  t,
		Machine: Machine{CPUs: 2, GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Racestress: "v0.9.0"},
	}
}
