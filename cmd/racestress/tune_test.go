package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/stress"
)

func TestTuneBadInputIsOneLineAndExitTwo(t *testing.T) {
	dir := t.TempDir()
	for name, args := range map[string][]string{
		"too many cells":        {"tune", "--cells", "257"},
		"no cells":              {"tune", "--cells", "0"},
		"no confirmation":       {"tune", "--confirm-runs", "0"},
		"too many confirmation": {"tune", "--confirm-runs", "100001"},
		"a short budget":        {"tune", "--budget", "500ms"},
		"a short confirmation":  {"tune", "--confirm-budget", "1ms"},
		"a tiny trial":          {"tune", "--seconds", "0.001"},
		"an isolation":          {"tune", "--isolate", "pool"},
		"runs":                  {"tune", "--runs", "5"},
		"no control":            {"tune", "--registry", "fixed"},
		"a bad sweep":           {"tune", "--sweep", "gogc=-3"},
		"an unknown knob":       {"tune", "--sweep", "nope=1,2"},
		"a report format":       {"tune", "--format", "junit"},
		"a gate of commands":    {"tune", "exec", "--gate", "--control", "f=false"},
		"a bad command sweep":   {"tune", "exec", "--sweep", "GOGC", "--control", "f=false"},
		"a command tune's runs": {"tune", "exec", "--control", "f=false", "--runs", "3"},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), append(args, "--out", filepath.Join(dir, name, "r.jsonl"))...)
			assert.Equal(t, 2, code, stderr)
			assert.Empty(t, stdout)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
			assert.True(t, strings.HasPrefix(stderr, "racestress: "), stderr)
		})
	}
}

// TestTuneThenGateWithThePreset tunes unfixed against fixed briefly, then
// gates with the preset: 6 rounds, with --min-power 0 (a control must
// still be caught, at least once).
//
// The search tries the defaults' cell alone (--cells 1: a sampled second
// cell may catch nothing in a 4 s trial, which under -race and four busy
// loops once took the whole of a 2 s budget) for 10 s: at least three
// trials of at most 4 s of stress each. unfixed's median time to first failure at
// the defaults is about 15 ms here; even 30 times slower (race detector,
// busy machine), a 4 s trial is 9 medians and misses with probability
// below 2⁻⁹ for a time to failure exponential past a floor, and three
// trials all miss below 2⁻²⁷ ≈ 7e-9.
//
// The preset caps the trials at 30 times
// the winner's median time to first failure (and 4 times its longest):
// for a time to failure exponential past a floor, a trial misses with
// probability 2⁻³⁰; even if the machine's load made detection 5 times
// slower than when it was tuned, a trial misses with probability 2⁻⁶, and
// all 6 with 2⁻³⁶, far below 1e-6. (Asking the gate's default 50% power
// would need all 6 caught: 6 × 2⁻⁶ ≈ 9% under that slowdown.)
func TestTuneThenGateWithThePreset(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	preset := filepath.Join(dir, "tuned.json")
	code, stdout, stderr := runCLI(t, context.Background(), "tune", "--registry", "unfixed,fixed", "--budget", "10s", "--cells", "1",
		"--confirm-runs", "2", "--quiet", "--out", filepath.Join(dir, "tune.jsonl"), "--preset-out", preset, "--format", "markdown")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "| **winner** |")
	assert.Contains(t, stdout, "- gain: hazard ")
	assert.Contains(t, stdout, "- preset: "+preset)
	p, err := stress.LoadPreset(preset)
	require.NoError(t, err)
	assert.Equal(t, []string{"unfixed", "fixed"}, p.Target.Subjects)

	out := filepath.Join(dir, "gate.jsonl")
	code, _, stderr = runCLI(t, context.Background(), "gate", "--preset", preset, "--runs", "6", "--min-power", "0", "--quiet", "--out", out)
	require.Equal(t, 0, code, stderr)
	res, err := result.ReadResultsFile(out)
	require.NoError(t, err)
	require.NotNil(t, res.Header.Preset)
	assert.Equal(t, preset, res.Header.Preset.Path)
	assert.Equal(t, p.Cell.Knobs.Seconds, res.Header.Knobs.Seconds, "the gate runs at the preset's knobs")

	// Another scenario's gate refuses the preset.
	code, _, stderr = runCLI(t, context.Background(), "gate", "--preset", preset, "--scenario", "weakcache", "--out", filepath.Join(dir, "w.jsonl"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "was tuned for scenario bpo24484, not weakcache")
	_, err = os.Stat(filepath.Join(dir, "w.jsonl"))
	assert.True(t, os.IsNotExist(err))
}
