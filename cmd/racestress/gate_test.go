package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/result"
	"github.com/racestress/racestress/scenarios"
)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestGate(t *testing.T) {
	dir := t.TempDir()
	// finalize-order is deterministic: every registry passes it, so the
	// unfixed control is never detected there.
	base := []string{"gate", "--scenario", "finalize-order", "--isolate", "none", "--quiet", "--runs", "6"}

	t.Run("passes when the clean registries are clean and there is no control", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), append(base, "--control", "", "--clean", "fixed,unfixed", "--out", filepath.Join(dir, "a.jsonl"))...)
		assert.Equal(t, 0, code, stderr)
		assert.True(t, strings.HasPrefix(lastLine(stdout), "racestress: PASS "), lastLine(stdout))
		assert.Contains(t, lastLine(stdout), "fixed clean in 6 trials (failure rate < 45.9% at 95%)")
	})
	t.Run("exits 3 naming the control that lost its power and the power measured", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), append(base, "--out", filepath.Join(dir, "b.jsonl"))...)
		assert.Equal(t, 3, code, stderr)
		assert.Equal(t, "racestress: FAIL lost power: unfixed detected in 0 of 6 trials: power >= 0.0% at 95% (lower bound), below --min-power 50.0%", lastLine(stdout))
	})
	t.Run("exits 1 naming the regression and its interval", func(t *testing.T) {
		if testing.Short() {
			t.Skip("runs a child process")
		}
		// The locked registry deadlocks as soon as a reentrant callback is
		// called from Run: with no runner sleep that is within microseconds.
		code, stdout, stderr := runCLI(t, context.Background(), "gate", "--clean", "locked", "--control", "", "--reentrant",
			"--sleep-scale", "0", "--seconds", "0.3", "--runs", "1", "--timeout", "5s", "--quiet", "--out", filepath.Join(dir, "c.jsonl"))
		assert.Equal(t, 1, code, stderr)
		assert.True(t, strings.HasPrefix(lastLine(stdout), "racestress: FAIL regression: locked showed forbidden outcomes in 1 of 1 trials (failure rate 100.0%, 95% CI [2.5%, 100.0%]; first: hang"), lastLine(stdout))
	})
	t.Run("rejects a registry that is both clean and control", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), "gate", "--clean", "fixed", "--control", "fixed")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "cannot be both")
	})
	t.Run("naming a registry clean takes it out of the default controls", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), append(base, "--clean", "unfixed", "--out", filepath.Join(dir, "d.jsonl"))...)
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, lastLine(stdout), "unfixed clean in 6 trials")
	})
}

func TestShardsMergeToTheUnshardedRun(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--scenario", "finalize-order", "--isolate", "none", "--quiet", "--seed", "11", "--runs", "10", "--control", ""}
	run1 := func(name string, extra ...string) string {
		path := filepath.Join(dir, name)
		code, _, stderr := runCLI(t, context.Background(), append(append(common, "--out", path), extra...)...)
		require.Equal(t, 0, code, stderr)
		return path
	}
	whole := run1("whole.jsonl")
	s1 := run1("s1.jsonl", "--shard", "1/2")
	s2 := run1("s2.jsonl", "--shard", "2/2")

	type group struct {
		Registry      string         `json:"registry"`
		Runs          int            `json:"runs"`
		Detected      int            `json:"detected"`
		Outcomes      map[string]int `json:"outcomes"`
		DetectionRate float64        `json:"detection_rate"`
		CILow         float64        `json:"ci_low"`
		CIHigh        float64        `json:"ci_high"`
	}
	render := func(cmd string, args ...string) []group {
		code, stdout, stderr := runCLI(t, context.Background(), append([]string{cmd, "--format", "json"}, args...)...)
		require.Equal(t, 0, code, stderr)
		var doc struct{ Groups []group }
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
		return doc.Groups
	}
	merged := render("merge", "--control", "", s1, s2)
	assert.Equal(t, render("report", whole), merged)
	require.Len(t, merged, 2)
	assert.Equal(t, 10, merged[0].Runs)

	t.Run("each shard holds half the rounds with the unsharded trial numbers and seeds", func(t *testing.T) {
		a, b := readRecords(t, s1), readRecords(t, s2)
		all := readRecords(t, whole)
		assert.Len(t, a, 10)
		assert.Len(t, b, 10)
		for _, r := range append(a, b...) {
			w := all[r.Trial]
			assert.Equal(t, [3]any{w.Trial, w.Seed, w.Registry}, [3]any{r.Trial, r.Seed, r.Registry})
		}
	})
	t.Run("overlapping shards are refused", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), "merge", s1, whole)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "shards overlap")
	})
	t.Run("a shard without a seed is refused", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), "--shard", "1/2")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "--shard needs --seed")
	})
}

func TestSweepRunsEveryCellAsItsOwnGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sweep.jsonl")
	code, stdout, stderr := runCLI(t, context.Background(), "--scenario", "finalize-order", "--isolate", "none", "--quiet",
		"--control", "", "--runs", "2", "--out", path, "--sweep", "gogc=1,10", "procs=1,2")
	require.Equal(t, 0, code, stderr)
	recs := readRecords(t, path)
	require.Len(t, recs, 2*4*2)
	cells := map[string]result.Knobs{}
	for _, r := range recs {
		cells[r.Cell] = r.Knobs
	}
	assert.Equal(t, 1, cells["gogc=1 procs=1"].GOGC)
	assert.Equal(t, 2, cells["gogc=1 procs=2"].Procs)
	assert.Equal(t, 10, cells["gogc=10 procs=2"].GOGC)
	assert.Len(t, cells, 4)
	assert.Contains(t, stdout, "gogc=10 procs=2")
	assert.Contains(t, stdout, "gogc \\ procs", "a 2x2 sweep prints a matrix")

	t.Run("bad sweeps are usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"--sweep", "gogc=0"}, {"--sweep", "color=red"}, {"--sweep", "gogc"}, {"--sweep", "gogc=1", "gogc=2"}} {
			code, _, stderr := runCLI(t, context.Background(), args...)
			assert.Equal(t, 2, code, "%v", args)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
		}
	})
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestAdmission(t *testing.T) {
	k := scenarios.DefaultKnobs()
	k.Seconds = 1
	spec := func(reg string) harness.Spec { return harness.Spec{Registry: reg, Knobs: k} }

	t.Run("the budget stops trials that would end after it", func(t *testing.T) {
		c := &fakeClock{t: time.Unix(0, 0)}
		a := newAdmission(&options{budget: 3 * time.Second}, []string{"unfixed"}, c.now)
		assert.Equal(t, harness.Start, a.admit(spec("fixed")))
		c.t = c.t.Add(2 * time.Second)
		assert.Equal(t, harness.Start, a.admit(spec("fixed")), "ends exactly at the budget")
		c.t = c.t.Add(time.Millisecond)
		assert.Equal(t, harness.Stop, a.admit(spec("fixed")))
	})
	t.Run("failfast skips a failed group and keeps the controls running", func(t *testing.T) {
		c := &fakeClock{t: time.Unix(0, 0)}
		a := newAdmission(&options{failfast: true}, []string{"unfixed"}, c.now)
		assert.Equal(t, harness.Start, a.admit(spec("fixed")))
		assert.Equal(t, harness.Start, a.admit(spec("locked")))
		a.record(result.Record{Registry: "fixed", Detected: true})
		assert.Equal(t, harness.Skip, a.admit(spec("fixed")))
		assert.Equal(t, harness.Start, a.admit(spec("locked")))
		a.record(result.Record{Registry: "unfixed", Detected: true})
		assert.Equal(t, harness.Start, a.admit(spec("unfixed")), "controls are expected to fail")
		a.record(result.Record{Registry: "locked", Detected: true})
		assert.Equal(t, harness.Stop, a.admit(spec("locked")), "nothing left that could fail")
	})
}
