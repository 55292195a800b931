package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
)

// procStat is what /proc/PID/stat says of a process: its state, parent and
// process group; ok is false when the process is gone.
func procStat(pid int) (state byte, ppid, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// The command name (field 2) is parenthesised and may hold anything:
	// the fields after it start past the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return 0, 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgrp, _ = strconv.Atoi(f[2])
	return f[0][0], ppid, pgrp, true
}

// workerOf returns the pid of parent's racestress worker child, or 0.
func workerOf(parent int) int {
	names, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range names {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		if _, ppid, _, ok := procStat(pid); !ok || ppid != parent {
			continue
		}
		if cmdline, err := os.ReadFile(dir + "/cmdline"); err == nil && strings.Contains(string(cmdline), harness.WorkerArg) {
			return pid
		}
	}
	return 0
}

// ended reports whether pid is gone or a zombie (a container's PID 1 may
// never reap the orphans it inherits), or is no longer our worker (its pid
// reused).
func ended(pid int) bool {
	state, _, _, ok := procStat(pid)
	if !ok || state == 'Z' || state == 'X' {
		return true
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err != nil || !strings.Contains(string(cmdline), harness.WorkerArg)
}

func TestWorkersDieWithTheHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	bin := buildCLI(t)
	out := filepath.Join(t.TempDir(), "results.jsonl")
	// A 60 s trial of the fixed registry: it never ends early.
	cmd := exec.Command(bin, "--registry", "fixed", "--seconds", "60", "--runs", "1", "--quiet", "--out", out)
	require.NoError(t, cmd.Start())
	harnessDone := false
	t.Cleanup(func() {
		if !harnessDone {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	var worker int
	for deadline := time.Now().Add(30 * time.Second); worker == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		worker = workerOf(cmd.Process.Pid)
	}
	require.NotZero(t, worker, "the harness started no worker")
	t.Cleanup(func() {
		if !ended(worker) {
			_ = syscall.Kill(worker, syscall.SIGKILL) // a process this test started, through the harness
		}
	})
	_, _, pgrp, ok := procStat(worker)
	require.True(t, ok)
	assert.Equal(t, worker, pgrp, "the worker leads a process group of its own, which the watchdog kills")
	time.Sleep(300 * time.Millisecond) // into the trial

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	harnessDone = true
	// The kernel sends the parent-death signal as the harness dies; the
	// worker is gone once it has been torn down, well under a second even
	// on a loaded machine. Without it, the worker runs its 60 s out.
	deadline := time.Now().Add(10 * time.Second)
	for !ended(worker) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.True(t, ended(worker), "worker %d outlived its SIGKILLed harness", worker)
}
