//go:build unix

package command

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// signalGroup sends sig to every process in the process group pgid. Errors
// (the group is gone) are ignored.
func signalGroup(pgid int, sig syscall.Signal) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, sig)
	}
}

// groupRSS returns the resident set size summed over the processes of
// group pgid, read from /proc; 0 where /proc is missing.
func groupRSS(pgid int) int64 {
	d, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0
	}
	page := int64(os.Getpagesize())
	var sum int64
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		if g, rss, ok := statGroupRSS(name); ok && g == pgid {
			sum += rss * page
		}
	}
	return sum
}

// statGroupRSS reads /proc/PID/stat and returns the process's group id and
// resident set size in pages.
func statGroupRSS(pid string) (pgid int, pages int64, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name (field 2) is parenthesised and may hold spaces and
	// parentheses: the fields after it start past the last ')'.
	s := string(b)
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
