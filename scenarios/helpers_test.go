package scenarios_test

import (
	"runtime"
	"runtime/debug"
)

func debugGCPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func yield() { runtime.Gosched() }
