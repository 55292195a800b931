package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
)

func TestMain(m *testing.M) {
	// Process isolation re-executes os.Executable(): the test binary must
	// serve as a worker too.
	harness.MaybeWorker(nil)
	os.Exit(m.Run())
}

// runCLI runs the CLI as main does and returns its exit status and output.
func runCLI(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctx, args, &out, &errb)
	code = exitCode(err, &errb)
	return code, out.String(), errb.String()
}

func TestBadInputIsOneLineAndExitTwo(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.jsonl")
	require.NoError(t, os.WriteFile(corrupt, []byte("{\"trial\":0}\nnot json\n"), 0o644))
	cases := map[string][]string{
		"an unknown flag":                   {"--nope"},
		"a malformed number":                {"--threads", "two"},
		"too few threads":                   {"--threads", "1"},
		"a non-positive length":             {"--seconds", "0"},
		"zero runs":                         {"--runs", "0"},
		"an unknown registry":               {"--registry", "unfixed,nope"},
		"a registry named twice":            {"--registry", "fixed,fixed"},
		"an unknown scenario":               {"--scenario", "nope"},
		"a GC that never runs":              {"--gogc", "-1"},
		"an unknown format":                 {"--format", "xml"},
		"an unknown isolation":              {"--isolate", "vm"},
		"racy in process":                   {"--registry", "racy", "--isolate", "none"},
		"a bad memory limit":                {"--memory-limit", "lots"},
		"an unknown control":                {"--control", "nope"},
		"an infinite length":                {"--seconds", "Inf"},
		"a length that is not a number":     {"--seconds", "NaN"},
		"an absurd length":                  {"--seconds", "1e10"},
		"an infinite sleep scale":           {"--sleep-scale", "Inf"},
		"a watchdog shorter than the trial": {"--timeout", "1ms", "--seconds", "0.3"},
		"too many threads":                  {"--threads", "100000"},
		"too many procs":                    {"--procs", "100000"},
		"a tiny memory limit":               {"--memory-limit", "1KiB"},
		"an overflowing memory limit":       {"--memory-limit", "9999999999GiB"},
		"too many runs":                     {"--runs", "1000000000"},
		"a shard beyond its count":          {"--seed", "1", "--shard", "5/4"},
		"gate with a bad min power":         {"gate", "--min-power", "1"},
		"a subject both clean and control":  {"--clean", "fixed", "--control", "fixed"},
		"a role for a subject not run":      {"--registry", "fixed", "--control", "unfixed"},
		"replay with a sweep":               {"replay", "--sweep", "gogc=1", corrupt, "0"},
		"a stray argument":                  {"extra"},
		"list with an argument":             {"list", "x"},
		"report without a file":             {"report"},
		"report of a missing file":          {"report", filepath.Join(dir, "missing.jsonl")},
		"report of a corrupt file":          {"report", corrupt},
		"replay without a trial":            {"replay", corrupt},
		"replay of a non-number":            {"replay", corrupt, "x"},
		"parallel of zero":                  {"--parallel", "0"},
		"race without isolation":            {"--race", "--isolate", "none"},
		"a negative timeout":                {"--timeout", "-1s"},
		"a negative sleep scale":            {"--sleep-scale", "-1"},
		"report in an unknown form":         {"report", "--format", "xml", corrupt},
	}
	for name, args := range cases {
		t.Run(name+" is rejected", func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), append(args, "--out", filepath.Join(dir, "r.jsonl"))...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			assert.True(t, strings.HasPrefix(stderr, "racestress: "), stderr)
		})
	}
	t.Run("a corrupt results file is left as it was", func(t *testing.T) {
		b, err := os.ReadFile(corrupt)
		require.NoError(t, err)
		assert.Equal(t, "{\"trial\":0}\nnot json\n", string(b))
	})
}

func TestHelpGoesToStdout(t *testing.T) {
	code, stdout, _ := runCLI(t, context.Background(), "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "usage: racestress")
	assert.Contains(t, stdout, "-threads N")
}

func TestList(t *testing.T) {
	code, stdout, _ := runCLI(t, context.Background(), "list")
	assert.Equal(t, 0, code)
	for _, name := range []string{"bpo24484", "finalize-order", "unfixed", "fixed", "racy", "locked", "fast", "faithful"} {
		assert.Contains(t, stdout, name)
	}
}

func readRecords(t *testing.T, path string) []result.Record {
	t.Helper()
	res, err := result.ReadResultsFile(path)
	require.NoError(t, err)
	require.Empty(t, res.Warnings)
	return res.Records
}

func TestFinalizeOrderRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "results.jsonl")
	args := []string{"--scenario", "finalize-order", "--runs", "2", "--isolate", "none", "--quiet", "--format", "json"}

	t.Run("every registry is clean in the deterministic scenario: the run passes, and says no control ran", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), append(args, "--out", out)...)
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, "racestress: PASS unfixed clean in 2 trials")
		var doc struct {
			Groups []struct {
				Registry string         `json:"registry"`
				Role     string         `json:"role"`
				Runs     int            `json:"runs"`
				Detected int            `json:"detected"`
				Outcomes map[string]int `json:"outcomes"`
			} `json:"groups"`
			Warnings []string `json:"warnings"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
		require.Len(t, doc.Groups, 2)
		for _, g := range doc.Groups {
			assert.Equal(t, "clean", g.Role)
			assert.Equal(t, 2, g.Runs)
			assert.Equal(t, 0, g.Detected)
			assert.Equal(t, map[string]int{"ok": 2}, g.Outcomes)
		}
		assert.Contains(t, strings.Join(doc.Warnings, "\n"), "no control ran")
		assert.Len(t, readRecords(t, out), 4)
	})
	t.Run("a second run into the same file is refused and the file is left as it was", func(t *testing.T) {
		before, err := os.ReadFile(out)
		require.NoError(t, err)
		code, stdout, stderr := runCLI(t, context.Background(), append(args, "--out", out)...)
		assert.Equal(t, 2, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "already holds a run")
		after, _ := os.ReadFile(out)
		assert.Equal(t, before, after)
	})
	t.Run("overriding a role: unfixed as a control is never caught here, so the run lost power", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), append(args, "--control", "unfixed", "--out", filepath.Join(dir, "b.jsonl"))...)
		assert.Equal(t, 3, code, stderr)
		assert.Contains(t, stderr, "racestress: FAIL lost power: unfixed was never detected in 2 trials")
		t.Run("and report of the saved run gives the same verdict and exit status", func(t *testing.T) {
			code, stdout, rstderr := runCLI(t, context.Background(), "report", filepath.Join(dir, "b.jsonl"))
			assert.Equal(t, 3, code)
			assert.Contains(t, stdout, "unfixed (control)")
			assert.Equal(t, lastLine(stderr), lastLine(rstderr))
		})
	})
}

func TestProcessIsolation(t *testing.T) {
	// Parallel: it waits mostly on watchdogs and children, which the
	// other parallel tests overlap.
	t.Parallel()
	if testing.Short() {
		t.Skip("runs child processes for seconds")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "results.jsonl")
	t.Run("a locked registry with reentrant callbacks hangs, its signature, and the dump is kept", func(t *testing.T) {
		// With no runner sleep, Run is called continually; the first Run
		// that finds an entry calls a callback that re-enters the registry
		// under its lock, so every trial deadlocks as soon as the maker has
		// registered anything, within microseconds of a 0.5 s trial. The
		// watchdog, 1.5 s, races nothing: whenever it fires, the trial is
		// deadlocked or still running, a hang either way.
		code, stdout, stderr := runCLI(t, context.Background(), "--registry", "locked", "--reentrant", "--sleep-scale", "0",
			"--seconds", "0.5", "--timeout", "1.5s", "--out", out)
		assert.Equal(t, 0, code, "locked is a control whose signature is a hang: caught: %s", stderr)
		assert.Contains(t, stdout, "hang 1")
		recs := readRecords(t, out)
		require.Len(t, recs, 1)
		assert.Equal(t, result.Hang, recs[0].Outcome)
		require.NotNil(t, recs[0].Process)
		assert.FileExists(t, result.LogPath(out, recs[0].Process.Dump), "the dump's path is relative to the results file")
		assert.Contains(t, stderr, "racestress: PASS locked detected 1/1")
	})
	t.Run("as a clean subject its hang is a regression", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), "--registry", "locked", "--clean", "locked", "--reentrant", "--sleep-scale", "0",
			"--seconds", "0.5", "--timeout", "1.5s", "--out", filepath.Join(dir, "clean.jsonl"))
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stderr, "goroutine dump: ")
		assert.Contains(t, stderr, "racestress: FAIL regression: locked showed forbidden outcomes in 1 of 1 trials")
	})
	t.Run("replay reruns the trial with its recorded seed and knobs", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), "replay", out, "0", "--timeout", "1.5s", "--out", filepath.Join(dir, "replay.jsonl"))
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, "replay of trial 0 (bpo24484/locked, seed ")
		assert.Contains(t, stderr, "recorded hang, replayed hang: they agree")
		assert.Contains(t, stdout, "locked (control)")
		recs := readRecords(t, filepath.Join(dir, "replay.jsonl"))
		require.Len(t, recs, 1)
		orig := readRecords(t, out)[0]
		assert.Equal(t, orig.Seed, recs[0].Seed)
		assert.Equal(t, orig.Knobs, recs[0].Knobs)
		assert.Equal(t, result.Hang, recs[0].Outcome)
	})
	t.Run("replay of a trial that is not there is a usage error", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), "replay", out, "7")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "has no trial 7")
	})
}

// buildCLI builds the racestress binary for tests that signal it.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "racestress")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// waitLines waits until path has at least n lines, up to a minute.
func waitLines(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && bytes.Count(b, []byte("\n")) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never reached %d lines", path, n)
}

func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the binary")
	}
	bin := buildCLI(t)
	args := []string{"--runs", "200", "--seconds", "0.2", "--sleep-scale", "0.1"}

	t.Run("SIGINT stops the run, prints the summary of completed trials and exits 130", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "results.jsonl")
		cmd := exec.Command(bin, append(args, "--out", out)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Start())
		waitLines(t, out, 4)
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		err := cmd.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, 130, ee.ExitCode(), stderr.String())
		assert.Contains(t, stderr.String(), "interrupted after")
		recs := readRecords(t, out)
		assert.GreaterOrEqual(t, len(recs), 3)
		assert.Contains(t, stdout.String(), "unfixed (control)", "the summary is printed")
	})
	t.Run("after SIGKILL every line of the results file is a whole record", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "results.jsonl")
		cmd := exec.Command(bin, append(args, "--out", out, "--quiet")...)
		require.NoError(t, cmd.Start())
		waitLines(t, out, 5)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		f, err := os.Open(out)
		require.NoError(t, err)
		defer f.Close()
		sc := bufio.NewScanner(f)
		require.True(t, sc.Scan())
		var h result.Header
		require.NoError(t, json.Unmarshal(sc.Bytes(), &h), "the first line is the run's header")
		assert.Equal(t, result.Kind, h.Kind)
		n := 0
		for sc.Scan() {
			var rec result.Record
			require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "line %d", n+2)
			assert.Equal(t, h.RunID, rec.RunID)
			assert.Equal(t, n, rec.Trial, "one line per completed trial, in order")
			n++
		}
		assert.GreaterOrEqual(t, n, 4)
	})
}
