//go:build unix && !linux

package child

import (
	"errors"
	"syscall"
)

// sysProcAttr puts a child in a process group of its own, so that the
// supervisor reaches whatever it started. Outside Linux there is no
// parent-death signal: a child outlives a harness killed by SIGKILL.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// errNoWaitID: the exit is awaited by reaping the child.
var errNoWaitID = errors.New("no waitid without reaping here")

// waitExited cannot wait without reaping here: the caller reaps, then
// kills what the child left in its group.
func waitExited(int) error { return errNoWaitID }

// pollsMemory is false: without /proc the group's members and resident
// sets are not read. The memory limit is passed on as GOMEMLIMIT only, and
// the peak is getrusage's.
const pollsMemory = false

func groupMembers(pgid int) []int                     { return []int{pgid} }
func groupRSS(pgid int, members []int) ([]int, int64) { return members, 0 }
func resetPeak(int)                                   {}
func memoryOf(int) (rss, peak int64)                  { return 0, 0 }
