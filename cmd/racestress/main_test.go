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
	"github.com/racestress/racestress/harness/result"
)

func TestMain(m *testing.M) {
	// Process isolation re-executes os.Executable(): the test binary must
	// serve as a worker too.
	if len(os.Args) > 1 && os.Args[1] == harness.WorkerArg {
		os.Exit(worker())
	}
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
		"an unknown flag":           {"--nope"},
		"a malformed number":        {"--threads", "two"},
		"too few threads":           {"--threads", "1"},
		"a non-positive length":     {"--seconds", "0"},
		"zero runs":                 {"--runs", "0"},
		"an unknown registry":       {"--registry", "unfixed,nope"},
		"a registry named twice":    {"--registry", "fixed,fixed"},
		"an unknown scenario":       {"--scenario", "nope"},
		"a GC that never runs":      {"--gogc", "-1"},
		"an unknown format":         {"--format", "xml"},
		"an unknown isolation":      {"--isolate", "vm"},
		"racy in process":           {"--registry", "racy", "--isolate", "none"},
		"a bad memory limit":        {"--memory-limit", "lots"},
		"an unknown control":        {"--control", "nope"},
		"a stray argument":          {"extra"},
		"list with an argument":     {"list", "x"},
		"report without a file":     {"report"},
		"report of a missing file":  {"report", filepath.Join(dir, "missing.jsonl")},
		"report of a corrupt file":  {"report", corrupt},
		"replay without a trial":    {"replay", corrupt},
		"replay of a non-number":    {"replay", corrupt, "x"},
		"parallel of zero":          {"--parallel", "0"},
		"race without isolation":    {"--race", "--isolate", "none"},
		"a negative timeout":        {"--timeout", "-1s"},
		"a negative sleep scale":    {"--sleep-scale", "-1"},
		"report in an unknown form": {"report", "--format", "xml", corrupt},
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
	recs, warns, err := harness.ReadResultsFile(path)
	require.NoError(t, err)
	require.Empty(t, warns)
	return recs
}

func TestFinalizeOrderRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.jsonl")
	args := []string{"--scenario", "finalize-order", "--runs", "2", "--isolate", "none", "--quiet", "--format", "json", "--out", out}

	t.Run("the unfixed control is never caught by a deterministic scenario, so the run lost power", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), args...)
		assert.Equal(t, 3, code, stderr)
		assert.Contains(t, stderr, "lost power: finalize-order/unfixed was never detected in 2 trials")
		var doc struct {
			Groups []struct {
				Registry string         `json:"registry"`
				Runs     int            `json:"runs"`
				Detected int            `json:"detected"`
				Outcomes map[string]int `json:"outcomes"`
			} `json:"groups"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
		require.Len(t, doc.Groups, 2)
		for _, g := range doc.Groups {
			assert.Equal(t, 2, g.Runs)
			assert.Equal(t, 0, g.Detected)
			assert.Equal(t, map[string]int{"ok": 2}, g.Outcomes)
		}
		assert.Len(t, readRecords(t, out), 4)
	})
	t.Run("with no control the same run passes", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), append(args, "--control", "")...)
		assert.Equal(t, 0, code, stderr)
		assert.Len(t, readRecords(t, out), 8, "results are appended")
	})
	t.Run("report re-renders the saved run", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), "report", out)
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "unfixed (control)")
		assert.Contains(t, stdout, "ok 4")
	})
}

func TestProcessIsolation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes for seconds")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "results.jsonl")
	t.Run("a locked registry with reentrant callbacks hangs and the dump is kept", func(t *testing.T) {
		// With no runner sleep, Run is called continually; the first Run
		// that finds an entry calls a callback that re-enters the registry
		// under its lock, so every trial deadlocks as soon as the maker has
		// registered anything, within microseconds of a 1 s trial.
		code, stdout, stderr := runCLI(t, context.Background(), "--registry", "locked", "--reentrant", "--sleep-scale", "0",
			"--seconds", "1", "--timeout", "4s", "--out", out)
		assert.Equal(t, 1, code, "locked is not a control here: its hang is a forbidden outcome")
		assert.Contains(t, stdout, "hang 1")
		recs := readRecords(t, out)
		require.Len(t, recs, 1)
		assert.Equal(t, result.Hang, recs[0].Outcome)
		require.NotNil(t, recs[0].Process)
		assert.FileExists(t, recs[0].Process.Dump)
		assert.Contains(t, stderr, "goroutine dump: ")
	})
	t.Run("replay reruns the trial with its recorded seed and knobs", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), "replay", "--control", "locked", "--out", filepath.Join(dir, "replay.jsonl"), out, "0")
		assert.Equal(t, 0, code, stderr)
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
		waitLines(t, out, 3)
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
		waitLines(t, out, 4)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		f, err := os.Open(out)
		require.NoError(t, err)
		defer f.Close()
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			var rec result.Record
			require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "line %d", n+1)
			assert.Equal(t, n, rec.Trial, "one line per completed trial, in order")
			n++
		}
		assert.GreaterOrEqual(t, n, 4)
	})
}
