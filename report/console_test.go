package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestStatusLine(t *testing.T) {
	r := result.Record{Trial: 7, Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, Seed: 12, Outcome: result.ChangedSize,
		Detected: true, TTFFNanos: int64(15 * time.Millisecond), FirstError: "panic: changed size"}
	assert.Equal(t, "racestress: trial 7 bpo24484/fixed (clean) seed 12: changed-size after 15ms: panic: changed size", StatusLine(r))
	r.Cell = "gogc=1"
	assert.Contains(t, StatusLine(r), "bpo24484/fixed (clean) [gogc=1] seed 12")
	e := result.Record{Trial: 1, Scenario: "s", Registry: "x", Role: result.Control, Outcome: result.Error, Grade: result.Forbidden, FirstError: "error: no worker"}
	assert.Equal(t, "racestress: trial 1 s/x (control) seed 0: error: error: no worker", StatusLine(e), "a harness error says why, with no time")
	ok := result.Record{Trial: 2, Scenario: "s", Registry: "x", Role: result.Clean, Outcome: result.OK, FirstError: "ignored"}
	assert.Equal(t, "racestress: trial 2 s/x (clean) seed 0: ok", StatusLine(ok), "a pass shows no error text")
}

func TestLogHead(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results.jsonl")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logs", "t1.log"), []byte("line one\nline two"), 0o644))
	r := result.Record{Outcome: result.Hang, Process: &result.Process{Log: "logs/t1.log", Dump: "logs/t1.dump"}}
	head := LogHead(r, results, nil)
	assert.Equal(t, "    log: "+filepath.Join(dir, "logs", "t1.log")+"  goroutine dump: "+filepath.Join(dir, "logs", "t1.dump")+"\n    | line one\n    | line two\n", head)
	long := strings.Repeat("x", 3000)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logs", "t1.log"), []byte(long), 0o644))
	r.Process.Dump = ""
	head = LogHead(r, results, nil)
	assert.Contains(t, head, "    | "+strings.Repeat("x", headBytes)+"\n")
	assert.True(t, strings.HasSuffix(head, "    |     ...\n"), "cut at 2 KiB: %q", head[len(head)-20:])
	assert.NotContains(t, head, strings.Repeat("x", headBytes+1))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logs", "t1.log"), []byte("\x16=== RUN TestX\n\x16=== NAME\nout\n"), 0o644))
	head = LogHead(r, results, func(b []byte) string { return strings.ReplaceAll(string(b), "\x16=== NAME\n", "") })
	assert.Equal(t, "    log: "+filepath.Join(dir, "logs", "t1.log")+"\n    | \x16=== RUN TestX\n    | out\n", head, "the log is shown as plain makes it")
	for name, rec := range map[string]result.Record{
		"no process":    {Outcome: result.Hang},
		"no log":        {Outcome: result.Hang, Process: &result.Process{}},
		"a passed one":  {Outcome: result.OK, Process: &result.Process{Log: "logs/t1.log"}},
		"a missing log": {Outcome: result.Hang, Process: &result.Process{Log: "logs/none.log"}},
	} {
		assert.Empty(t, LogHead(rec, results, nil), name)
	}
}

func TestAppendStepSummary(t *testing.T) {
	s := summary(policy{}, trials("unfixed", result.Control, 3, 3, 0), trials("fixed", result.Clean, 3, 0, 0))
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	require.NoError(t, AppendStepSummary(s), "no file named: nothing to do")
	path := filepath.Join(t.TempDir(), "summary.md")
	require.NoError(t, os.WriteFile(path, []byte("before\n"), 0o644))
	t.Setenv("GITHUB_STEP_SUMMARY", path)
	require.NoError(t, AppendStepSummary(s))
	require.NoError(t, AppendStepSummary(s))
	var want bytes.Buffer
	require.NoError(t, GitHubSummary(&want, s))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "before\n"+want.String()+want.String(), string(got), "appended whole, twice")
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(path, "no", "such"))
	assert.ErrorContains(t, AppendStepSummary(s), "GITHUB_STEP_SUMMARY: ")
}

func TestIsTerminal(t *testing.T) {
	assert.False(t, IsTerminal(&bytes.Buffer{}))
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, IsTerminal(f))
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		assert.True(t, IsTerminal(tty))
	}
}
