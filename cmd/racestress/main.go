// Command racestress stress-tests code for races: it runs a scenario's
// trials on its subjects (by default, finalizer registries with the race of
// CPython bug bpo-24484), or any command or Go test binary as trials, and
// reports, with exact statistics, whether each control was caught and each
// clean subject never failed.
//
// Usage:
//
//	racestress [flags]                  run a scenario on its subjects and compare them
//	racestress gate [flags]             the same run as a CI gate
//	racestress list                     the scenarios, their subjects with roles, the presets
//	racestress report [flags] FILE      re-render a saved results file, with its verdict
//	racestress merge [flags] FILE...    combine the results files of one run's shards
//	racestress replay [flags] FILE N    rerun trial N of a saved run with its seed and knobs
//	racestress exec [flags] -- CMD...   run any command as trials, or compare two
//	racestress gotest [flags] PKG       build PKG's test binary once and run it as trials
//	racestress tune [flags]             find the knobs that catch a control fastest; write a preset
//
// Exit status: 0 when every clean subject showed no forbidden outcome and
// every control was caught; 1 when a clean subject showed a forbidden
// outcome; 3 when a control was not caught with the required power (for
// the gate, also when no control ran): the harness lost its power to
// detect; 4 when the run is invalid (harness errors or limits, results not
// writable, incomplete shards); 2 for usage errors; 130 when interrupted.
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
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/stress"
)

func main() {
	harness.MaybeWorker(lighten)
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

// exitError carries an exit status and the one line to print for it.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &exitError{code: report.Invalid.ExitCode(), msg: "INVALID: " + fmt.Sprintf(format, args...)}
}

// fromStress is the exit of a stress error: 2 for a configuration that
// cannot run, 4 for a run that cannot be judged, 130 when interrupted.
func fromStress(err error) error {
	var se *stress.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Kind {
	case stress.Usage:
		return &exitError{code: 2, msg: se.Msg}
	case stress.Interrupted:
		return &exitError{code: 130, msg: se.Msg}
	case stress.NotCaught:
		return &exitError{code: 3, msg: se.Msg}
	}
	return invalid("%s", se.Msg)
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
