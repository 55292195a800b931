//go:build unix

package child

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a helper process doing what its value
// says, instead of running tests.
const helperEnv = "CHILD_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "alloc":
		// Hold 256 MiB of touched memory.
		b := make([]byte, 256<<20)
		for i := range b {
			b[i] = 1
		}
		time.Sleep(time.Hour)
		runtime.KeepAlive(b)
	case "quit":
		// Append $QUIT_NAME to $QUIT_LOG at each SIGQUIT. The leader
		// starts a grandchild that does the same, and writes "ready" to
		// $QUIT_LOG.ready once both handle SIGQUIT.
		quits := make(chan os.Signal, 1)
		signal.Notify(quits, syscall.SIGQUIT)
		log, name := os.Getenv("QUIT_LOG"), os.Getenv("QUIT_NAME")
		if name == "leader" {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "QUIT_NAME=grandchild")
			if err := cmd.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			for {
				if _, err := os.Stat(log + ".pid"); err == nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			writeFile(log+".ready", "ready\n")
		} else {
			writeFile(log+".pid", strconv.Itoa(os.Getpid()))
		}
		for range quits {
			f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				fmt.Fprintln(f, name)
				f.Close()
			}
		}
	case "parent":
		// Supervise a child that writes its pid to $PIDFILE and sleeps;
		// the test kills this process and checks that the child died too.
		c, err := Start(sh(`echo $$ >"$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE" && exec sleep 1000`), Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		c.Exit()
	}
	os.Exit(9)
}

// writeFile writes s to file at once, as a reader sees it: all or nothing.
func writeFile(file, s string) {
	if os.WriteFile(file+".tmp", []byte(s), 0o644) != nil || os.Rename(file+".tmp", file) != nil {
		os.Exit(2)
	}
}

// sh returns a command running script with sh -c; args are $0, $1...
func sh(script string, args ...string) *exec.Cmd {
	return exec.Command("sh", append([]string{"-c", script}, args...)...)
}

// start starts cmd under supervision, failing the test if it cannot.
func start(t *testing.T, cmd *exec.Cmd, opts Options) *Child {
	t.Helper()
	c, err := Start(cmd, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Kill()
		<-c.Done()
	})
	return c
}

// fakeTimer is a timer the test fires itself.
type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped atomic.Bool
}

func (t *fakeTimer) Stop() bool { return !t.stopped.Swap(true) }

// fakeTimers returns Options whose timers are sent on the channel instead
// of started.
func fakeTimers(grace time.Duration) (Options, chan *fakeTimer) {
	ch := make(chan *fakeTimer, 16)
	return Options{Grace: grace, after: func(d time.Duration, f func()) timer {
		t := &fakeTimer{d: d, f: f}
		ch <- t
		return t
	}}, ch
}

// waitFile waits until file holds every one of lines, and returns its
// text. It has no deadline of its own: a file never written fails the
// test by the test binary's -timeout.
func waitFile(t *testing.T, file string, lines ...string) string {
	t.Helper()
	for {
		b, _ := os.ReadFile(file)
		s := string(b)
		ok := true
		for _, l := range lines {
			ok = ok && strings.Contains(s, l+"\n")
		}
		if ok {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readPID waits for a pid in file.
func readPID(t *testing.T, file string) int {
	t.Helper()
	for {
		if b, err := os.ReadFile(file); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGone waits until process pid has ended: gone from /proc, or a zombie
// (a container's PID 1 may never reap what it inherits). It has no
// deadline of its own: a process that never dies fails the test by the
// test binary's -timeout.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		for syscall.Kill(pid, 0) == nil {
			time.Sleep(5 * time.Millisecond)
		}
		return
	}
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && (strings.HasPrefix(s[i+1:], " Z") || strings.HasPrefix(s[i+1:], " X")) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExitStatus(t *testing.T) {
	cases := []struct {
		script string
		code   int
		signal string
	}{
		{"exit 0", 0, ""},
		{"exit 3", 3, ""},
		{"kill -SEGV $$", -1, syscall.SIGSEGV.String()},
		{"kill -TERM $$", -1, syscall.SIGTERM.String()},
	}
	for _, tc := range cases {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			e := start(t, sh(tc.script), Options{}).Exit()
			if e.Code != tc.code || e.Signal != tc.signal || e.Err != nil || e.State != (State{}) {
				t.Errorf("got %+v, want exit %d signal %q", e, tc.code, tc.signal)
			}
			if e.Wall <= 0 || e.PeakRSS <= 0 {
				t.Errorf("no wall time or peak resident set: %+v", e)
			}
		})
	}
	t.Run("CPU time", func(t *testing.T) {
		t.Parallel()
		e := start(t, sh(`i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done`), Options{}).Exit()
		if e.Code != 0 || e.UserCPU+e.SysCPU <= 0 {
			t.Errorf("a busy loop took no CPU time: %+v", e)
		}
	})
	t.Run("cannot start", func(t *testing.T) {
		if _, err := Start(exec.Command(filepath.Join(t.TempDir(), "none")), Options{}); err == nil {
			t.Error("started a program that does not exist")
		}
	})
}

func TestMaxRSSBytes(t *testing.T) {
	for _, tc := range []struct {
		goos string
		want int64
	}{
		{"darwin", 5000}, // bytes
		{"ios", 5000},
		{"linux", 5000 << 10}, // KiB
		{"freebsd", 5000 << 10},
		{"netbsd", 5000 << 10},
	} {
		if got := maxRSSBytes(tc.goos, 5000); got != tc.want {
			t.Errorf("%s: ru_maxrss 5000 is %d bytes, want %d", tc.goos, got, tc.want)
		}
	}
}

// TestWatchdogQuitsTheGroupThenKillsIt fires the watchdog and its grace by
// hand: a child that handles SIGQUIT and its own child, which handles it
// too, both get SIGQUIT and live on; the grace's end kills them both.
// (Not shells: a shell's background job ignores SIGQUIT and cannot trap it.)
func TestWatchdogQuitsTheGroupThenKillsIt(t *testing.T) {
	log := filepath.Join(t.TempDir(), "quits")
	opts, timers := fakeTimers(time.Hour)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=quit", "QUIT_NAME=leader", "QUIT_LOG="+log)
	c := start(t, cmd, opts)
	waitFile(t, log+".ready", "ready")
	grandchild := readPID(t, log+".pid")

	c.Arm(time.Minute)
	dog := <-timers
	if dog.d != time.Minute {
		t.Fatalf("watchdog armed for %v, want 1m", dog.d)
	}
	dog.f()
	if !c.State().TimedOut {
		t.Fatal("the watchdog fired and State says it did not")
	}
	grace := <-timers
	if grace.d != time.Hour {
		t.Fatalf("grace %v, want the option's 1h", grace.d)
	}
	// Both processes trap SIGQUIT: the group got it, and lives on until
	// the grace ends.
	waitFile(t, log, "leader", "grandchild")
	select {
	case <-c.Done():
		t.Fatalf("the child ended before the grace: %+v", c.Exit())
	default:
	}
	grace.f()
	e := c.Exit()
	if !e.TimedOut || e.Signal != syscall.SIGKILL.String() || e.OverMemory || e.Interrupted {
		t.Errorf("got %+v, want a watchdog kill", e)
	}
	waitGone(t, grandchild)
}

// TestWatchdogIsArmedPerUse arms and disarms the watchdog of a long-lived
// child, as a pool does for each trial: a watchdog that was disarmed or
// replaced cannot fire, even when its timer runs late.
func TestWatchdogIsArmedPerUse(t *testing.T) {
	opts, timers := fakeTimers(time.Hour)
	c := start(t, sh("exec sleep 1000"), opts)
	c.Arm(time.Minute)
	first := <-timers
	c.Disarm()
	if !first.stopped.Load() {
		t.Error("Disarm did not stop the timer")
	}
	c.Arm(2 * time.Minute)
	second := <-timers
	c.Arm(3 * time.Minute) // replaces the second
	third := <-timers
	if !second.stopped.Load() || third.stopped.Load() {
		t.Error("a new arming did not replace the old one")
	}
	first.f() // late timers of old armings
	second.f()
	if c.State().TimedOut {
		t.Fatal("a disarmed watchdog fired")
	}
	select {
	case tm := <-timers:
		t.Fatalf("a disarmed watchdog started its grace (%v)", tm.d)
	default:
	}
	c.Arm(0) // disarms
	third.f()
	if c.State().TimedOut || !third.stopped.Load() {
		t.Fatal("Arm(0) did not disarm")
	}
	c.Kill()
	if e := c.Exit(); e.TimedOut || e.Signal != syscall.SIGKILL.String() {
		t.Errorf("got %+v", e)
	}
	c.Arm(time.Minute)
	select {
	case <-timers:
		t.Error("an exited child was armed")
	default:
	}
}

// TestWatchdog runs the watchdog on real timers, on a child that ignores
// SIGQUIT and blocks for ever: it races nothing once the child is ready.
func TestWatchdog(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	c := start(t, sh(`trap "" QUIT; echo ready >"$0"; exec sleep 1000`, ready), Options{Grace: 10 * time.Millisecond})
	waitFile(t, ready, "ready")
	c.Arm(10 * time.Millisecond)
	if e := c.Exit(); !e.TimedOut || e.Signal != syscall.SIGKILL.String() {
		t.Errorf("got %+v, want a watchdog kill", e)
	}
}

// TestMemoryLimit kills a group whose resident set passes twice the limit
// in a grandchild: the leader, a shell, is small.
func TestMemoryLimit(t *testing.T) {
	if !pollsMemory {
		t.Skip("no memory poll here")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := sh(`"$0"; exit 0`, exe)
	cmd.Env = append(os.Environ(), helperEnv+"=alloc")
	e := start(t, cmd, Options{MemoryLimit: 16 << 20}).Exit()
	if !e.OverMemory || e.Signal != syscall.SIGKILL.String() || e.PeakRSS <= 32<<20 || e.TimedOut || e.Interrupted {
		t.Errorf("got %+v, want a memory kill with a peak over 32 MiB", e)
	}
}

// TestInterrupt cancels a child's wait: its group is killed and the
// interruption remembered.
func TestInterrupt(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	c := start(t, sh(`sleep 1000 & echo $! >"$0"; wait`, pidfile), Options{})
	grandchild := readPID(t, pidfile)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := c.Wait(ctx)
	if !e.Interrupted || e.Signal != syscall.SIGKILL.String() || e.TimedOut {
		t.Errorf("got %+v, want an interruption", e)
	}
	waitGone(t, grandchild)

	done := start(t, sh("exit 0"), Options{})
	done.Exit()
	done.Interrupt()
	if done.State().Interrupted {
		t.Error("an interruption after the exit is remembered")
	}
}

// TestLeftoversAreKilled checks that what a child left running in its
// group is killed when it exits.
func TestLeftoversAreKilled(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	var before atomic.Bool
	c := start(t, sh(`sleep 1000 & echo $! >"$0"`, pidfile), Options{BeforeWait: func() { before.Store(true) }})
	if e := c.Exit(); e.Code != 0 || e.Signal != "" {
		t.Errorf("got %+v", e)
	}
	if !before.Load() {
		t.Error("BeforeWait was not called")
	}
	waitGone(t, readPID(t, pidfile))
}

// TestParentDeath checks that a child dies with the process supervising it.
func TestParentDeath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux's")
	}
	pidfile := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=parent", "PIDFILE="+pidfile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := readPID(t, pidfile)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, pid)
}
