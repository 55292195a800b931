package child

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// sysProcAttr puts a child in a process group of its own, so that the
// supervisor reaches whatever it started, and has the kernel send it
// SIGKILL when its parent dies (see Start for the thread that signal is
// tied to).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// waitExited waits until process pid has exited, without reaping it: its
// pid, and so its group's id, stays reserved until it is.
func waitExited(pid int) error {
	const (
		pPID    = 1
		wExited = 0x4
		wNoWait = 0x1000000
	)
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info)), wExited|wNoWait, 0, 0)
		if e != syscall.EINTR {
			if e != 0 {
				return e
			}
			return nil
		}
	}
}

// pollsMemory: /proc shows every process's group and resident set.
const pollsMemory = true

// groupMembers returns the processes of group pgid, found in /proc.
func groupMembers(pgid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return []int{pgid}
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return []int{pgid}
	}
	var members []int
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if g, _, ok := statGroupRSS(pid); ok && g == pgid {
			members = append(members, pid)
		}
	}
	if len(members) == 0 {
		members = []int{pgid}
	}
	return members
}

// groupRSS returns the resident set, in bytes, summed over those of
// members still in group pgid, and those members.
func groupRSS(pgid int, members []int) ([]int, int64) {
	page := int64(os.Getpagesize())
	var sum int64
	kept := members[:0]
	for _, pid := range members {
		if g, pages, ok := statGroupRSS(pid); ok && g == pgid {
			sum += pages * page
			kept = append(kept, pid)
		}
	}
	return kept, sum
}

// statGroupRSS reads /proc/PID/stat and returns the process's group id and
// resident set size in pages.
func statGroupRSS(pid int) (pgid int, pages int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	return parseStat(string(b))
}

// parseStat reads the group id and the resident set size in pages from
// the text of a /proc/PID/stat file.
func parseStat(s string) (pgid int, pages int64, ok bool) {
	// The command name (field 2) is parenthesised and may hold spaces and
	// parentheses: the fields after it start past the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): pgrp is field 5, rss field 24.
	if len(f) < 22 {
		return 0, 0, false
	}
	g, err1 := strconv.Atoi(f[2])
	r, err2 := strconv.ParseInt(f[21], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return g, r, true
}

// resetPeak resets the kernel's peak resident set size of pid (VmHWM).
func resetPeak(pid int) {
	_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}

// memoryOf reads pid's resident set size (VmRSS) and its peak since the
// last resetPeak (VmHWM), in bytes; zeros when it cannot.
func memoryOf(pid int) (rss, peak int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	return statusField(string(b), "VmRSS"), statusField(string(b), "VmHWM")
}

// statusField returns the field name, in kB, of a /proc/PID/status text,
// in bytes; 0 when it has none.
func statusField(s, name string) int64 {
	i := strings.Index(s, "\n"+name+":")
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+len(name)+2:])
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(f[0], 10, 64)
	return kb << 10
}
