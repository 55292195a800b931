package command

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// helperEnv selects a helper mode: the test binary, re-executed with it set,
// does what the mode says instead of running tests.
const helperEnv = "COMMAND_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		helper(mode)
		fmt.Fprintln(os.Stderr, "helper: mode returned:", mode)
		os.Exit(9)
	}
	os.Exit(m.Run())
}

// helper runs one helper mode; most never return.
func helper(mode string) {
	switch mode {
	case "panic":
		panicky(os.Getenv("RACESTRESS_SEED"))
	case "unlock":
		var mu sync.Mutex
		unlock(&mu)
	case "deadlock":
		var mu sync.Mutex
		mu.Lock()
		relock(&mu)
	case "sleep":
		fmt.Fprintln(os.Stderr, readyMarker)
		sleepForever()
	case "alloc":
		// Hold 256 MiB of touched memory.
		b := make([]byte, 256<<20)
		for i := range b {
			b[i] = 1
		}
		sleepForever()
		runtime.KeepAlive(b)
	case "parent":
		// Run a trial that sleeps, writing its PID to $PIDFILE, and wait:
		// the test kills this process and checks that the trial died too.
		c := Command{Path: "sh", Args: []string{"-c", `echo $$ >"$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE" && exec sleep 1000`}}
		r := c.Run(context.Background(), 0, 0)
		fmt.Println("parent: trial ended:", r.Message)
		os.Exit(0)
	}
}

//go:noinline
func panicky(seed string) { panic("boom: seed " + seed + " at 0xc000012345") }

//go:noinline
func unlock(mu *sync.Mutex) { mu.Unlock() }

//go:noinline
func relock(mu *sync.Mutex) { mu.Lock() }

//go:noinline
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// helperCommand returns a Command that re-executes the test binary in mode.
func helperCommand(t testing.TB, mode string) Command {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Command{Path: exe, Env: []string{helperEnv + "=" + mode}}
}

// sh returns a Command running script with sh -c.
func sh(script string) Command { return Command{Path: "sh", Args: []string{"-c", script}} }

// readLog returns the trial's log, failing the test if there is none.
func readLog(t *testing.T, r Result) string {
	t.Helper()
	if r.Log == "" {
		t.Fatalf("no log kept: %+v", r)
	}
	b, err := os.ReadFile(r.Log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitGone waits until process pid has exited (is gone or a zombie). It has
// no deadline of its own: a process that never dies fails the test by the
// test binary's -timeout.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(s[i+1:], " Z") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goTool returns the go command, skipping the test when there is none or
// under -short.
func goTool(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Go programs; skipped under -short")
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	return p
}

// writeModule writes files into a new module example.com/bug in a fresh
// temporary directory.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{"go.mod": "module example.com/bug\n\ngo 1.26\n"}
	for k, v := range files {
		all[k] = v
	}
	for name, text := range all {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
