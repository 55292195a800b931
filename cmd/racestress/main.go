// Command racestress stress-tests finalizer registries for the race of
// CPython bug bpo-24484 and reports, side by side, how an unfixed and a
// fixed registry fare.
//
// Usage:
//
//	racestress [flags]                  run a scenario on registries and compare them
//	racestress list                     name the scenarios and registries
//	racestress report [flags] FILE      re-render a saved results file
//	racestress replay [flags] FILE N    rerun trial N of a saved run with its seed and knobs
//
// Exit status: 0 when every clean registry showed no forbidden outcome and
// every control registry was detected; 1 when a clean registry showed a
// forbidden outcome; 3 when a control was never detected (the harness lost
// its power to detect); 2 for usage errors; 130 when interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/racestress/racestress/harness"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == harness.WorkerArg {
		lighten()
		os.Exit(worker())
	}
	if len(os.Args) > 1 && os.Args[1] == harness.PoolWorkerArg {
		lighten()
		os.Exit(poolWorker())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// lighten drops what package initialisation left on a worker's heap that
// a worker never uses: tablewriter's width cache (an LRU of 8192 entries,
// about half a megabyte of pointers) is marked by every GC cycle of a
// trial and of the pool's fitness check. A worker renders no tables. (The
// first GC cycle, which both worker modes run before their first trial,
// frees it.)
func lighten() {
	twwidth.SetCacheCapacity(0)
}

// worker is the hidden worker mode: one trial, spec on stdin, record on
// file descriptor 3. It installs no signal handler, so the Go runtime's
// deadlock detector and SIGQUIT goroutine dump work as usual.
func worker() int {
	out := os.NewFile(3, "result")
	if out == nil {
		fmt.Fprintln(os.Stderr, "racestress worker: no result pipe on fd 3")
		return 1
	}
	if err := harness.Worker(context.Background(), os.Stdin, out, harness.InProcess{Hook: chaosHook}); err != nil {
		fmt.Fprintln(os.Stderr, "racestress worker:", err)
		return 1
	}
	return 0
}

// poolWorker is the hidden pool-worker mode (--isolate pool): trials one
// after another, spec lines on stdin, record and fitness lines on file
// descriptor 3, until stdin ends. Like worker, it installs no signal
// handler.
func poolWorker() int {
	out := os.NewFile(3, "result")
	cfg, err := harness.PoolWorkerConfigFromEnv()
	if out == nil || err != nil {
		fmt.Fprintln(os.Stderr, "racestress pool worker: no result pipe on fd 3 or no pool settings:", err)
		return 1
	}
	if err := harness.PoolWorker(context.Background(), os.Stdin, out, os.Stderr, harness.InProcess{Hook: chaosHook}, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "racestress pool worker:", err)
		return 1
	}
	return 0
}

// exitError carries an exit status and the one line to print for it.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

// exitCode prints err's line, if any, on stderr and returns the exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "racestress: "+ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "racestress: "+err.Error())
	return 1
}
