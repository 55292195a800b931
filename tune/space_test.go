package tune

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

func dimValues(s *Space) map[string][]string {
	m := map[string][]string{}
	for _, d := range s.Dims {
		m[d.Name] = d.Values
	}
	return m
}

func TestScenarioSpace(t *testing.T) {
	sc := scenarios.ThreadSafety
	base := sc.DefaultKnobsOf()
	s, err := ScenarioSpace(sc, base, SpaceOptions{CPUs: 2})
	require.NoError(t, err)
	var names []string
	for _, d := range s.Dims {
		names = append(names, d.Name)
	}
	// seconds caps a trial and reentrant changes what is tested: neither
	// is searched.
	assert.Equal(t, []string{"gogc", "procs", "threads", "sleep-scale", "slots", "per-slot", "max-priority", "chaos", "isolation"}, names)
	assert.Equal(t, map[string][]string{
		"gogc":         {"5", "1", "25", "100"},
		"procs":        {"0", "1", "4"}, // 2 is what 0 means on 2 CPUs
		"threads":      {"2", "8", "32"},
		"sleep-scale":  {"0.05", "0.0125", "0.2", "0.8"},
		"slots":        {"32", "8", "128", "512"},
		"per-slot":     {"10", "3", "40", "160"},
		"max-priority": {"100", "25", "400", "1600"},
		"chaos":        {"auto", "off", "low", "high"},
		"isolation":    {"process", "pool"},
	}, dimValues(s))
	assert.Equal(t, MaxCells+1, s.Size())

	cells, err := s.Cells(32, 1)
	require.NoError(t, err)
	require.Len(t, cells, 32)
	assert.Equal(t, Cell{Label: "defaults", Knobs: base, Isolation: "process"}, cells[0])
	seen := map[string]bool{}
	for _, c := range cells {
		require.False(t, seen[c.Label], c.Label)
		seen[c.Label] = true
		require.NoError(t, sc.CheckKnobs(c.Knobs), c.Label)
		// The label names exactly the settings away from the defaults.
		set := map[string]string{}
		if c.Label != "defaults" {
			for _, kv := range strings.Split(c.Label, " ") {
				k, v, _ := strings.Cut(kv, "=")
				set[k] = v
			}
		}
		for _, d := range s.Dims {
			want, ok := set[d.Name]
			if !ok {
				want = d.Values[0]
			}
			switch d.Name {
			case "isolation":
				assert.Equal(t, want, c.Isolation, c.Label)
			case "chaos":
				assert.Equal(t, want, c.Knobs.Chaos, c.Label)
			default:
				v, _ := c.Knobs.Get(d.Name)
				assert.Equal(t, want, formatValue(v), "%s in %s", d.Name, c.Label)
			}
		}
		// Only the defaults cell claims the base's preset.
		if c.Label == "defaults" {
			assert.Equal(t, "fast", c.Knobs.Preset)
		} else if strings.Contains(c.Label, "isolation=") && strings.Count(c.Label, "=") == 1 {
			assert.Equal(t, "fast", c.Knobs.Preset, c.Label)
		} else {
			assert.Empty(t, c.Knobs.Preset, c.Label)
		}
		// Knobs derived from others follow them.
		assert.Equal(t, [2]int{c.Knobs.Makers, c.Knobs.Runners}, func() [2]int { m, r := scenarios.SplitThreads(c.Knobs.Threads); return [2]int{m, r} }(), c.Label)
	}
	again, err := s.Cells(32, 1)
	require.NoError(t, err)
	assert.Equal(t, cells, again)
	other, err := s.Cells(32, 2)
	require.NoError(t, err)
	assert.NotEqual(t, cells, other)
	assert.Equal(t, cells[0], other[0])

	_, err = s.Cells(0, 1)
	assert.Error(t, err)
	_, err = s.Cells(MaxCells+1, 1)
	assert.Error(t, err)
}

func TestScenarioSpaceWeakCacheAndUserDims(t *testing.T) {
	sc := scenarios.WeakCache
	base := sc.DefaultKnobsOf()
	gogc, err := ParseDim(KnobDim, "gogc=1,2")
	require.NoError(t, err)
	iso, err := ParseDim(KnobDim, "isolation=pool")
	require.NoError(t, err)
	// One CPU: procs' grid stays within its bound (4 per CPU of the machine
	// the test runs on) wherever the test runs.
	s, err := ScenarioSpace(sc, base, SpaceOptions{CPUs: 1, Dims: []Dim{gogc, iso}})
	require.NoError(t, err)
	v := dimValues(s)
	assert.Equal(t, []string{"5", "1", "2"}, v["gogc"], "the user's values, the default first")
	assert.Equal(t, []string{"process", "pool"}, v["isolation"])
	assert.Equal(t, []string{"0", "2", "4"}, v["procs"], "1 is what 0 means on one CPU")
	assert.Equal(t, []string{"4", "1", "16", "64"}, v["threads"])
	assert.Equal(t, []string{"256", "64", "1024", "4096"}, v["keys"])
	assert.Equal(t, []string{"2", "1", "8", "32"}, v["keep"])
	assert.Equal(t, []string{"256", "64", "1024", "4096"}, v["garbage"])
	assert.Equal(t, IsolationDim, s.Dims[slices.IndexFunc(s.Dims, func(d Dim) bool { return d.Name == "isolation" })].Kind)

	// A knob the grid leaves out can be searched when asked.
	re, err := ParseDim(KnobDim, "reentrant=1")
	require.NoError(t, err)
	s, err = ScenarioSpace(scenarios.ThreadSafety, scenarios.ThreadSafety.DefaultKnobsOf(), SpaceOptions{CPUs: 2, Dims: []Dim{re}})
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "1"}, dimValues(s)["reentrant"])

	for _, bad := range []string{"gogc=0", "gogc=x", "nosuch=1", "chaos=wild", "isolation=thread"} {
		d, err := ParseDim(KnobDim, bad)
		require.NoError(t, err, bad)
		_, err = ScenarioSpace(sc, base, SpaceOptions{Dims: []Dim{d}})
		assert.Error(t, err, bad)
	}
	_, err = ScenarioSpace(sc, result.Knobs{}, SpaceOptions{})
	assert.Error(t, err, "base knobs out of bounds")
}

func TestExecSpace(t *testing.T) {
	base := Cell{Args: []string{"-test.run=TestX"}}
	s, err := ExecSpace(base, SpaceOptions{CPUs: 2})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{
		"GOMAXPROCS": {"", "1", "4"},
		"GOGC":       {"", "off", "10", "1"},
	}, dimValues(s))
	assert.Equal(t, 12, s.Size())
	cells, err := s.Cells(100, 1)
	require.NoError(t, err)
	require.Len(t, cells, 12, "a small space is enumerated whole")
	assert.Equal(t, Cell{Label: "defaults", Args: []string{"-test.run=TestX"}}, cells[0])
	assert.Equal(t, Cell{Label: "GOGC=off", Env: []string{"GOGC=off"}, Args: []string{"-test.run=TestX"}}, cells[1])
	assert.Equal(t, Cell{Label: "GOMAXPROCS=4 GOGC=1", Env: []string{"GOMAXPROCS=4", "GOGC=1"}, Args: []string{"-test.run=TestX"}}, cells[11])
	// A sample of a small space: the defaults and distinct cells.
	few, err := s.Cells(5, 3)
	require.NoError(t, err)
	require.Len(t, few, 5)
	assert.Equal(t, "defaults", few[0].Label)

	env, err := ParseDim(EnvDim, "GODEBUG=asyncpreemptoff=1,gctrace=0")
	require.NoError(t, err)
	cpu, err := ParseDim(FlagDim, "-test.cpu=1,8")
	require.NoError(t, err)
	base = Cell{Env: []string{"GOGC=50"}, Args: []string{"-race"}, Batch: 10}
	s, err = ExecSpace(base, SpaceOptions{CPUs: 8, GoTest: true, Race: true, Batches: []int{1, 100}, Dims: []Dim{env, cpu}})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{
		"GOMAXPROCS": {"", "1", "2", "4", "16"},
		"GOGC":       {"50", "", "off", "10", "1"},
		"-test.cpu":  {"", "1", "8"}, // the user's values replace the built-in ones
		"-race":      {"on", "off"},
		"batch":      {"10", "1", "100"},
		"GODEBUG":    {"", "asyncpreemptoff=1", "gctrace=0"},
	}, dimValues(s))
	cells, err = s.Cells(MaxCells, 1)
	require.NoError(t, err)
	assert.Equal(t, Cell{Label: "defaults", Env: []string{"GOGC=50"}, Args: []string{"-race"}, Batch: 10}, cells[0])
	for _, c := range cells {
		if strings.Contains(c.Label, "-race=off") {
			assert.NotContains(t, c.Args, "-race", c.Label)
		} else {
			assert.Contains(t, c.Args, "-race", c.Label)
		}
		if strings.Contains(c.Label, "GOGC=") {
			assert.NotContains(t, c.Env, "GOGC=50", c.Label)
		} else {
			assert.Contains(t, c.Env, "GOGC=50", c.Label)
		}
		if strings.Contains(c.Label, "-test.cpu=8") {
			assert.Contains(t, c.Args, "-test.cpu=8", c.Label)
		}
		if strings.Contains(c.Label, "GODEBUG=gctrace=0") {
			assert.Contains(t, c.Env, "GODEBUG=gctrace=0", c.Label)
		}
	}

	// A race-enabled test binary: whether its race detector repeats its
	// reports; a GORACE of the base's is the defaults'.
	s, err = ExecSpace(Cell{Batch: 100}, SpaceOptions{CPUs: 2, GoTest: true, RaceReports: true, Batches: []int{1}})
	require.NoError(t, err)
	assert.Equal(t, []string{"", RepeatRaces}, dimValues(s)["GORACE"])
	cells, err = s.Cells(MaxCells, 1)
	require.NoError(t, err)
	repeats := 0
	for _, c := range cells {
		if strings.Contains(c.Label, "GORACE=") {
			repeats++
			assert.Contains(t, c.Env, "GORACE="+RepeatRaces, c.Label)
		} else {
			assert.NotContains(t, strings.Join(c.Env, " "), "GORACE", c.Label)
		}
	}
	assert.Equal(t, len(cells)/2, repeats)
	s, err = ExecSpace(Cell{Env: []string{"GORACE=history_size=2"}}, SpaceOptions{CPUs: 2, RaceReports: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"history_size=2", "", RepeatRaces}, dimValues(s)["GORACE"])

	// A batch dimension of the user's own, on a base with the executor's
	// default batch.
	batch, err := ParseDim(BatchDim, "batch=1,50")
	require.NoError(t, err)
	s, err = ExecSpace(Cell{}, SpaceOptions{CPUs: 2, Dims: []Dim{batch}})
	require.NoError(t, err)
	assert.Equal(t, []string{"", "1", "50"}, dimValues(s)["batch"])
	cells, err = s.Cells(MaxCells, 1)
	require.NoError(t, err)
	for _, c := range cells {
		_, b, _ := strings.Cut(c.Label, "batch=")
		assert.Equal(t, b, map[int]string{0: "", 1: "1", 50: "50"}[c.Batch], c.Label)
	}

	_, err = ExecSpace(Cell{}, SpaceOptions{Batches: []int{0}})
	assert.Error(t, err)
	_, err = ExecSpace(Cell{}, SpaceOptions{Dims: []Dim{{Name: "gogc", Kind: KnobDim, Values: []string{"1"}}}})
	assert.Error(t, err, "a knob outside a scenario")
	_, err = ExecSpace(Cell{}, SpaceOptions{Dims: []Dim{{Name: "-race", Kind: FlagDim, Values: []string{"maybe"}}}})
	assert.Error(t, err)
}

func TestParseDim(t *testing.T) {
	d, err := ParseDim(KnobDim, "gogc=1,5,25")
	require.NoError(t, err)
	assert.Equal(t, Dim{Name: "gogc", Kind: KnobDim, Values: []string{"1", "5", "25"}}, d)
	many := "k=" + strings.Repeat("x,", MaxDimValues) + "y"
	for _, bad := range []string{"gogc", "=1", "gogc=", "gogc=1,1", "gogc=1,,2", "gogc= ", many} {
		_, err := ParseDim(KnobDim, bad)
		assert.Error(t, err, bad)
	}
	var dims []Dim
	for i := range MaxDims {
		dims = append(dims, Dim{Name: "E" + formatValue(float64(i)), Kind: EnvDim, Values: []string{"1"}})
	}
	_, err = ExecSpace(Cell{}, SpaceOptions{Dims: dims})
	assert.ErrorContains(t, err, "dimensions")
}

func TestSpaceCPUsBounded(t *testing.T) {
	for _, cpus := range []int{-1, MaxCPUs + 1} {
		_, err := ExecSpace(Cell{}, SpaceOptions{CPUs: cpus})
		assert.Error(t, err, cpus)
		_, err = ScenarioSpace(scenarios.ThreadSafety, scenarios.ThreadSafety.DefaultKnobsOf(), SpaceOptions{CPUs: cpus})
		assert.Error(t, err, cpus)
	}
	s, err := ExecSpace(Cell{}, SpaceOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, dimValues(s)["GOMAXPROCS"])
}
