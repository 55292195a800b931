package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
)

// The commands of these tests fail by their trial number or seed, never by
// chance: every count below is exact.

func TestExec(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	out := filepath.Join(dir, "quarter.jsonl")

	t.Run("a command failing every fourth trial: its rate, signature and logs, exit 1", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, ctx, "exec", "--runs", "8", "--out", out, "--",
			"sh", "-c", `echo "trial $RACESTRESS_TRIAL" >&2; test $((RACESTRESS_TRIAL % 4)) -ne 0`)
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stdout, "scenario exec: sh -c 'echo \"trial $RACESTRESS_TRIAL\" >&2; test $((RACESTRESS_TRIAL % 4)) -ne 0'", "the report says what ran")
		assert.Contains(t, stdout, "sh (clean): failure rate 25% per trial, 95% CI [3.18%, 65.1%] (2 of 8 trials)")
		assert.Contains(t, stdout, "fail: exit 1: trial N")
		assert.NotContains(t, stdout, "objects/s", "a command counts no objects")
		assert.Contains(t, stderr, "racestress: FAIL regression: sh showed forbidden outcomes in 2 of 8 trials")
		assert.Contains(t, stderr, "| trial 4", "the failure's log head is shown")
		res, err := result.ReadResultsFile(out)
		require.NoError(t, err)
		require.Len(t, res.Records, 8)
		for _, r := range res.Records {
			want := result.OK
			if r.Trial%4 == 0 {
				want = result.Fail
			}
			assert.Equal(t, want, r.Outcome, "trial %d", r.Trial)
			require.NotNil(t, r.Process)
			assert.Equal(t, "exec", r.Process.Isolation)
			assert.Equal(t, r.DurationNs, r.Process.WallNanos)
			if want == result.Fail {
				assert.Equal(t, "fail: exit 1: trial N", r.FailureSignature)
				assert.Equal(t, r.DurationNs, r.TTFFNanos)
				log := r.Process.Log
				if !filepath.IsAbs(log) {
					log = filepath.Join(filepath.Dir(out), log)
				}
				b, err := os.ReadFile(log)
				require.NoError(t, err)
				assert.Contains(t, string(b), "trial ")
			}
		}
		x, ok, err := harness.ExecRunOf(res.Header)
		require.NoError(t, err)
		require.True(t, ok, "the header describes the command")
		assert.Equal(t, []string{"sh", "-c", `echo "trial $RACESTRESS_TRIAL" >&2; test $((RACESTRESS_TRIAL % 4)) -ne 0`}, x.Targets[0].Argv)
		assert.Equal(t, int64(execDefaultTimeout), x.TimeoutNs)
	})
	t.Run("replay reruns a trial with its number and seed", func(t *testing.T) {
		code, _, stderr := runCLI(t, ctx, "replay", "--quiet", out, "4", "--out", filepath.Join(dir, "replay4.jsonl"))
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, "replay of trial 4 (exec/sh, seed ")
		assert.Contains(t, stderr, "recorded fail, replayed fail: they agree")
		recs := readRecords(t, filepath.Join(dir, "replay4.jsonl"))
		require.Len(t, recs, 1)
		assert.Equal(t, 4, recs[0].Trial)
		code, _, stderr = runCLI(t, ctx, "replay", "--quiet", out, "5", "--out", filepath.Join(dir, "replay5.jsonl"))
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, "recorded ok, replayed ok: they agree")
		code, _, stderr = runCLI(t, ctx, "replay", "--race", out, "5")
		assert.Equal(t, 2, code)
		assert.Equal(t, "racestress: replay: --race does not apply to an exec run\n", stderr)
	})
	t.Run("report re-renders the run with its verdict", func(t *testing.T) {
		code, stdout, _ := runCLI(t, ctx, "report", "--format", "json", out)
		assert.Equal(t, 1, code)
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc), "stdout is one JSON document")
		assert.NotEmpty(t, doc["signatures"])
	})
	t.Run("a passing command exits 0", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, ctx, "exec", "--runs", "3", "--quiet", "--out", filepath.Join(dir, "true.jsonl"), "true")
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "true (clean): failure rate < 70.8% per trial at 95% (0 of 3 trials)")
		assert.NotContains(t, stdout, "no control ran", "a lone command has no power to lose")
	})
	t.Run("the watchdog: hangs, each with its log", func(t *testing.T) {
		o := filepath.Join(dir, "hang.jsonl")
		code, stdout, stderr := runCLI(t, ctx, "exec", "--runs", "2", "--timeout", "100ms", "--quiet", "--out", o, "--",
			"sh", "-c", "echo started; exec sleep 10")
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stdout, "hang 2")
		for _, r := range readRecords(t, o) {
			assert.Equal(t, result.Hang, r.Outcome)
			assert.True(t, r.Process.TimedOut)
			assert.NotEmpty(t, r.Process.Log)
		}
	})
	t.Run("--fail-on fails an exit 0, --ignore passes a failure", func(t *testing.T) {
		code, stdout, _ := runCLI(t, ctx, "exec", "--runs", "2", "--quiet", "--fail-on", "WARN", "--out", filepath.Join(dir, "failon.jsonl"),
			"--", "echo", "WARNING: low disk")
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, "fail 2")
		code, stdout, _ = runCLI(t, ctx, "exec", "--runs", "2", "--quiet", "--ignore", "flaky network", "--out", filepath.Join(dir, "ignore.jsonl"),
			"--", "sh", "-c", "echo flaky network >&2; exit 1")
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "ok 2")
	})
	t.Run("--max-fails and --failfast stop the run", func(t *testing.T) {
		o := filepath.Join(dir, "maxfails.jsonl")
		code, _, _ := runCLI(t, ctx, "exec", "--runs", "10", "--quiet", "--max-fails", "3", "--out", o, "false")
		assert.Equal(t, 1, code)
		assert.Len(t, readRecords(t, o), 3, "with one trial at a time, exactly the third failure stops the run")
		o = filepath.Join(dir, "failfast.jsonl")
		code, _, _ = runCLI(t, ctx, "exec", "--runs", "10", "--quiet", "--failfast", "--out", o, "false")
		assert.Equal(t, 1, code)
		assert.Len(t, readRecords(t, o), 1)
	})
	t.Run("shards merge to the whole run", func(t *testing.T) {
		// Seeds 10 to 13: round 1 (seed 11), which fails, is shard 2's.
		var parts []string
		for i, k := range []string{"1/2", "2/2"} {
			o := filepath.Join(dir, "shard"+k[:1]+".jsonl")
			code, _, stderr := runCLI(t, ctx, "exec", "--runs", "4", "--seed", "10", "--shard", k, "--quiet", "--out", o,
				"--", "sh", "-c", "test $RACESTRESS_SEED -ne 11")
			assert.Equal(t, i, code, stderr)
			parts = append(parts, o)
		}
		code, stdout, _ := runCLI(t, ctx, append([]string{"merge"}, parts...)...)
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, "1 of 4 trials")
		other := filepath.Join(dir, "other.jsonl")
		runCLI(t, ctx, "exec", "--runs", "4", "--seed", "10", "--shard", "2/2", "--quiet", "--out", other, "--", "sh", "-c", "true")
		code, _, stderr := runCLI(t, ctx, "merge", parts[0], other)
		assert.Equal(t, 2, code, "shards of another command are another run")
		assert.Contains(t, stderr, "not shards of one run")
	})
}

func TestExecCompareAndGate(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	run := func(t *testing.T, args ...string) (int, string, string) {
		return runCLI(t, ctx, append([]string{"exec", "--quiet", "--out", filepath.Join(t.TempDir(), "r.jsonl")}, args...)...)
	}
	buggy, fixed := "old=sh -c 'echo fatal error: concurrent map writes >&2; exit 2'", "new=true"
	t.Run("the fixed build clean and the buggy one caught: pass", func(t *testing.T) {
		// Six detections of six give a lower bound 0.025^(1/6) = 54% >= 50%.
		code, stdout, stderr := run(t, "--gate", "--runs", "6", "--control", buggy, "--clean", fixed)
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "old (control)")
		assert.Contains(t, stdout, "new (clean)")
		// The bounds at 97.5% each: 1-0.025^(1/6) = 45.9% over 0.025^(1/6)
		// = 54.1%, a ratio of 84.9%.
		assert.Contains(t, stdout, "effect: new (clean) fails at most 85% as often as old (control) per trial")
		assert.Contains(t, stderr, "PASS old detected 6/6 (power >= 54% at 95%); new clean in 6 trials")
	})
	t.Run("the twins swapped: exit 1", func(t *testing.T) {
		code, _, stderr := run(t, "--gate", "--runs", "6", "--control", "old=true", "--clean", "new="+strings.TrimPrefix(buggy, "old="))
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stderr, "FAIL regression: new showed forbidden outcomes in 6 of 6 trials")
	})
	t.Run("a control that stopped failing: exit 3", func(t *testing.T) {
		code, _, stderr := run(t, "--gate", "--runs", "6", "--control", "old=true", "--clean", fixed)
		assert.Equal(t, 3, code, stderr)
		assert.Contains(t, stderr, "old was never detected")
	})
	t.Run("the gate refuses a run without a control: exit 3", func(t *testing.T) {
		code, _, stderr := run(t, "--gate", "--runs", "6", "true")
		assert.Equal(t, 3, code, stderr)
		assert.Contains(t, stderr, "no control ran")
	})
	t.Run("trials interleave round by round, in the order given", func(t *testing.T) {
		o := filepath.Join(dir, "order.jsonl")
		code, _, _ := runCLI(t, ctx, "exec", "--quiet", "--runs", "2", "--out", o, "--control", buggy, "--clean", fixed)
		assert.Equal(t, 0, code)
		var names []string
		for _, r := range readRecords(t, o) {
			names = append(names, r.Registry)
		}
		assert.Equal(t, []string{"old", "new", "old", "new"}, names)
	})
	t.Run("github: the job summary appended to GITHUB_STEP_SUMMARY, annotations on stdout", func(t *testing.T) {
		summary := filepath.Join(dir, "summary.md")
		require.NoError(t, os.WriteFile(summary, []byte("earlier step\n"), 0o644))
		t.Setenv("GITHUB_STEP_SUMMARY", summary)
		code, stdout, _ := run(t, "--format", "github", "--runs", "2", "--control", "old=true", "--clean", "new="+strings.TrimPrefix(buggy, "old="))
		assert.Equal(t, 1, code)
		assert.True(t, strings.HasPrefix(stdout, "### racestress: FAIL regression"), stdout)
		assert.Contains(t, stdout, "::error title=racestress%3A exec/new failed::fatal: concurrent map writes: 2 of 2 trials")
		b, err := os.ReadFile(summary)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(b), "earlier step\n### racestress: FAIL regression"), "appended: %s", b)
		assert.NotContains(t, string(b), "::error")
	})
}

func TestExecBadInput(t *testing.T) {
	ctx := context.Background()
	for name, args := range map[string][]string{
		"no command":                    {"exec"},
		"a program not found":           {"exec", "--", "no-such-program-racestress"},
		"a malformed command":           {"exec", "--clean", "new='unterminated"},
		"a shell operator":              {"exec", "--clean", "new=true | false"},
		"two commands with one name":    {"exec", "--clean", "x=true", "--control", "x=false"},
		"a bad --fail-on":               {"exec", "--fail-on", "(", "true"},
		"a bad --ignore":                {"exec", "--ignore", "[", "true"},
		"a bad --env":                   {"exec", "--env", "novalue", "true"},
		"--min-power without --gate":    {"exec", "--min-power", "0.9", "true"},
		"zero runs":                     {"exec", "--runs", "0", "true"},
		"a negative timeout":            {"exec", "--timeout", "-1s", "true"},
		"an unknown format":             {"exec", "--format", "xml", "true"},
		"a shard without a seed":        {"exec", "--shard", "1/2", "true"},
		"a bad memory limit":            {"exec", "--memory-limit", "lots", "true"},
		"an unknown flag":               {"exec", "--nope", "true"},
		"gotest without a package":      {"gotest"},
		"gotest with two packages":      {"gotest", "./a", "./b"},
		"gotest of a missing package":   {"gotest", "./no-such-package"},
		"gotest of a pattern":           {"gotest", "../../harness/..."},
		"gotest with a bad flag":        {"gotest", "--runs", "x", "."},
		"gotest with --min-power alone": {"gotest", "--min-power", "0.9", "."},
		"gotest with an unknown role":   {"gotest", "--role", "buggy", "."},
		"replay of an exec run, --race": {"replay", "--race", "x.jsonl", "0"},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, ctx, args...)
			assert.Equal(t, 2, code, stderr)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			assert.Empty(t, stdout)
		})
	}
}

func TestGoTest(t *testing.T) {
	// Parallel: it waits mostly on go test -c and its children, which the
	// other parallel tests overlap.
	t.Parallel()
	if testing.Short() {
		t.Skip("builds test binaries")
	}
	ctx := context.Background()
	dir := t.TempDir()
	t.Run("the failing test is named in the signature", func(t *testing.T) {
		out := filepath.Join(dir, "flaky", "results.jsonl")
		code, stdout, stderr := runCLI(t, ctx, "gotest", "--batch", "1", "--runs", "4", "--quiet", "--out", out, "-run", "TestFlaky|TestOK", "./testdata/flakytest")
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stdout, "flakytest (clean): failure rate 50% per trial")
		assert.Contains(t, stdout, "fail: TestFlaky: flaky_test.go:N: trial N is odd")
		assert.NotContains(t, stdout, "TestFlaky: fail: TestFlaky", "the test is named once")
		assert.FileExists(t, filepath.Join(dir, "flaky", "flakytest.test"), "the test binary is built once, into the run's folder")
		recs := readRecords(t, out)
		require.Len(t, recs, 4)
		assert.Equal(t, "TestFlaky", recs[1].Test)
		assert.Equal(t, result.OK, recs[0].Outcome)
		res, err := result.ReadResultsFile(out)
		require.NoError(t, err)
		x, _, err := harness.ExecRunOf(res.Header)
		require.NoError(t, err)
		require.NotNil(t, x.GoTest)
		assert.Equal(t, "github.com/racestress/racestress/cmd/racestress/testdata/flakytest", x.GoTest.ImportPath)
		argv := x.Targets[0].Argv
		assert.Equal(t, []string{"-test.run=TestFlaky|TestOK", "-test.count=1", "-test.v=test2json", "-test.timeout=10m0s"}, argv[1:])
		assert.Equal(t, filepath.Join(mustGetwd(t), "testdata", "flakytest"), x.Targets[0].Dir, "run in the package's folder, as go test does")

		code, _, stderr = runCLI(t, ctx, "replay", "--quiet", out, "1", "--out", filepath.Join(dir, "flaky", "replay.jsonl"))
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, "recorded fail, replayed fail: they agree")
	})
	t.Run("a package with the bug, as a control: caught, exit 0", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, ctx, "gotest", "--batch", "1", "--role", "control", "--runs", "2", "--quiet", "--seed", "1",
			"--out", filepath.Join(dir, "control", "results.jsonl"), "-run", "TestFlaky", "./testdata/flakytest")
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "flakytest (control): detection rate 50% per trial")
	})
	t.Run("batched: iterations of warm processes, each a trial", func(t *testing.T) {
		out := filepath.Join(dir, "batched", "results.jsonl")
		code, stdout, stderr := runCLI(t, ctx, "gotest", "--runs", "6", "--batch", "3", "--quiet", "--out", out, "-run", "^TestCounted$", "./testdata/flakytest")
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stdout, "flakytest (clean): failure rate 33.3% per trial")
		recs := readRecords(t, out)
		require.Len(t, recs, 6)
		for i, r := range recs {
			assert.Equal(t, i, r.Trial)
			assert.Equal(t, "batch", r.Process.Isolation)
			assert.Equal(t, 1+i/3, r.Process.Worker, "three iterations a process")
			assert.Equal(t, i%3, r.Process.WorkerTrial, "the iteration of its process")
			want := result.OK
			if i%3 == 1 {
				want = result.Fail // the second run in each process fails
			}
			assert.Equal(t, want, r.Outcome, "trial %d", i)
		}
		res, err := result.ReadResultsFile(out)
		require.NoError(t, err)
		x, _, err := harness.ExecRunOf(res.Header)
		require.NoError(t, err)
		assert.Equal(t, 3, x.Batch)
		assert.Equal(t, 1, x.GoTest.Tests, "-test.list: one test an iteration")
	})
	t.Run("a data race ends its process, unless the race detector repeats its reports", func(t *testing.T) {
		// TestRaces races on every run, but the race detector reports a
		// race once per process by default: a process is replaced after
		// one, so that every iteration is seen. With both of its
		// suppressions off (GORACE) it reports every one, and the process
		// goes on, three iterations in each.
		for _, c := range []struct {
			gorace string
			worker []int
		}{
			{"", []int{1, 2, 3, 4, 5, 6}},
			{"suppress_equal_stacks=0 suppress_equal_addresses=0", []int{1, 1, 1, 2, 2, 2}},
		} {
			out := filepath.Join(dir, "race"+strconv.Itoa(len(c.gorace)), "results.jsonl")
			code, stdout, stderr := runCLI(t, ctx, "gotest", "-race", "--runs", "6", "--batch", "3", "--quiet", "--out", out,
				"--env", "RACESTRESS_RACE=1", "--env", "GORACE="+c.gorace, "-run", "^TestRaces$", "./testdata/flakytest")
			assert.Equal(t, 1, code, stderr)
			assert.Contains(t, stdout, "flakytest (clean): failure rate 100% per trial")
			recs := readRecords(t, out)
			require.Len(t, recs, 6)
			var worker []int
			for _, r := range recs {
				assert.Equal(t, result.DataRace, r.Outcome, "trial %d: %s", r.Trial, r.FirstError)
				worker = append(worker, r.Process.Worker)
			}
			assert.Equal(t, c.worker, worker, "GORACE=%q", c.gorace)
		}
	})
	t.Run("two trees compared: a directory each", func(t *testing.T) {
		out := filepath.Join(dir, "trees", "results.jsonl")
		code, stdout, stderr := runCLI(t, ctx, "gotest", "--runs", "4", "--batch", "2", "--quiet", "--out", out, "-run", "^TestCounted$",
			"--control", "old=testdata/flakytest", "--clean", "new=testdata/flakytest")
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stdout, "old (control): detection rate 50% per trial")
		assert.Contains(t, stdout, "new (clean): failure rate 50% per trial")
		recs := readRecords(t, out)
		require.Len(t, recs, 8)
		assert.Equal(t, []string{"old", "old", "new", "new"}, []string{recs[0].Registry, recs[1].Registry, recs[2].Registry, recs[3].Registry}, "interleaved batch by batch")
		assert.FileExists(t, filepath.Join(dir, "trees", "old.test"))
		assert.FileExists(t, filepath.Join(dir, "trees", "new.test"))
		code, _, stderr = runCLI(t, ctx, "gotest", "--out", filepath.Join(dir, "trees2", "results.jsonl"), "--control", "old=no-such-tree")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "no-such-tree is neither a directory nor")
	})
	t.Run("a hang is go test's own timeout, naming the test", func(t *testing.T) {
		out := filepath.Join(dir, "hang", "results.jsonl")
		code, stdout, stderr := runCLI(t, ctx, "gotest", "--batch", "1", "--runs", "1", "--quiet", "--timeout", "300ms", "--env", "RACESTRESS_HANG=1",
			"--out", out, "-run", "TestHang", "./testdata/flakytest")
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stdout, "hang 1")
		recs := readRecords(t, out)
		require.Len(t, recs, 1)
		assert.Equal(t, "TestHang", recs[0].Test)
		assert.NotEmpty(t, recs[0].Process.Dump, "the goroutine dump is kept")
	})
	t.Run("a package without tests is a usage error", func(t *testing.T) {
		out := filepath.Join(dir, "none", "results.jsonl")
		code, _, stderr := runCLI(t, ctx, "gotest", "--out", out, "../../examples/counter")
		assert.Equal(t, 2, code)
		assert.Equal(t, "racestress: gotest: package github.com/racestress/racestress/examples/counter has no test files: go test -c wrote no test binary, so there is nothing to stress\n", stderr)
		assert.NoDirExists(t, filepath.Dir(out), "nothing is left behind")
	})
	t.Run("a package that does not build is a usage error", func(t *testing.T) {
		code, _, stderr := runCLI(t, ctx, "gotest", "--out", filepath.Join(dir, "bad", "r.jsonl"), "-ldflags", "-nosuchflag", "./testdata/flakytest")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "go test -c ./testdata/flakytest failed")
		assert.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
	})
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd
}
