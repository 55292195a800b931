// Package flakytest is a test package for racestress gotest's tests: its
// TestFlaky fails in the trials whose number (RACESTRESS_TRIAL) is odd,
// TestHang hangs when RACESTRESS_HANG is set, and TestCounted fails in
// every third run of a process (a batched run), and TestRaces races on
// every run when RACESTRESS_RACE is set.
package flakytest

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestOK(t *testing.T) {}

func TestFlaky(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("RACESTRESS_TRIAL"))
	if err != nil {
		t.Fatalf("RACESTRESS_TRIAL: %v", err)
	}
	if n%2 == 1 {
		t.Errorf("trial %d is odd", n)
	}
}

func TestHang(t *testing.T) {
	if os.Getenv("RACESTRESS_HANG") != "" {
		select {}
	}
}

// runs counts TestCounted's runs in this process.
var runs int

// TestCounted fails in every third run of a process, from its second
// (-test.count: a batched run's iterations).
func TestCounted(t *testing.T) {
	runs++
	if runs%3 == 2 {
		t.Errorf("run %d of this process fails", runs)
	}
}

// TestRaces races on every run when RACESTRESS_RACE is set: a goroutine
// and the test write one variable with nothing ordering the two writes
// (a sleep is no synchronisation to the race detector), so that a test
// binary built with -race reports it every time it is allowed to.
func TestRaces(t *testing.T) {
	if os.Getenv("RACESTRESS_RACE") == "" {
		return
	}
	x := new(int)
	done := make(chan bool)
	go func() {
		*x = 1
		done <- true
	}()
	time.Sleep(5 * time.Millisecond)
	*x = 2
	<-done
}
