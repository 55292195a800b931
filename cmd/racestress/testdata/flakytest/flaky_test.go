// Package flakytest is a test package for racestress gotest's tests: its
// TestFlaky fails in the trials whose number (RACESTRESS_TRIAL) is odd,
// and TestHang hangs when RACESTRESS_HANG is set.
package flakytest

import (
	"os"
	"strconv"
	"testing"
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
