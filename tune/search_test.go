package tune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/report"
)

// sim is a simulated machine: a cell's trial fails after an exponential
// time of the cell's hazard, or is cut off at limit; each trial costs
// overhead on top (a process start), and the searcher's own work between
// trials costs gap. Its clock moves only when a trial runs.
type sim struct {
	now      time.Time
	rng      *rand.Rand
	hazard   map[string]float64
	overhead time.Duration
	limit    time.Duration
	gap      time.Duration
	extra    map[string]time.Duration // overhead of a cell's trials beyond overhead
	calls    []string
}

func newSim(seed uint64, hazard map[string]float64) *sim {
	return &sim{
		now: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC), rng: rand.New(rand.NewPCG(seed, 1)),
		hazard: hazard, overhead: 5 * time.Millisecond, limit: time.Second,
	}
}

func (s *sim) clock() time.Time { return s.now }

func (s *sim) run(_ context.Context, c Cell) (Sample, error) {
	s.calls = append(s.calls, c.Label)
	l := s.hazard[c.Label]
	smp := Sample{Hit: l > 0, TTFF: s.limit}
	if l > 0 {
		if t := time.Duration(s.rng.ExpFloat64() / l * float64(time.Second)); t < s.limit {
			smp.TTFF = t
		} else {
			smp.Hit = false
		}
	}
	smp.Wall = s.overhead + s.extra[c.Label] + smp.TTFF
	s.now = s.now.Add(smp.Wall + s.gap)
	return smp, nil
}

// effective returns the hazard per wall second of a cell of hazard l on
// s: the chance a trial hits over the mean wall time of a trial.
func (s *sim) effective(l float64) float64 {
	p := -math.Expm1(-l * s.limit.Seconds())
	return p / (s.overhead.Seconds() + p/l)
}

// twelve returns 12 cells whose hazards spread geometrically from 1/s to
// 30/s, in a scrambled order, and the label of the best.
func twelve() ([]Cell, map[string]float64, string) {
	perm := []int{3, 7, 0, 10, 5, 1, 11, 8, 2, 6, 4, 9}
	var cells []Cell
	hazard := map[string]float64{}
	best := ""
	for j, p := range perm {
		label := fmt.Sprintf("cell%02d", j)
		if j == 0 {
			label = "defaults"
		}
		cells = append(cells, Cell{Label: label})
		hazard[label] = math.Pow(30, float64(p)/11)
		if p == 11 {
			best = label
		}
	}
	return cells, hazard, best
}

// falsePickBound bounds the probability that successive halving over
// cells of effective hazards eff (any order) with budget b drops the best.
//
// At a rung of n cells, ceil(n/2) go on; the best is dropped only if at
// least ceil(n/2) others are ahead of it, so at least one of those that
// are not among the ceil(n/2)-1 strongest others is; at the last rung
// (two cells) the one other must be. Each term is the Chernoff bound on
// two Poisson counts over equal exposure t swapping places,
// exp(-t(√λ₁-√λ₂)²), taken at the strongest survivors possible. The
// exposure t of each survivor by the end of rung r is the sum of its
// shares (15/16 of the budget left, over the rungs left and their cells),
// counted at 90%: trials overshoot a share (which only adds exposure), but
// earlier overshoots take from the budget left for later rungs, a few
// trials' worth out of hundreds.
//
// The counts are those of a renewal process (a trial ends at its first
// failure, plus overhead), which is less dispersed than Poisson for the
// leading cells; the bound is an approximation, used with a wide margin.
func falsePickBound(eff []float64, b time.Duration) float64 {
	e := slices.Clone(eff)
	slices.SortFunc(e, func(x, y float64) int { return -cmpFloat(x, y) })
	best, others := e[0], e[1:]
	rungs := rungCount(len(e))
	var bound, t float64
	n, rem := len(e), b.Seconds()
	for r := 1; r <= rungs; r++ {
		share := rem * 15 / 16 / float64((rungs-r+1)*n)
		rem -= share * float64(n)
		t += share
		keep := (n + 1) / 2
		if r == rungs {
			keep = 1
		}
		for _, l := range others[keep-1 : n-1] {
			bound += math.Exp(-0.9 * t * math.Pow(math.Sqrt(best)-math.Sqrt(l), 2))
		}
		n = (n + 1) / 2
	}
	return bound
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func TestSearchFindsTheBestCell(t *testing.T) {
	cells, hazard, best := twelve()
	budget := 240 * time.Second
	var eff []float64
	for _, l := range hazard {
		eff = append(eff, newSim(0, nil).effective(l))
	}
	// The bound is about 1e-10: a seed is a fair draw, and every seed below
	// must find the best cell; 20 of them fail together with probability
	// below 20 times the bound.
	p := falsePickBound(eff, budget)
	t.Logf("false-pick bound %.3g", p)
	require.Less(t, p, 1e-6)
	for seed := range uint64(20) {
		s := newSim(seed, hazard)
		res, err := Search(context.Background(), Config{Cells: cells, Budget: budget, Run: s.run, Clock: s.clock, Seed: int64(seed)})
		require.NoError(t, err)
		require.Equal(t, best, res.Winner().Cell.Label, "seed %d", seed)
		assert.True(t, res.Winner().Winner)
	}
}

func TestSearchSpendsOnTheLeaders(t *testing.T) {
	cells, hazard, best := twelve()
	budget := 240 * time.Second
	s := newSim(1, hazard)
	res, err := Search(context.Background(), Config{Cells: cells, Budget: budget, Run: s.run, Clock: s.clock, Seed: 1})
	require.NoError(t, err)
	require.Equal(t, best, res.Winner().Cell.Label)
	assert.Equal(t, 4, res.Rungs)
	assert.Equal(t, "one cell left", res.Stop)
	byRung := map[int][]CellStats{}
	for _, c := range res.Cells {
		byRung[c.Rung] = append(byRung[c.Rung], c)
	}
	// 12 cells: rungs of 12, 6, 3, 2.
	assert.Len(t, byRung[1], 6)
	assert.Len(t, byRung[2], 3)
	assert.Len(t, byRung[3], 1)
	assert.Len(t, byRung[4], 2)
	// A cell dropped at the first rung got its share, 1/48 of the budget
	// less the sixteenth kept back, and a trial more at most (a trial is at
	// most 1.005s here).
	share := budget * 15 / 16 / 48
	var dropped, finalists time.Duration
	for _, c := range byRung[1] {
		assert.GreaterOrEqual(t, c.Wall, share, c.Cell.Label)
		assert.LessOrEqual(t, c.Wall, share+s.limit+s.overhead, c.Cell.Label)
		dropped += c.Wall
	}
	for _, c := range byRung[4] {
		// 13/48 of the budget, less what overshoots took from later rungs.
		assert.Greater(t, c.Wall, 6*share, c.Cell.Label)
		finalists += c.Wall
	}
	assert.Greater(t, finalists, dropped, "the two finalists ran longer than the six cells dropped first together")
	// Every cell ran, the table is ordered by rung and then hazard, and
	// the counts add up.
	trials := 0
	for i, c := range res.Cells {
		trials += c.Trials
		assert.Equal(t, c.Winner, i == 0)
		if i > 0 {
			prev := res.Cells[i-1]
			assert.True(t, prev.Rung > c.Rung || prev.Rung == c.Rung && prev.PerSecond >= c.PerSecond, "order at %d", i)
		}
		assert.Equal(t, NewRate(c.Trials, c.Hits, c.Wall), c.Rate)
	}
	assert.Equal(t, res.Trials, trials)
	assert.Equal(t, len(s.calls), trials)
	assert.Equal(t, s.now.Sub(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)), res.Elapsed)
	assert.LessOrEqual(t, res.Elapsed, budget+s.limit+s.overhead)
}

func TestSearchInterleavesRounds(t *testing.T) {
	cells, hazard, _ := twelve()
	s := newSim(2, hazard)
	var rounds []Progress
	seen := map[string]bool{}
	firstRound := 0
	_, err := Search(context.Background(), Config{Cells: cells, Budget: time.Minute, Run: s.run, Clock: s.clock, Seed: 2,
		Progress: func(p Progress) {
			rounds = append(rounds, p)
			if len(rounds) == 1 {
				firstRound = len(s.calls)
				for _, l := range s.calls {
					seen[l] = true
				}
			}
		}})
	require.NoError(t, err)
	// Every cell ran in the first round, in a shuffled order.
	assert.Len(t, seen, 12)
	var order []string
	for _, l := range s.calls[:firstRound] {
		if !slices.Contains(order, l) {
			order = append(order, l)
		}
	}
	labels := make([]string, len(cells))
	for i, c := range cells {
		labels[i] = c.Label
	}
	assert.ElementsMatch(t, labels, order)
	assert.NotEqual(t, labels, order)
	// Eight rounds a rung, each reported with at most three leaders, best
	// first.
	require.Len(t, rounds, 8*4)
	for i, p := range rounds {
		assert.Equal(t, i/8+1, p.Rung)
		assert.Equal(t, []int{12, 6, 3, 2}[i/8], p.Left)
		assert.LessOrEqual(t, len(p.Leaders), 3)
		for j := 1; j < len(p.Leaders); j++ {
			assert.GreaterOrEqual(t, p.Leaders[j-1].PerSecond, p.Leaders[j].PerSecond)
		}
	}
	last := rounds[len(rounds)-1]
	line := last.String()
	assert.True(t, strings.HasPrefix(line, "tune "), line)
	assert.Contains(t, line, "rung 4/4, 2 cells left")
	assert.Contains(t, line, last.Leaders[0].Cell.Label+" "+last.Leaders[0].Rate.String())
}

func TestSearchIsDeterministic(t *testing.T) {
	cells, hazard, _ := twelve()
	run := func(seed int64) (*Result, []string) {
		s := newSim(7, hazard)
		res, err := Search(context.Background(), Config{Cells: cells, Budget: 30 * time.Second, Run: s.run, Clock: s.clock, Seed: seed})
		require.NoError(t, err)
		return res, s.calls
	}
	a, ca := run(3)
	b, cb := run(3)
	assert.True(t, reflect.DeepEqual(a, b))
	assert.Equal(t, ca, cb)
	_, cc := run(4)
	assert.NotEqual(t, ca, cc, "the seed orders the rounds")
}

func TestSearchStopsWithinTheBudget(t *testing.T) {
	cells, hazard, _ := twelve()
	s := newSim(5, hazard)
	// The searcher's work costs 20ms a trial that the samples do not show:
	// the rungs' shares, counted in samples' wall time, overrun the clock,
	// and the budget stops the last rung.
	s.gap = 20 * time.Millisecond
	budget := 20 * time.Second
	res, err := Search(context.Background(), Config{Cells: cells, Budget: budget, Run: s.run, Clock: s.clock})
	require.NoError(t, err)
	assert.Equal(t, "budget spent", res.Stop)
	assert.GreaterOrEqual(t, res.Elapsed, budget)
	assert.LessOrEqual(t, res.Elapsed, budget+s.limit+s.overhead+s.gap, "at most one trial past the budget")
	assert.True(t, res.Winner().Winner)
	assert.Equal(t, res.Rungs, res.Winner().Rung)
}

func TestSearchTies(t *testing.T) {
	// No cell ever fails: nothing to choose, and the defaults (first) win.
	cells, _, _ := twelve()
	s := newSim(1, map[string]float64{})
	res, err := Search(context.Background(), Config{Cells: cells, Budget: 100 * time.Second, Run: s.run, Clock: s.clock})
	require.NoError(t, err)
	assert.Equal(t, "defaults", res.Winner().Cell.Label)
	assert.Zero(t, res.Winner().Hits)
	// One cell: measured for the whole budget.
	s = newSim(1, map[string]float64{"only": 10})
	res, err = Search(context.Background(), Config{Cells: []Cell{{Label: "only"}}, Budget: 10 * time.Second, Run: s.run, Clock: s.clock})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Rungs)
	assert.Equal(t, "one cell left", res.Stop)
	assert.GreaterOrEqual(t, res.Winner().Wall, 10*time.Second*15/16)
}

func TestSearchMedianTTFF(t *testing.T) {
	s := newSim(9, map[string]float64{"a": 20, "b": 5})
	var samples []Sample
	run := func(ctx context.Context, c Cell) (Sample, error) {
		x, err := s.run(ctx, c)
		if c.Label == "a" {
			samples = append(samples, x)
		}
		return x, err
	}
	// a's ~9s of exposure at 16/s (per wall second) against b's at 4.9/s:
	// b comes first with probability below exp(-9(4-2.2)²) = 2e-13.
	res, err := Search(context.Background(), Config{Cells: []Cell{{Label: "a"}, {Label: "b"}}, Budget: 20 * time.Second, Run: run, Clock: s.clock})
	require.NoError(t, err)
	var obs []report.Sample
	for _, x := range samples {
		obs = append(obs, report.Sample{T: x.TTFF, Detected: x.Hit})
	}
	want, ok := report.KaplanMeier(obs).Quantile(0.5)
	require.True(t, ok)
	require.Equal(t, "a", res.Winner().Cell.Label)
	assert.Equal(t, want, res.Winner().MedianTTFF)
	assert.Equal(t, RateOf(samples), res.Winner().Rate)
	// Samples without TTFF report no median.
	plain := func(ctx context.Context, c Cell) (Sample, error) {
		x, err := s.run(ctx, c)
		x.TTFF = 0
		return x, err
	}
	res, err = Search(context.Background(), Config{Cells: []Cell{{Label: "a"}, {Label: "b"}}, Budget: 20 * time.Second, Run: plain, Clock: s.clock})
	require.NoError(t, err)
	assert.Zero(t, res.Winner().MedianTTFF)
}

func TestSearchFaults(t *testing.T) {
	cells, hazard, _ := twelve()
	boom := errors.New("boom")
	s := newSim(1, hazard)
	failing := func(ctx context.Context, c Cell) (Sample, error) {
		if len(s.calls) == 4 {
			s.calls = append(s.calls, c.Label)
			return Sample{}, boom
		}
		return s.run(ctx, c)
	}
	res, err := Search(context.Background(), Config{Cells: cells, Budget: time.Minute, Run: failing, Clock: s.clock})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "tune: cell "+s.calls[4]+": boom")
	require.NotNil(t, res)
	assert.Equal(t, "harness fault", res.Stop)
	assert.Equal(t, 4, res.Trials, "the faulty trial is neither a hit nor a miss")

	for name, bad := range map[string]Sample{
		"no wall time":       {Hit: true},
		"negative wall time": {Wall: -time.Second},
		"wall time too long": {Wall: MaxTrialWall + 1},
		"ttff past the wall": {Hit: true, Wall: time.Millisecond, TTFF: 2 * time.Millisecond},
		"negative ttff":      {Wall: time.Millisecond, TTFF: -1},
	} {
		res, err := Search(context.Background(), Config{Cells: cells, Budget: time.Minute, Run: func(context.Context, Cell) (Sample, error) { return bad, nil }, Clock: s.clock})
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "tune: cell ", name)
		assert.Equal(t, 0, res.Trials, name)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s = newSim(1, hazard)
	interrupted := func(c context.Context, cell Cell) (Sample, error) {
		if len(s.calls) == 30 {
			cancel()
			return Sample{}, c.Err()
		}
		return s.run(c, cell)
	}
	res, err = Search(ctx, Config{Cells: cells, Budget: time.Minute, Run: interrupted, Clock: s.clock})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "interrupted", res.Stop)
	assert.Equal(t, 30, res.Trials)

	s = newSim(1, hazard)
	res, err = Search(context.Background(), Config{Cells: cells, Budget: time.Minute, Run: s.run, Clock: s.clock, MaxTrials: 50})
	require.NoError(t, err)
	assert.Equal(t, "trial limit reached", res.Stop)
	assert.Equal(t, 50, res.Trials)
}

func TestSearchConfigBounds(t *testing.T) {
	run := func(context.Context, Cell) (Sample, error) { return Sample{Wall: time.Second}, nil }
	ok := Config{Cells: []Cell{{Label: "a"}}, Budget: time.Minute, Run: run}
	many := make([]Cell, MaxCells+1)
	for i := range many {
		many[i].Label = fmt.Sprint(i)
	}
	for name, edit := range map[string]func(*Config){
		"no cells":        func(c *Config) { c.Cells = nil },
		"too many cells":  func(c *Config) { c.Cells = many },
		"short budget":    func(c *Config) { c.Budget = MinBudget - 1 },
		"long budget":     func(c *Config) { c.Budget = MaxBudget + 1 },
		"no run":          func(c *Config) { c.Run = nil },
		"negative trials": func(c *Config) { c.MaxTrials = -1 },
		"too many trials": func(c *Config) { c.MaxTrials = MaxTrials + 1 },
		"no label":        func(c *Config) { c.Cells = []Cell{{}} },
		"same label":      func(c *Config) { c.Cells = []Cell{{Label: "a"}, {Label: "a"}} },
	} {
		cfg := ok
		edit(&cfg)
		res, err := Search(context.Background(), cfg)
		assert.Error(t, err, name)
		assert.Nil(t, res, name)
	}
	assert.Equal(t, []int{1, 1, 2, 2, 3, 3, 3, 3, 4, 4}, []int{rungCount(1), rungCount(2), rungCount(3), rungCount(4), rungCount(5), rungCount(6), rungCount(7), rungCount(8), rungCount(12), rungCount(13)})
}

func TestSearchCellsThatNeverRan(t *testing.T) {
	// A budget one slow trial spends: the other cells never run, and say so.
	cells, _, _ := twelve()
	s := newSim(1, map[string]float64{})
	res, err := Search(context.Background(), Config{Cells: cells, Budget: time.Second, Run: s.run, Clock: s.clock, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, "budget spent", res.Stop)
	assert.Equal(t, 1, res.Trials)
	ran := 0
	for _, c := range res.Cells {
		if c.Trials > 0 {
			ran++
			assert.Equal(t, 1, c.Rung)
		} else {
			assert.Zero(t, c.Rung, c.Cell.Label)
			assert.False(t, c.Known())
		}
	}
	assert.Equal(t, 1, ran)
	// Nothing tells the cells apart (no hits anywhere): the tie goes to
	// the first cell, the defaults.
	require.NotEqual(t, "defaults", s.calls[0])
	assert.Equal(t, "defaults", res.Winner().Cell.Label)
}

func TestInterleave(t *testing.T) {
	s := newSim(3, map[string]float64{"defaults": 2, "winner": 20})
	cells := []Cell{{Label: "defaults"}, {Label: "winner"}}
	out, err := Interleave(context.Background(), cells, s.run, 10*time.Second, MaxTrials, s.clock, 1)
	require.NoError(t, err)
	require.Len(t, out, 2)
	require.Equal(t, len(out[0]), len(out[1]), "whole rounds only")
	n := len(out[0])
	require.Greater(t, n, 10)
	// Each round runs each cell once, in some order.
	for r := range n {
		pair := s.calls[2*r : 2*r+2]
		assert.ElementsMatch(t, []string{"defaults", "winner"}, pair, "round %d", r)
	}
	assert.NotEqual(t, slices.Repeat([]string{"defaults", "winner"}, n), s.calls, "the order is shuffled")
	// The winner's 20-odd trials all fail within ~1.1s in all against the
	// defaults' ~2/s: a gain near 10 whose lower bound is near 5, and could
	// reach 1 only if the winner's exposure grew fourfold, many standard
	// deviations away.
	c := Confirm(out[0], out[1])
	assert.Equal(t, n, c.Defaults.Trials)
	t.Logf("%s over %d rounds", c.GainString(), n)
	assert.Greater(t, c.Gain.Lo, 1.0, c.GainString())
	// The budget ends the rounds: no round starts past it, one may end past it.
	var wall time.Duration
	for _, x := range append(slices.Clone(out[0]), out[1]...) {
		wall += x.Wall
	}
	assert.GreaterOrEqual(t, wall, 10*time.Second)
	assert.Less(t, wall, 10*time.Second+2*(s.limit+s.overhead))

	s = newSim(3, map[string]float64{"defaults": 2, "winner": 20})
	out, err = Interleave(context.Background(), cells, s.run, time.Hour, 7, s.clock, 1)
	require.NoError(t, err)
	assert.Len(t, out[0], 7)
	assert.Len(t, out[1], 7)

	boom := errors.New("boom")
	calls := 0
	out, err = Interleave(context.Background(), cells, func(ctx context.Context, c Cell) (Sample, error) {
		if calls++; calls == 6 {
			return Sample{}, boom
		}
		return s.run(ctx, c)
	}, time.Hour, 100, s.clock, 1)
	require.ErrorIs(t, err, boom)
	assert.Len(t, out[0], 2, "the samples of the complete rounds")
	assert.Len(t, out[1], 2)

	for name, f := range map[string]func() error{
		"no cells": func() error {
			_, err := Interleave(context.Background(), nil, s.run, time.Minute, 1, nil, 0)
			return err
		},
		"budget": func() error { _, err := Interleave(context.Background(), cells, s.run, 0, 1, nil, 0); return err },
		"trials": func() error {
			_, err := Interleave(context.Background(), cells, s.run, time.Minute, 0, nil, 0)
			return err
		},
		"no run": func() error {
			_, err := Interleave(context.Background(), cells, nil, time.Minute, 1, nil, 0)
			return err
		},
		"bad trial": func() error {
			_, err := Interleave(context.Background(), cells, func(context.Context, Cell) (Sample, error) { return Sample{}, nil }, time.Minute, 1, nil, 0)
			return err
		},
	} {
		assert.Error(t, f(), name)
	}
}

func TestSearchCountsOverhead(t *testing.T) {
	// A fresh process for each trial catches the bug at 100/s once it runs
	// but costs 200ms to start; a warm worker catches it at 20/s and costs
	// 5ms: per second of wall-clock time, 1/(0.2+0.01) = 4.8/s against
	// 1/(0.005+0.05) = 18/s. The search counts the overhead, and picks the
	// warm worker.
	s := newSim(4, map[string]float64{"process": 100, "pool": 20})
	s.extra = map[string]time.Duration{"process": 195 * time.Millisecond}
	res, err := Search(context.Background(), Config{Cells: []Cell{{Label: "process"}, {Label: "pool"}}, Budget: 200 * time.Second, Run: s.run, Clock: s.clock})
	require.NoError(t, err)
	assert.Equal(t, "pool", res.Winner().Cell.Label)
	// Over its ~94s the process cell fails ~450 times: its rate's σ is
	// about 0.22/s, and 1.2/s is 5.4σ (a seed fails this for < 1e-7).
	process := res.Cells[1]
	assert.InDelta(t, 1/0.21, process.PerSecond, 1.2)
	assert.Less(t, process.Hi, res.Winner().Lo)
}

// TestSearchRunsOnWhileATrialAsksForMore: a cell whose trials are the
// iterations of warm batches of 4 asks for more until each batch is done;
// its trials then come in whole batches, however short its share.
func TestSearchRunsOnWhileATrialAsksForMore(t *testing.T) {
	cells := []Cell{{Label: "defaults"}, {Label: "warm"}, {Label: "cold"}}
	s := newSim(3, map[string]float64{"defaults": 2, "warm": 5, "cold": 1})
	var n int // the warm cell's trials
	run := func(ctx context.Context, c Cell) (Sample, error) {
		smp, err := s.run(ctx, c)
		if c.Label == "warm" {
			n++
			smp.More = n%4 != 0
		}
		return smp, err
	}
	res, err := Search(context.Background(), Config{Cells: cells, Budget: 20 * time.Second, Run: run, Clock: s.clock, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, "one cell left", res.Stop)
	// Split the calls into runs of one cell.
	var runs []int
	for i, l := range s.calls {
		switch {
		case l != "warm":
		case i > 0 && s.calls[i-1] == "warm":
			runs[len(runs)-1]++
		default:
			runs = append(runs, 1)
		}
	}
	require.NotEmpty(t, runs)
	for _, r := range runs {
		assert.Zero(t, r%4, "warm's trials come in whole batches: %v", runs)
	}
	// Without More, the shares are short enough to split a batch.
	s = newSim(3, map[string]float64{"defaults": 2, "warm": 5, "cold": 1})
	_, err = Search(context.Background(), Config{Cells: cells, Budget: 20 * time.Second, Run: s.run, Clock: s.clock, Seed: 1})
	require.NoError(t, err)
	runs = nil
	for i, l := range s.calls {
		switch {
		case l != "warm":
		case i > 0 && s.calls[i-1] == "warm":
			runs[len(runs)-1]++
		default:
			runs = append(runs, 1)
		}
	}
	assert.True(t, slices.ContainsFunc(runs, func(r int) bool { return r%4 != 0 }), "the test tells: %v", runs)
}
