package tune

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/racestress/racestress/harness/command"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// DimKind says what a dimension of a space sets in a cell.
type DimKind int

// The kinds of dimension.
const (
	// KnobDim sets a scenario knob, or chaos, by name.
	KnobDim DimKind = iota
	// IsolationDim sets the isolation: "process" or "pool".
	IsolationDim
	// EnvDim sets the environment variable Name; "" leaves it unset.
	EnvDim
	// FlagDim adds the flag Name=value; "" leaves it out. The flag -race
	// takes "on" (added bare) or "off" (left out).
	FlagDim
	// BatchDim sets the iterations per test process; "" leaves the
	// executor's default.
	BatchDim
)

// Bounds of a space.
const (
	MaxDims      = 32
	MaxDimValues = 64
)

// Dim is one dimension of a space: a name and its values, the default
// first.
type Dim struct {
	Name   string
	Kind   DimKind
	Values []string
}

// ParseDim parses a dimension of the given kind written as --sweep and
// --env take it: "KEY=V1,V2".
func ParseDim(kind DimKind, arg string) (Dim, error) {
	key, vals, ok := strings.Cut(arg, "=")
	if !ok || key == "" || vals == "" {
		return Dim{}, fmt.Errorf("want KEY=V1,V2, got %q", arg)
	}
	d := Dim{Name: key, Kind: kind, Values: strings.Split(vals, ",")}
	return d, d.check()
}

func (d Dim) check() error {
	if d.Name == "" {
		return errors.New("a dimension without a name")
	}
	if len(d.Values) == 0 || len(d.Values) > MaxDimValues {
		return fmt.Errorf("%s: %d values, want 1 to %d", d.Name, len(d.Values), MaxDimValues)
	}
	seen := map[string]bool{}
	for _, v := range d.Values {
		if d.Kind != EnvDim && d.Kind != FlagDim && strings.TrimSpace(v) == "" {
			return fmt.Errorf("%s: an empty value", d.Name)
		}
		if seen[v] {
			return fmt.Errorf("%s: value %q given twice", d.Name, v)
		}
		seen[v] = true
	}
	return nil
}

// Space is a set of candidate cells: the product of its dimensions' values
// applied to Base. The cell with every dimension at its first value is the
// defaults cell.
type Space struct {
	Base Cell
	Dims []Dim
	// scenario checks and sets knob dimensions.
	scenario *scenarios.Scenario
}

// Size returns the number of cells in the space, or MaxCells+1 when it
// has more than MaxCells.
func (s *Space) Size() int {
	n := 1
	for _, d := range s.Dims {
		n *= len(d.Values)
		if n > MaxCells {
			return MaxCells + 1
		}
	}
	return n
}

// Cells returns at most limit (1 to MaxCells) cells of the space, the
// defaults cell first: every cell when the space has no more, otherwise a
// uniform random sample drawn with seed.
func (s *Space) Cells(limit int, seed int64) ([]Cell, error) {
	if limit < 1 || limit > MaxCells {
		return nil, fmt.Errorf("tune: a limit of %d cells, want 1 to %d", limit, MaxCells)
	}
	pick := make([]int, len(s.Dims))
	if n := s.Size(); n <= limit {
		cells := make([]Cell, 0, n)
		for range n {
			c, err := s.cell(pick)
			if err != nil {
				return nil, err
			}
			cells = append(cells, c)
			// The next pick, the last dimension fastest.
			for i := len(pick) - 1; i >= 0; i-- {
				if pick[i]++; pick[i] < len(s.Dims[i].Values) {
					break
				}
				pick[i] = 0
			}
		}
		return cells, nil
	}
	def, err := s.cell(pick)
	if err != nil {
		return nil, err
	}
	cells, seen := []Cell{def}, map[string]bool{def.Label: true}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7370_6163))
	// The space has more than limit cells, so duplicates are rare; the
	// attempts are bounded all the same.
	for try := 0; len(cells) < limit && try < 100*limit; try++ {
		for i, d := range s.Dims {
			pick[i] = rng.IntN(len(d.Values))
		}
		c, err := s.cell(pick)
		if err != nil {
			return nil, err
		}
		if !seen[c.Label] {
			seen[c.Label] = true
			cells = append(cells, c)
		}
	}
	return cells, nil
}

// cell returns the cell with dimension i at value pick[i]; its label names
// the dimensions away from their default, "defaults" when none is. A cell
// with a knob away from the base's names no preset in its knobs.
func (s *Space) cell(pick []int) (Cell, error) {
	c := s.Base
	c.Env, c.Args = slices.Clone(c.Env), slices.Clone(c.Args)
	var label []string
	for i, d := range s.Dims {
		v := d.Values[pick[i]]
		if pick[i] > 0 {
			label = append(label, d.Name+"="+v)
			if d.Kind == KnobDim {
				// The knobs are no longer the base's preset.
				c.Knobs.Preset = ""
			}
		}
		if err := s.set(&c, d, v); err != nil {
			return Cell{}, err
		}
	}
	c.Label = "defaults"
	if len(label) > 0 {
		c.Label = strings.Join(label, " ")
	}
	return c, nil
}

func (s *Space) set(c *Cell, d Dim, v string) error {
	switch d.Kind {
	case KnobDim:
		if s.scenario == nil {
			return fmt.Errorf("tune: knob %s outside a scenario", d.Name)
		}
		k, err := s.scenario.SetKnob(c.Knobs, d.Name, v)
		c.Knobs = k
		return err
	case IsolationDim:
		if v != "process" && v != "pool" {
			return fmt.Errorf("tune: isolation %q (want process or pool)", v)
		}
		c.Isolation = v
	case EnvDim:
		c.Env = slices.DeleteFunc(c.Env, func(e string) bool { return strings.HasPrefix(e, d.Name+"=") })
		if v != "" {
			c.Env = append(c.Env, d.Name+"="+v)
		}
	case FlagDim:
		c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return a == d.Name || strings.HasPrefix(a, d.Name+"=") })
		switch {
		case d.Name == "-race" && v == "on":
			c.Args = append(c.Args, "-race")
		case d.Name == "-race" && v != "off":
			return fmt.Errorf("tune: -race takes on or off, got %q", v)
		case d.Name != "-race" && v != "":
			c.Args = append(c.Args, d.Name+"="+v)
		}
	case BatchDim:
		if v == "" { // the executor's default
			c.Batch = 0
			return nil
		}
		b, err := strconv.Atoi(v)
		if err != nil || b < 1 || b > MaxBatch {
			return fmt.Errorf("tune: batch %q (want 1 to %d)", v, MaxBatch)
		}
		c.Batch = b
	default:
		return fmt.Errorf("tune: dimension %s of unknown kind %d", d.Name, d.Kind)
	}
	return nil
}

// MaxBatch bounds a batch dimension's values.
const MaxBatch = 100_000

// SpaceOptions are the choices ScenarioSpace and ExecSpace take.
type SpaceOptions struct {
	// CPUs is the machine's CPUs (0: runtime.NumCPU(); at most MaxCPUs).
	CPUs int
	// Dims are the user's own dimensions. One named like a built-in one
	// replaces its values (and keeps the built-in one's kind); the base
	// value is put first when missing, so that the defaults cell is always
	// there.
	Dims []Dim
	// Race adds -race (off, on) to an exec or gotest space.
	Race bool
	// GoTest adds -test.cpu to an exec space.
	GoTest bool
	// Batches adds a batch dimension of these sizes, the first the default.
	Batches []int
	// RaceReports says the target is built with the race detector: it adds
	// GORACE (unset, RepeatRaces).
	RaceReports bool
}

// RepeatRaces is the GORACE of a race-enabled target that reports a race
// every time it happens, rather than once per process (command.RepeatRaces):
// a batched Go test then keeps its process after a race (see
// command.Command.RepeatsRaces), and a rare race is caught at the pace of
// the iterations rather than of process starts. Its cost: a race hit many
// times in an iteration is reported as many times.
const RepeatRaces = command.RepeatRaces

// MaxCPUs bounds SpaceOptions.CPUs.
const MaxCPUs = 1 << 16

func (o SpaceOptions) cpus() (int, error) {
	switch {
	case o.CPUs < 0 || o.CPUs > MaxCPUs:
		return 0, fmt.Errorf("tune: %d CPUs, want 0 (this machine's) to %d", o.CPUs, MaxCPUs)
	case o.CPUs > 0:
		return o.CPUs, nil
	}
	return runtime.NumCPU(), nil
}

// ScenarioSpace returns the space of a built-in scenario around the knobs
// base: for each of the scenario's knobs (the engine's included) but
// seconds, which only caps a trial, and the on/off ones, which change what
// is tested rather than how hard, the base value and values spread around
// it within the knob's bounds; then chaos (the base's, off, low, high) and
// isolation (process, pool). gogc takes 1, 5, 25, 100; procs 1, 2, 4 and
// twice the CPUs; any other knob a quarter, 4 and 16 times its base value
// (1, 4 and 16 when that is 0).
func ScenarioSpace(sc *scenarios.Scenario, base result.Knobs, opt SpaceOptions) (*Space, error) {
	if err := sc.CheckKnobs(base); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	cpus, err := opt.cpus()
	if err != nil {
		return nil, err
	}
	s := &Space{Base: Cell{Knobs: base, Isolation: "process"}, scenario: sc}
	for _, kn := range sc.AllKnobs() {
		if kn.Name == "seconds" || kn.Integer && kn.Min == 0 && kn.Max == 1 {
			continue
		}
		d, _ := base.Get(kn.Name)
		var vals []float64
		switch kn.Name {
		case "gogc":
			vals = []float64{1, 5, 25, 100}
		case "procs":
			vals = []float64{1, 2, 4, float64(2 * cpus)}
			if d == 0 { // 0 is the machine's CPUs already
				vals = slices.DeleteFunc(vals, func(v float64) bool { return v == float64(cpus) })
			}
		default:
			vals = []float64{d / 4, d * 4, d * 16}
			if d == 0 {
				vals = []float64{1, 4, 16}
			}
		}
		dim := Dim{Name: kn.Name, Kind: KnobDim, Values: []string{formatValue(d)}}
		for _, v := range vals {
			if kn.Integer {
				v = math.Round(v)
			} else {
				v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
			}
			v = min(max(v, kn.Min), kn.Max)
			if f := formatValue(v); !slices.Contains(dim.Values, f) {
				dim.Values = append(dim.Values, f)
			}
		}
		s.Dims = append(s.Dims, dim)
	}
	chaos := base.Chaos
	if chaos == "" {
		chaos = "off"
	}
	s.Dims = append(s.Dims, Dim{Name: "chaos", Kind: KnobDim, Values: withFirst(chaos, "off", "low", "high")},
		Dim{Name: "isolation", Kind: IsolationDim, Values: []string{"process", "pool"}})
	return s, s.addUser(opt.Dims)
}

// ExecSpace returns the space of an exec or gotest target whose default
// cell is base: GOMAXPROCS (unset, 1, 2, 4, twice the CPUs), GOGC (unset,
// off, 10, 1); with opt.GoTest, -test.cpu (unset, "1,N" for N twice the
// CPUs: each iteration on one P, then oversubscribed); with opt.Race,
// -race; with opt.RaceReports, GORACE (unset, RepeatRaces); with
// opt.Batches, the batch sizes; then the user's dimensions.
func ExecSpace(base Cell, opt SpaceOptions) (*Space, error) {
	cpus, err := opt.cpus()
	if err != nil {
		return nil, err
	}
	procs := Dim{Name: "GOMAXPROCS", Kind: EnvDim, Values: []string{""}}
	for _, p := range []int{1, 2, 4, 2 * cpus} {
		if v := strconv.Itoa(p); p != cpus && !slices.Contains(procs.Values, v) {
			procs.Values = append(procs.Values, v)
		}
	}
	s := &Space{Base: base, Dims: []Dim{procs, {Name: "GOGC", Kind: EnvDim, Values: []string{"", "off", "10", "1"}}}}
	if opt.GoTest {
		s.Dims = append(s.Dims, Dim{Name: "-test.cpu", Kind: FlagDim, Values: []string{"", "1," + strconv.Itoa(2*cpus)}})
	}
	if opt.Race {
		race := []string{"off", "on"}
		if slices.Contains(base.Args, "-race") {
			race = []string{"on", "off"}
		}
		s.Dims = append(s.Dims, Dim{Name: "-race", Kind: FlagDim, Values: race})
	}
	if opt.RaceReports {
		s.Dims = append(s.Dims, Dim{Name: "GORACE", Kind: EnvDim, Values: []string{"", RepeatRaces}})
	}
	if len(opt.Batches) > 0 {
		d := Dim{Name: "batch", Kind: BatchDim}
		for _, b := range opt.Batches {
			d.Values = append(d.Values, strconv.Itoa(b))
		}
		s.Dims = append(s.Dims, d)
	}
	// The base cell's own settings are the defaults: a built-in dimension
	// starts at the base's value.
	for i, d := range s.Dims {
		if v, ok := baseValue(base, d); ok {
			s.Dims[i].Values = withFirst(v, d.Values...)
		}
	}
	return s, s.addUser(opt.Dims)
}

// baseValue returns the value the base cell gives dimension d, if it sets it.
func baseValue(base Cell, d Dim) (string, bool) {
	switch d.Kind {
	case EnvDim:
		for _, e := range base.Env {
			if v, ok := strings.CutPrefix(e, d.Name+"="); ok {
				return v, true
			}
		}
	case FlagDim:
		for _, a := range base.Args {
			if v, ok := strings.CutPrefix(a, d.Name+"="); ok {
				return v, true
			}
		}
	case BatchDim:
		if base.Batch > 0 {
			return strconv.Itoa(base.Batch), true
		}
	}
	return "", false
}

// addUser adds the user's dimensions, each checked, and checks the space.
func (s *Space) addUser(dims []Dim) error {
	for _, u := range dims {
		if err := u.check(); err != nil {
			return fmt.Errorf("tune: %w", err)
		}
		i := slices.IndexFunc(s.Dims, func(d Dim) bool { return d.Name == u.Name })
		if i < 0 {
			def, _ := s.baseOf(u)
			s.Dims = append(s.Dims, Dim{Name: u.Name, Kind: u.Kind, Values: withFirst(def, u.Values...)})
			continue
		}
		// A built-in dimension keeps its kind: --sweep isolation=pool
		// names the isolation dimension.
		s.Dims[i].Values = withFirst(s.Dims[i].Values[0], u.Values...)
	}
	if len(s.Dims) > MaxDims {
		return fmt.Errorf("tune: %d dimensions, more than %d", len(s.Dims), MaxDims)
	}
	// Every value is set once on the base, so a bad one is refused here
	// rather than in the middle of a search.
	for _, d := range s.Dims {
		if len(d.Values) > MaxDimValues {
			return fmt.Errorf("tune: %s: %d values, more than %d", d.Name, len(d.Values), MaxDimValues)
		}
		for _, v := range d.Values {
			c := s.Base
			c.Env, c.Args = slices.Clone(c.Env), slices.Clone(c.Args)
			if err := s.set(&c, d, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// baseOf returns the base's value of a user dimension not built in.
func (s *Space) baseOf(d Dim) (string, bool) {
	if d.Kind == KnobDim && s.scenario != nil {
		if v, ok := s.Base.Knobs.Get(d.Name); ok {
			return formatValue(v), true
		}
		if kn, err := s.scenario.Knob(d.Name); err == nil {
			return formatValue(kn.Default), true
		}
	}
	return baseValue(s.Base, d)
}

// withFirst returns vals with first put first, once.
func withFirst(first string, vals ...string) []string {
	return append([]string{first}, slices.DeleteFunc(slices.Clone(vals), func(v string) bool { return v == first })...)
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
