// Command racestress stress-tests finalizer registries for the race of
// CPython bug bpo-24484 and reports, side by side, how an unfixed and a
// fixed registry fare.
//
// Usage:
//
//	racestress [flags]          run the scenario on every registry and compare
//	racestress list             name the scenarios and registries
//
// Exit status: 0 when every clean registry showed no forbidden outcome and
// every control registry was detected; 1 when a clean registry showed a
// forbidden outcome; 3 when a control was never detected (the harness lost
// its power to detect); 2 for usage errors.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
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
