package harness

import (
	"context"
	"fmt"
	"os"
)

// MaybeWorker makes this binary serve as the worker of Processes and Pool:
// when its first argument is WorkerArg or PoolWorkerArg it calls prepare
// (when not nil), runs the worker mode the argument names, with stdin as
// its input and file descriptor 3 as its output, and exits; otherwise it
// returns at once. A binary that runs trials in child processes calls it
// first thing in main (and a test binary, in TestMain):
//
//	func main() {
//		harness.MaybeWorker(nil)
//		...
//	}
//
// Its trials run on InProcess, so every knob of a spec, chaos included,
// is resolved in the worker as in this process. It installs no signal
// handler, so that the Go runtime's deadlock detector and SIGQUIT
// goroutine dump work as usual.
func MaybeWorker(prepare func()) {
	if len(os.Args) < 2 || (os.Args[1] != WorkerArg && os.Args[1] != PoolWorkerArg) {
		return
	}
	if prepare != nil {
		prepare()
	}
	os.Exit(runWorkerMode(os.Args[1]))
}

// runWorkerMode runs the worker mode named by mode and returns the process's exit status.
func runWorkerMode(mode string) int {
	out := os.NewFile(3, "result")
	if mode == WorkerArg {
		if out == nil {
			fmt.Fprintln(os.Stderr, "racestress worker: no result pipe on fd 3")
			return 1
		}
		if err := Worker(context.Background(), os.Stdin, out, InProcess{}); err != nil {
			fmt.Fprintln(os.Stderr, "racestress worker:", err)
			return 1
		}
		return 0
	}
	cfg, err := PoolWorkerConfigFromEnv()
	if out == nil || err != nil {
		fmt.Fprintln(os.Stderr, "racestress pool worker: no result pipe on fd 3 or no pool settings:", err)
		return 1
	}
	if err := PoolWorker(context.Background(), os.Stdin, out, os.Stderr, InProcess{}, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "racestress pool worker:", err)
		return 1
	}
	return 0
}
