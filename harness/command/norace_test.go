//go:build !race

package command

// raceEnabled reports whether the test binary, and so its helper, was built
// with -race.
const raceEnabled = false
