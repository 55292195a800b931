package tune

import (
	"bytes"
	"context"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPresetGolden(t *testing.T) {
	p := fixturePreset()
	var b bytes.Buffer
	require.NoError(t, p.Write(&b))
	golden(t, "preset.golden", b.Bytes())
	back, err := ReadPreset(bytes.NewReader(b.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, p, back)
}

func TestPresetFromSearch(t *testing.T) {
	cells, hazard, best := twelve()
	s := newSim(1, hazard)
	res, err := Search(context.Background(), Config{Cells: cells, Budget: time.Minute, Run: s.run, Clock: s.clock})
	require.NoError(t, err)
	var defaults, winner []Sample
	for range 100 {
		x, _ := s.run(context.Background(), Cell{Label: "defaults"})
		defaults = append(defaults, x)
		y, _ := s.run(context.Background(), res.Winner().Cell)
		winner = append(winner, y)
	}
	// The defaults never fail: an unbounded gain, kept as null.
	for i := range defaults {
		defaults[i].Hit = false
	}
	p := NewPreset(Target{Kind: "exec", Command: []string{"./x.test", "-test.run=TestRace"}}, res, Confirm(defaults, winner), ThisMachine("dev"))
	assert.Equal(t, best, p.Cell.Label)
	assert.True(t, math.IsInf(p.Confirmation.Gain.Hi, 1))
	var b bytes.Buffer
	require.NoError(t, p.Write(&b))
	back, err := ReadPreset(&b)
	require.NoError(t, err)
	assert.Equal(t, p, back)
}

func TestReadPresetRefuses(t *testing.T) {
	var good bytes.Buffer
	require.NoError(t, fixturePreset().Write(&good))
	g := good.String()
	for name, c := range map[string]struct{ text, err string }{
		"not JSON":           {"kind: racestress-preset\n", "not a JSON preset file"},
		"truncated":          {g[:len(g)/2], "not a JSON preset file"},
		"no kind":            {`{"version": 1}`, `kind "", not a racestress preset`},
		"another kind":       {strings.Replace(g, PresetKind, "racestress-results", 1), `kind "racestress-results", not a racestress preset`},
		"a new version":      {strings.Replace(g, `"version": 1`, `"version": 2`, 1), "version 2, this racestress reads version 1"},
		"unknown field":      {strings.Replace(g, `"kind": "racestress-preset",`, `"kind": "racestress-preset", "tuned_by": "me",`, 1), `unknown field "tuned_by"`},
		"unknown gain field": {strings.Replace(g, `"lo": 1.9969`, `"lo": 1.9969, "p": 0.01`, 1), `unknown field "p"`},
		"trailing data":      {g + "{}\n", "data after the preset"},
		"hits > trials":      {strings.Replace(g, `"hits": 1390`, `"hits": 9999`, 1), "9999 hits in 1412 trials"},
		"bad interval":       {strings.Replace(g, `"lo": 21.512`, `"lo": 30`, 1), "outside its interval"},
		"bad gain":           {strings.Replace(g, `"lo": 1.9969`, `"lo": 3`, 1), "bounds do not hold it"},
		"wrong winner":       {strings.Replace(g, `"label": "gogc=1 procs=4 isolation=pool"`, `"label": "other"`, 1), "the search's winner is gogc=1 procs=4 isolation=pool"},
		"two winners":        {strings.Replace(g, `"rung": 2,`, `"rung": 2, "winner": true,`, 1), "the search's winner is defaults"},
		"isolation":          {strings.Replace(g, `"isolation": "pool"`, `"isolation": "thread"`, 1), `isolation "thread"`},
		"batch":              {strings.Replace(g, `"isolation": "pool"`, `"isolation": "pool", "batch": -1`, 1), "batch -1"},
		"no CPUs":            {strings.Replace(g, `"cpus": 2`, `"cpus": 0`, 1), "machine is not described"},
		"target kind":        {strings.Replace(g, `"kind": "scenario"`, `"kind": "script"`, 1), `target kind "script"`},
		"no scenario":        {strings.Replace(g, `"scenario": "bpo24484",`, ``, 1), "names its scenario"},
		"budget":             {strings.Replace(g, `"budget_ns": 180000000000`, `"budget_ns": -1`, 1), "search figures out of bounds"},
		"too large":          {g + strings.Repeat(" ", maxPresetBytes), "larger than"},
	} {
		_, err := ReadPreset(strings.NewReader(c.text))
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), c.err, name)
			assert.True(t, strings.HasPrefix(err.Error(), "preset: "), name)
		}
	}
	// Write checks too.
	p := fixturePreset()
	p.Cell.Label = ""
	assert.ErrorContains(t, p.Write(&bytes.Buffer{}), "cell: no label")
	p = fixturePreset()
	p.Target = Target{Kind: "gotest"}
	assert.ErrorContains(t, p.Write(&bytes.Buffer{}), "names its package")
	p.Target = Target{Kind: "exec"}
	assert.ErrorContains(t, p.Write(&bytes.Buffer{}), "names its command")
}

func TestPresetCompare(t *testing.T) {
	p := fixturePreset()
	assert.Empty(t, p.Compare(p.Machine))
	assert.Equal(t, []string{
		"tuned on 2 CPUs, this machine has 8",
		"tuned on linux/amd64, this machine is darwin/arm64",
		"tuned with Go go1.26.8, this is Go go1.27.0",
		"tuned with racestress v0.9.0, this is racestress (unknown version)",
	}, p.Compare(Machine{CPUs: 8, GoVersion: "go1.27.0", GOOS: "darwin", GOARCH: "arm64"}))
	assert.Equal(t, []string{"tuned on 2 CPUs, this machine has 1"}, p.Compare(Machine{CPUs: 1, GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Racestress: "v0.9.0"}))
	m := ThisMachine("v1.2.3")
	assert.Equal(t, Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Racestress: "v1.2.3"}, m)
}
