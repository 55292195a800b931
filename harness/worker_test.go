package harness_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
)

// groupWorkerEnv selects a fake worker of this file's own (harness_test.go's
// TestMain serves the others); init runs before TestMain.
const groupWorkerEnv = "RACESTRESS_TEST_GROUP_WORKER"

// pidFileEnv names the file the grandchild worker writes its child's pid to.
const pidFileEnv = "RACESTRESS_TEST_PID_FILE"

func init() {
	switch os.Getenv(groupWorkerEnv) {
	case "":
		return
	case "quit-ignored":
		// A hang the runtime cannot dump: SIGQUIT is ignored, so only the
		// watchdog's SIGKILL ends it.
		signal.Ignore(syscall.SIGQUIT)
		fmt.Fprintln(os.Stderr, readyMarker)
		time.Sleep(time.Hour)
	case "grandchild":
		// A hang that started a process of its own, which inherits the
		// worker's process group.
		signal.Ignore(syscall.SIGQUIT)
		cmd := exec.Command("sleep", "3600")
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "cannot start sleep:", err)
			os.Exit(98)
		}
		if err := os.WriteFile(os.Getenv(pidFileEnv), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			os.Exit(97)
		}
		fmt.Fprintln(os.Stderr, readyMarker)
		time.Sleep(time.Hour)
	}
	os.Exit(99)
}

func groupProcess(t *testing.T, mode string) harness.Processes {
	dir := t.TempDir()
	return harness.Processes{
		Path: os.Args[0], Env: []string{groupWorkerEnv + "=" + mode},
		LogDir: filepath.Join(dir, "logs-r"), LogBase: dir, Grace: 300 * time.Millisecond,
		Timeout: watchdog(noWatchdog), // see executeReady
	}
}

// gone reports whether process pid has ended: no longer in /proc, or a
// zombie (a container's PID 1 may never reap what it inherits).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

func TestWatchdogKillsTheWorkersProcessGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command")
	}
	p := groupProcess(t, "grandchild")
	pidFile := filepath.Join(t.TempDir(), "pid")
	p.Env = append(p.Env, pidFileEnv+"="+pidFile)
	grandchild := func() int {
		b, _ := os.ReadFile(pidFile)
		pid, _ := strconv.Atoi(string(b))
		return pid
	}
	t.Cleanup(func() {
		if pid := grandchild(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL) // a process this test started
		}
	})
	// Were the grandchild to outlive the watchdog, it would hold the
	// worker's result pipe open and the trial would never end (the test
	// binary's -timeout fails it).
	rec := executeReady(t, p, spec())
	assert.Equal(t, result.Hang, rec.Outcome, rec.FirstError)
	pid := grandchild()
	require.Positive(t, pid, "the worker started its child")
	// SIGKILL is delivered before kill(2) returns; the process is gone
	// once the kernel has torn it down. Without the group kill it sleeps
	// for an hour, and the test binary's -timeout fails the test.
	for !gone(pid) {
		time.Sleep(10 * time.Millisecond)
	}
}

func TestADumpIsAnnouncedOnlyWhenOneWasWritten(t *testing.T) {
	t.Run("a hang that could not be dumped says so", func(t *testing.T) {
		t.Parallel()
		rec := executeReady(t, groupProcess(t, "quit-ignored"), spec())
		assert.Equal(t, result.Hang, rec.Outcome)
		assert.Empty(t, rec.Process.Dump)
		assert.Contains(t, rec.FirstError, "no goroutine dump was written")
		assert.NotContains(t, rec.FirstError, "dump kept")
	})
	t.Run("a dumped hang names its dump, relative to the results file", func(t *testing.T) {
		t.Parallel()
		p := fakeProcess(t, "deadlock")
		dir := t.TempDir()
		p.LogDir, p.LogBase = filepath.Join(dir, "logs-r"), dir
		rec := executeReady(t, p, spec())
		assert.Equal(t, result.Hang, rec.Outcome)
		want := filepath.Join("logs-r", "trial-3.dump")
		assert.Equal(t, want, rec.Process.Dump)
		assert.Equal(t, filepath.Join("logs-r", "trial-3.stderr"), rec.Process.Log)
		assert.Contains(t, rec.FirstError, "goroutine dump kept in "+want)
		assert.FileExists(t, result.LogPath(filepath.Join(dir, "results.jsonl"), rec.Process.Dump))
	})
}

func TestLogFolders(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "a.jsonl")
	t.Run("each run gets a folder of its own, even two runs of one id", func(t *testing.T) {
		first, err := result.CreateLogDir(results, "shards-x")
		require.NoError(t, err)
		second, err := result.CreateLogDir(filepath.Join(dir, "b.jsonl"), "shards-x")
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "logs-shards-x"), first)
		assert.Equal(t, filepath.Join(dir, "logs-shards-x-2"), second)
	})
	t.Run("log paths resolve against the results file's folder", func(t *testing.T) {
		assert.Equal(t, filepath.Join(dir, "logs-r", "trial-1.stderr"), result.LogPath(results, filepath.Join("logs-r", "trial-1.stderr")))
		assert.Equal(t, "/abs/trial-1.stderr", result.LogPath(results, "/abs/trial-1.stderr"))
		assert.Equal(t, "", result.LogPath(results, ""))
	})
}

func TestDefaultTimeoutCannotOverflow(t *testing.T) {
	assert.Equal(t, 13*time.Second, harness.DefaultTimeout(result.Knobs{Seconds: 4}))
	for _, s := range []float64{9e9, 1e10, 1e300, math.Inf(1), math.NaN()} {
		d := harness.DefaultTimeout(result.Knobs{Seconds: s})
		assert.Equal(t, harness.MaxTimeout, d, "--seconds %g", s)
		assert.Equal(t, harness.MaxTimeout, harness.MinTimeout(result.Knobs{Seconds: s}), "--seconds %g", s)
	}
	assert.Equal(t, 5*time.Second, harness.DefaultTimeout(result.Knobs{Seconds: -1}), "never negative")
	// 9e9 s is 9e18 ns, just below MaxInt64: twice it wrapped negative and
	// the watchdog fired at once ("the fixed registry hangs").
	assert.Positive(t, harness.DefaultTimeout(result.Knobs{Seconds: math.MaxInt64 / 2 / 1e9}))
}
