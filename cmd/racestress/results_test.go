package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
)

func TestLogsOfTwoRunsSharingAFolderNeverCollide(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	// Every worker writes the runtime's init trace to stderr, so that every
	// trial, even a passing one, keeps a log.
	t.Setenv("GODEBUG", "inittrace=1")
	dir := t.TempDir()
	// Two runs of one shard: the same run id, the same trial numbers.
	args := []string{"--scenario", "finalize-order", "--seed", "5", "--runs", "1", "--shard", "1/2", "--quiet"}
	runInto := func(out string) []result.Record {
		t.Helper()
		code, _, stderr := runCLI(t, context.Background(), append(args, "--out", out)...)
		require.Equal(t, 0, code, stderr)
		res, err := result.ReadResultsFile(out)
		require.NoError(t, err)
		require.Len(t, res.Records, 2)
		return res.Records
	}
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	ra := runInto(a)
	logsOf := func(path string, recs []result.Record) (folder string, contents map[string]string) {
		t.Helper()
		contents = map[string]string{}
		for _, r := range recs {
			require.NotNil(t, r.Process)
			require.NotEmpty(t, r.Process.Log, "trial %d kept its log", r.Trial)
			assert.False(t, filepath.IsAbs(r.Process.Log), "stored relative to the results file: %s", r.Process.Log)
			f := filepath.Dir(r.Process.Log)
			if folder == "" {
				folder = f
			}
			assert.Equal(t, folder, f, "one folder per run")
			body, err := os.ReadFile(result.LogPath(path, r.Process.Log))
			require.NoError(t, err)
			assert.Contains(t, string(body), "init ", "the worker's own stderr")
			contents[r.Process.Log] = string(body)
		}
		return folder, contents
	}
	folderA, before := logsOf(a, ra)
	rb := runInto(b)
	folderB, _ := logsOf(b, rb)
	assert.NotEqual(t, folderA, folderB, "the second run of the same shard writes its logs elsewhere")
	assert.Equal(t, ra[0].RunID, rb[0].RunID, "both runs have one id, and still their own logs")
	_, after := logsOf(a, ra)
	assert.Equal(t, before, after, "the first run's logs are as it left them")

	t.Run("paths are relative to the results file, not to where the run started", func(t *testing.T) {
		t.Chdir(dir)
		c := filepath.Join("sub", "c.jsonl")
		rc := runInto(c)
		for _, r := range rc {
			assert.True(t, strings.HasPrefix(r.Process.Log, "logs-"), r.Process.Log)
			assert.FileExists(t, result.LogPath(c, r.Process.Log))
		}
	})
	t.Run("the console shows the head of a failed trial's log, found from the results file", func(t *testing.T) {
		r := ra[0]
		r.Outcome = result.Fatal
		head := report.LogHead(r, a, nil)
		assert.Contains(t, head, "    log: "+filepath.Join(dir, r.Process.Log))
		assert.Contains(t, head, "    | init ")
	})
	t.Run("a run that kept no log leaves no log folder", func(t *testing.T) {
		t.Setenv("GODEBUG", "")
		sub := t.TempDir()
		code, _, stderr := runCLI(t, context.Background(), "--scenario", "finalize-order", "--runs", "1", "--quiet", "--out", filepath.Join(sub, "r.jsonl"))
		require.Equal(t, 0, code, stderr)
		entries, err := os.ReadDir(sub)
		require.NoError(t, err)
		require.Len(t, entries, 1, "only the results file: %v", entries)
	})
}

func TestMoreShardsThanRounds(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--scenario", "finalize-order", "--isolate", "none", "--seed", "77", "--runs", "2"}
	var shards []string
	for k := 1; k <= 4; k++ {
		path := filepath.Join(dir, fmt.Sprintf("s%d.jsonl", k))
		shards = append(shards, path)
		code, _, stderr := runCLI(t, context.Background(), append(common, "--shard", fmt.Sprintf("%d/4", k), "--out", path)...)
		require.Equal(t, 0, code, "shard %d: %s", k, stderr)
		if k > 2 {
			assert.Equal(t, fmt.Sprintf("racestress: EMPTY: shard %d/4 holds no rounds: the run has 2, fewer than its 4 shards; this results file is a valid, empty part of the run (merge it with the other shards)", k), lastLine(stderr))
			assert.Contains(t, stderr, "racestress: no trials, results in ")
		}
	}
	t.Run("an empty shard's file is its header alone", func(t *testing.T) {
		res, err := result.ReadResultsFile(shards[2])
		require.NoError(t, err)
		require.NotNil(t, res.Header)
		assert.Equal(t, result.HeaderShard{K: 3, N: 4}, res.Header.Shard)
		assert.Empty(t, res.Records)
		b, _ := os.ReadFile(shards[2])
		assert.Equal(t, 1, strings.Count(string(b), "\n"))
	})
	t.Run("report of an empty shard says what it is and exits 0", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, context.Background(), "report", shards[3], "--format", "json")
		assert.Equal(t, 0, code, stderr)
		var doc struct{ Verdict struct{ Line string } }
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
		assert.True(t, strings.HasPrefix(doc.Verdict.Line, "EMPTY: shard 4/4 holds no rounds"), doc.Verdict.Line)
	})
	t.Run("merging the four shards gives the whole run", func(t *testing.T) {
		whole := filepath.Join(dir, "whole.jsonl")
		code, _, stderr := runCLI(t, context.Background(), append(common, "--quiet", "--out", whole)...)
		require.Equal(t, 0, code, stderr)
		type group struct {
			Registry string         `json:"registry"`
			Runs     int            `json:"runs"`
			Outcomes map[string]int `json:"outcomes"`
		}
		render := func(args ...string) ([]group, string) {
			code, stdout, stderr := runCLI(t, context.Background(), args...)
			require.Equal(t, 0, code, stderr)
			var doc struct {
				Groups  []group
				Verdict struct{ Line string }
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
			return doc.Groups, doc.Verdict.Line
		}
		merged, line := render(append(append([]string{"merge"}, shards...), "--format", "json")...)
		want, wantLine := render("report", whole, "--format", "json")
		assert.Equal(t, want, merged)
		assert.Equal(t, wantLine, line)
		require.Len(t, merged, 2)
		assert.Equal(t, 2, merged[0].Runs)
	})
	t.Run("merging the empty shards alone is incomplete", func(t *testing.T) {
		code, _, stderr := runCLI(t, context.Background(), "merge", shards[2], shards[3])
		assert.Equal(t, 4, code)
		assert.True(t, strings.HasPrefix(lastLine(stderr), "racestress: INVALID: "), lastLine(stderr))
		assert.Contains(t, lastLine(stderr), "incomplete: shards 1/4, 2/4 not given")
	})
}

func TestREADMEForms(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--scenario", "finalize-order", "--isolate", "none", "--quiet", "--seed", "9", "--runs", "2"}
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	for i, out := range []string{a, b} {
		code, _, stderr := runCLI(t, context.Background(), append(common, "--shard", strconv.Itoa(i+1)+"/2", "--out", out)...)
		require.Equal(t, 0, code, stderr)
	}
	for _, args := range [][]string{
		{"report", a, "--format", "json"},
		{"report", "--format", "json", a},
		{"merge", a, b, "--format", "json"},
		{"merge", "--format", "json", a, b},
		{"merge", a, "--format", "json", b},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), args...)
			var doc struct {
				Verdict struct {
					ExitCode int `json:"exit_code"`
					Line     string
				}
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
			assert.Equal(t, doc.Verdict.ExitCode, code, stderr)
			assert.Equal(t, "racestress: "+doc.Verdict.Line, lastLine(stderr))
			assert.NotContains(t, stderr, "got 3 arguments")
			assert.NotContains(t, stderr, "open --format")
		})
	}
}

func TestUnboundedInputsNameTheirLimit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	cases := []struct {
		args  []string
		limit string
	}{
		{[]string{"--seconds", "1e10"}, "between 0.001 and 86400"},
		{[]string{"--seconds", "9e9"}, "between 0.001 and 86400"},
		{[]string{"--seconds", "Inf"}, "seconds wants a number, got +Inf"},
		{[]string{"--seconds", "-1"}, "between 0.001 and 86400"},
		{[]string{"--sleep-scale", "Inf"}, "sleep-scale wants a number, got +Inf"},
		{[]string{"--sleep-scale", "NaN"}, "sleep-scale wants a number, got NaN"},
		{[]string{"--procs", "100000"}, fmt.Sprintf("between 0 and %d", 4*runtime.NumCPU())},
		{[]string{"--procs", "-1"}, "between 0"},
		{[]string{"--threads", "100000"}, "and 1024"},
		{[]string{"--timeout", "1ms"}, "at least 5s"},
		{[]string{"--timeout", "1ms", "--seconds", "0.3"}, "at least 1.3s"},
		{[]string{"--timeout", "2s", "--sweep", "seconds=0.1,5"}, "at least 6s"},
		{[]string{"--timeout", "10000h"}, "168h0m0s"},
		{[]string{"--memory-limit", "1KiB"}, "below the 32 MiB"},
		{[]string{"--memory-limit", "9999999GiB"}, "more than the machine's"},
		{[]string{"--memory-limit", "99999999999TiB"}, "positive size"},
		{[]string{"--memory-limit", "-5MiB"}, "positive size"},
		{[]string{"--runs", "1000000000"}, "and 1000000"},
		{[]string{"--gogc", "1000000000"}, "and 100000"},
		{[]string{"--parallel", "1000"}, "and 64"},
		{[]string{"--budget", "100000h"}, "168h0m0s"},
		{[]string{"--seed", "1", "--shard", "1/100000"}, "N <= 10000"},
		{[]string{"--sweep", "seconds=1e10"}, "between 0.001 and 86400"},
		{[]string{"--sweep", "seconds=Inf"}, "seconds wants a number, got +Inf"},
		{[]string{"--sweep", "sleep-scale=Inf"}, "sleep-scale wants a number, got +Inf"},
		{[]string{"--sweep", "procs=100000"}, fmt.Sprintf("between 0 and %d", 4*runtime.NumCPU())},
		{[]string{"--sweep", "threads=100000"}, "and 1024"},
		{[]string{"--sweep", "gogc=1000000000"}, "and 100000"},
		{[]string{"--sweep", "gogc=1,1"}, "given twice"},
		{[]string{"gate", "--min-power", "NaN"}, "[0, 1)"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), append(c.args, "--scenario", "finalize-order", "--isolate", "none", "--out", out)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			assert.Contains(t, stderr, c.limit)
			assert.NoFileExists(t, out, "a refused run writes nothing")
		})
	}
}

func TestReplayRefusesFlagsItDoesNotUse(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _, stderr := runCLI(t, context.Background(), "--scenario", "finalize-order", "--isolate", "none", "--quiet", "--out", out)
	require.Equal(t, 0, code, stderr)
	for _, flag := range [][]string{{"--sweep", "gogc=1"}, {"--shard", "1/2"}, {"--budget", "1m"}, {"--failfast"}, {"--control", "fixed"}, {"--clean", "fixed"}, {"--parallel", "2"}} {
		t.Run(flag[0], func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), append([]string{"replay", out, "0"}, flag...)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Equal(t, "racestress: replay: "+flag[0]+" does not apply to replaying one trial\n", stderr)
		})
	}
}
