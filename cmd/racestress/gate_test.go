package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestGate(t *testing.T) {
	// Parallel: it waits mostly on watchdogs and children, which the
	// other parallel tests overlap.
	t.Parallel()
	dir := t.TempDir()
	// finalize-order is deterministic: every registry passes it, so a
	// registry made a control there is never caught.
	base := []string{"gate", "--scenario", "finalize-order", "--isolate", "none", "--quiet", "--runs", "6"}

	t.Run("refuses to pass when no control measured the harness's power", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), append(base, "--out", filepath.Join(dir, "a.jsonl"))...)
		assert.Equal(t, 3, code, stderr)
		assert.Equal(t, "racestress: FAIL lost power: no control ran: nothing measured the harness's power to detect", lastLine(stderr))
	})
	t.Run("exits 3 naming the control that lost its power and the power measured", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), append(base, "--control", "unfixed", "--out", filepath.Join(dir, "b.jsonl"))...)
		assert.Equal(t, 3, code, stderr)
		assert.Equal(t, "racestress: FAIL lost power: unfixed was never detected in 6 trials (detection rate < 46% at 95%)", lastLine(stderr))
	})
	t.Run("machine-readable output on stdout stays a valid document, the verdict line goes to stderr", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), append(base, "--control", "unfixed", "--format", "json", "--out", filepath.Join(dir, "c.jsonl"))...)
		assert.Equal(t, 3, code)
		var doc struct {
			Verdict struct {
				Status   string `json:"status"`
				ExitCode int    `json:"exit_code"`
				Line     string `json:"line"`
			} `json:"verdict"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
		assert.Equal(t, 3, doc.Verdict.ExitCode)
		assert.Equal(t, "racestress: "+doc.Verdict.Line, lastLine(stderr))
	})
	t.Run("exits 1 naming the regression and its interval", func(t *testing.T) {
		if testing.Short() {
			t.Skip("runs a child process")
		}
		// The locked registry deadlocks as soon as a reentrant callback is
		// called from Run: with no runner sleep that is within microseconds.
		code, _, stderr := runCLI(t, context.Background(), "gate", "--registry", "locked", "--clean", "locked", "--reentrant",
			"--sleep-scale", "0", "--seconds", "0.3", "--runs", "1", "--timeout", "1.5s", "--quiet", "--out", filepath.Join(dir, "d.jsonl"))
		assert.Equal(t, 1, code, stderr)
		assert.True(t, strings.HasPrefix(lastLine(stderr), "racestress: FAIL regression: locked showed forbidden outcomes in 1 of 1 trials (failure rate 100%, 95% CI [2.5%, 100%]; first: hang"), lastLine(stderr))
	})
	t.Run("a subject made clean fails the gate, and report of its results fails the same way", func(t *testing.T) {
		if testing.Short() {
			t.Skip("runs a child process")
		}
		// Deterministic, as above: the locked registry deadlocks within
		// microseconds of its first reentrant callback.
		out := filepath.Join(dir, "e.jsonl")
		code, _, stderr := runCLI(t, context.Background(), "gate", "--registry", "locked,unfixed", "--clean", "locked", "--reentrant",
			"--sleep-scale", "0", "--seconds", "0.3", "--runs", "1", "--timeout", "1.5s", "--quiet", "--out", out)
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, lastLine(stderr), "FAIL regression: locked showed forbidden outcomes")
		rcode, stdout, rstderr := runCLI(t, context.Background(), "report", out)
		assert.Equal(t, 1, rcode)
		assert.Contains(t, stdout, "locked (clean)")
		assert.Equal(t, lastLine(stderr), lastLine(rstderr))
	})
}

func TestDeclaredRoles(t *testing.T) {
	// Parallel: it waits mostly on watchdogs and children, which the
	// other parallel tests overlap.
	t.Parallel()
	if testing.Short() {
		t.Skip("runs child processes")
	}
	t.Run("racy is a control caught by its fatal signature", func(t *testing.T) {
		// With --keep-going a trial that first double-calls a finalizer goes
		// on until the unsynchronised map kills it (fatal, or a race report
		// under -race): its signature, measured in 10 of 10 trials within
		// 30 ms.
		out := filepath.Join(t.TempDir(), "r.jsonl")
		code, stdout, stderr := runCLI(t, context.Background(), "--registry", "racy", "--seconds", "4", "--keep-going", "--quiet", "--out", out)
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "racy (control)")
		assert.Contains(t, lastLine(stderr), "racestress: PASS racy detected 1/1")
	})
	t.Run("list shows every subject's role and signature", func(t *testing.T) {
		code, stdout, _ := runCLI(t, context.Background(), "list")
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "racy               control, caught by fatal or data-race")
		assert.Contains(t, stdout, "unfixed            control, caught by changed-size (default)")
		assert.Contains(t, stdout, "fixed              clean (default)")
	})
}

func TestExitStatusesOfIOErrors(t *testing.T) {
	// A results folder that cannot be made (a file stands where a folder
	// must be): even root cannot write there.
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	code, stdout, stderr := runCLI(t, context.Background(), "--scenario", "finalize-order", "--isolate", "none", "--quiet", "--out", filepath.Join(file, "x", "r.jsonl"))
	assert.Equal(t, 4, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "racestress: INVALID: results file")
	assert.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
}

func TestResultsNotWritableAreInvalid(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	code, _, stderr := runCLI(t, context.Background(), "--scenario", "finalize-order", "--isolate", "none", "--quiet", "--out", "/dev/full")
	assert.Equal(t, 4, code, stderr)
	assert.Contains(t, stderr, "racestress: INVALID: results file")
}

func TestShardsMergeToTheUnshardedRun(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--scenario", "finalize-order", "--isolate", "none", "--quiet", "--seed", "11", "--runs", "10"}
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
	merged := render("merge", s1, s2)
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
		assert.Contains(t, stderr, "not shards of one run")
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
		"--runs", "2", "--out", path, "--sweep", "gogc=1,10", "procs=1,2")
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
