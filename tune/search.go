package tune

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
)

// Cell is one point of a search space: a label and the settings its trials
// run with. A built-in scenario's cell sets Knobs and Isolation ("process"
// or "pool"); an exec or gotest cell sets Env ("KEY=VALUE", added to the
// command's environment), Args (flags added to the command line; "-race"
// asks for a race-enabled build) and Batch (iterations per test process,
// 0 for the executor's default).
type Cell struct {
	Label     string       `json:"label"`
	Knobs     result.Knobs `json:"knobs,omitzero"`
	Isolation string       `json:"isolation,omitempty"`
	Env       []string     `json:"env,omitempty"`
	Args      []string     `json:"args,omitempty"`
	Batch     int          `json:"batch,omitempty"`
}

// Sample is what one trial of a cell tells the search.
type Sample struct {
	// Hit is set when the trial caught the control's bug (one of its
	// signature outcomes). A trial should end at its first hit: a
	// scenario's trial does; a Go test's trial is one iteration, in a
	// test process of its own or read from a warm one of Batch
	// iterations (whose start the batch's first iteration costs), so
	// that hits per second is failures per iteration times iterations
	// per second.
	Hit bool
	// Wall is the wall-clock time the trial cost, overhead included
	// (process start, build, teardown): the exposure the hazard is per.
	Wall time.Duration
	// TTFF, when not zero, is the time from the trial's start to its first
	// failure when Hit, otherwise how long it ran: the search then also
	// reports each cell's Kaplan–Meier median time to first failure.
	TTFF time.Duration
	// More asks for the cell's next trial right after this one, even past
	// the cell's share of the round: the trial left a warm process whose
	// next trials are cheap (a batch of a Go test's iterations), which
	// another cell's trials would otherwise find running, or would end.
	// The budget still stops the search.
	More bool
}

// RunFunc runs one trial of a cell. An error is a harness fault: it ends
// the search, as it is never a hit nor a miss.
type RunFunc func(ctx context.Context, c Cell) (Sample, error)

// Bounds of a search.
const (
	MaxCells     = 256
	MinBudget    = time.Second
	MaxBudget    = 24 * time.Hour
	MaxTrials    = 1_000_000
	MaxTrialWall = 24 * time.Hour
)

// roundsPerRung is how many rounds a rung's exposure is spread over, so
// that every surviving cell meets the machine at every stage of the rung.
const roundsPerRung = 8

// Config is what Search needs.
type Config struct {
	// Cells are the candidates, 1 to MaxCells, with distinct non-empty
	// labels. Ties go to the earlier cell: put the defaults first.
	Cells []Cell
	// Budget is the wall-clock time the search may take, from MinBudget
	// to MaxBudget, as Clock measures it. No trial starts once it is
	// spent, so the search overruns it by at most one trial.
	Budget time.Duration
	// Run runs one trial.
	Run RunFunc
	// Clock tells the time; nil is time.Now.
	Clock func() time.Time
	// Seed orders the cells within each round.
	Seed int64
	// Progress, when set, is called after each round.
	Progress func(Progress)
	// MaxTrials bounds the trials (0: MaxTrials; at most MaxTrials).
	MaxTrials int
}

// CellStats is what the search learned of one cell.
type CellStats struct {
	Cell Cell `json:"cell"`
	Rate
	// Rung is the last rung the cell was in, from 1; 0 if it never ran a
	// trial.
	Rung int `json:"rung"`
	// MedianTTFF is the Kaplan–Meier median time to first failure of the
	// cell's trials, when their samples gave TTFF and the curve reached
	// one half; otherwise zero.
	MedianTTFF time.Duration `json:"median_ttff_ns,omitempty"`
	// Winner marks the cell the search picked.
	Winner bool `json:"winner,omitempty"`
}

// Result is the outcome of a search.
type Result struct {
	// Cells are every candidate, the winner first, then by the rung they
	// reached (latest first) and their hazard (highest first).
	Cells   []CellStats
	Rungs   int // rungs planned
	Trials  int
	Budget  time.Duration
	Elapsed time.Duration
	// Stop says why the search ended: "one cell left", "budget spent",
	// "trial limit reached", "interrupted" or "harness fault".
	Stop string
}

// Winner returns the cell the search picked.
func (r *Result) Winner() CellStats { return r.Cells[0] }

// Progress is the state of a search after a round.
type Progress struct {
	Elapsed, Budget time.Duration
	Rung, Rungs     int
	Left            int // cells still in the search
	Trials          int
	Leaders         []CellStats // the leading cells, at most three, best first
}

// String prints p on one line: "tune 1m12s/3m0s rung 2/4, 6 cells left,
// 812 trials: gogc=1 41.2/s [35.1/s, 48.3/s] · defaults ...".
func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tune %v/%v rung %d/%d, %d cells left, %d trials:", p.Elapsed.Round(time.Second), p.Budget, p.Rung, p.Rungs, p.Left, p.Trials)
	for i, l := range p.Leaders {
		if i > 0 {
			b.WriteString(" ·")
		}
		fmt.Fprintf(&b, " %s %s", l.Cell.Label, l.Rate)
	}
	return b.String()
}

// cellState accumulates one cell's trials.
type cellState struct {
	trials, hits int
	wall         time.Duration
	rungWall     time.Duration // exposure in the current rung
	rung         int           // the last rung the cell was in
	obs          []report.Sample
	timed        bool // some sample gave TTFF
}

func (s *cellState) stats(c Cell) CellStats {
	cs := CellStats{Cell: c, Rate: NewRate(s.trials, s.hits, s.wall)}
	if s.trials > 0 {
		cs.Rung = s.rung
	}
	if s.timed {
		if d, ok := report.KaplanMeier(s.obs).Quantile(0.5); ok {
			cs.MedianTTFF = d
		}
	}
	return cs
}

// Search runs successive halving over cfg.Cells within cfg.Budget and
// returns every cell's statistics, the winner first. See the package
// documentation for the procedure.
//
// When ctx is done or a trial fails with an error, Search returns what it
// learned so far with the error.
func Search(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	maxTrials := cfg.MaxTrials
	if maxTrials == 0 {
		maxTrials = MaxTrials
	}
	start := clock()
	elapsed := func() time.Duration { return clock().Sub(start) }
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7475_6e65))
	n := len(cfg.Cells)
	st := make([]cellState, n)
	res := &Result{Rungs: rungCount(n), Budget: cfg.Budget, Stop: "one cell left"}
	// rank orders cells by hazard, highest first; at equal hazards the one
	// with more hits (the higher lower bound) first, then the earlier.
	rank := func(i, j int) int {
		a, b := &st[i], &st[j]
		return cmp.Or(cmp.Compare(float64(b.hits)*float64(a.wall), float64(a.hits)*float64(b.wall)),
			cmp.Compare(b.hits, a.hits), cmp.Compare(i, j))
	}
	alive := make([]int, n)
	for i := range alive {
		alive[i] = i
	}
	var err error
	stop := func(why string, e error) { res.Stop, err = why, e }
search:
	for rung := 1; rung <= res.Rungs; rung++ {
		if rung > 1 {
			slices.SortFunc(alive, rank)
			alive = alive[:(len(alive)+1)/2]
		}
		rem := cfg.Budget - elapsed()
		if rem <= 0 {
			stop("budget spent", nil)
			break
		}
		// A sixteenth of what is left is kept back for the rounds'
		// overshoot (each cell's last trial of a round runs past its
		// share), so that the last rung can finish within the budget.
		target := (rem - rem/16) / time.Duration((res.Rungs-rung+1)*len(alive))
		for _, i := range alive {
			st[i].rungWall, st[i].rung = 0, rung
		}
		for round := 1; round <= roundsPerRung; round++ {
			goal := target / roundsPerRung * time.Duration(round)
			if round == roundsPerRung {
				goal = target
			}
			order := slices.Clone(alive)
			rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
			for _, i := range order {
				for more := false; st[i].rungWall < goal || st[i].trials == 0 || more; {
					switch {
					case ctx.Err() != nil:
						stop("interrupted", ctx.Err())
						break search
					case elapsed() >= cfg.Budget:
						stop("budget spent", nil)
						break search
					case res.Trials >= maxTrials:
						stop("trial limit reached", nil)
						break search
					}
					s, e := cfg.Run(ctx, cfg.Cells[i])
					if e == nil {
						e = checkSample(s)
					}
					if e != nil {
						if ctx.Err() != nil {
							stop("interrupted", ctx.Err())
						} else {
							stop("harness fault", fmt.Errorf("tune: cell %s: %w", cfg.Cells[i].Label, e))
						}
						break search
					}
					res.Trials++
					st[i].add(s)
					more = s.More
				}
			}
			if cfg.Progress != nil {
				cfg.Progress(progress(cfg, st, alive, rank, rung, res, elapsed()))
			}
		}
	}
	res.Elapsed = elapsed()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return cmp.Or(cmp.Compare(st[j].rung, st[i].rung), rank(i, j)) })
	for _, i := range order {
		res.Cells = append(res.Cells, st[i].stats(cfg.Cells[i]))
	}
	res.Cells[0].Winner = true
	return res, err
}

func (s *cellState) add(x Sample) {
	s.trials++
	s.wall += x.Wall
	s.rungWall += x.Wall
	if x.Hit {
		s.hits++
	}
	if x.TTFF > 0 {
		s.timed = true
	}
	s.obs = append(s.obs, report.Sample{T: x.TTFF, Detected: x.Hit})
}

func progress(cfg Config, st []cellState, alive []int, rank func(i, j int) int, rung int, res *Result, elapsed time.Duration) Progress {
	lead := slices.Clone(alive)
	slices.SortFunc(lead, rank)
	p := Progress{Elapsed: elapsed, Budget: cfg.Budget, Rung: rung, Rungs: res.Rungs, Left: len(alive), Trials: res.Trials}
	for _, i := range lead[:min(3, len(lead))] {
		p.Leaders = append(p.Leaders, st[i].stats(cfg.Cells[i]))
	}
	return p
}

// rungCount returns the rungs successive halving makes of n cells: it
// halves them, rounding up, until two are left for the last rung.
func rungCount(n int) int {
	r := 1
	for m := n; m > 2; m = (m + 1) / 2 {
		r++
	}
	return r
}

func checkSample(s Sample) error {
	switch {
	case s.Wall <= 0 || s.Wall > MaxTrialWall:
		return fmt.Errorf("a trial reported a wall time of %v (want more than 0, at most %v)", s.Wall, MaxTrialWall)
	case s.TTFF < 0 || s.TTFF > s.Wall:
		return fmt.Errorf("a trial reported a time to first failure of %v, outside its wall time %v", s.TTFF, s.Wall)
	}
	return nil
}

func (cfg Config) check() error {
	switch {
	case len(cfg.Cells) == 0:
		return errors.New("tune: no cells to search")
	case len(cfg.Cells) > MaxCells:
		return fmt.Errorf("tune: %d cells, more than %d", len(cfg.Cells), MaxCells)
	case cfg.Budget < MinBudget || cfg.Budget > MaxBudget:
		return fmt.Errorf("tune: a budget of %v, want %v to %v", cfg.Budget, MinBudget, MaxBudget)
	case cfg.Run == nil:
		return errors.New("tune: no run function")
	case cfg.MaxTrials < 0 || cfg.MaxTrials > MaxTrials:
		return fmt.Errorf("tune: a trial limit of %d, want 0 to %d", cfg.MaxTrials, MaxTrials)
	}
	seen := map[string]bool{}
	for _, c := range cfg.Cells {
		if c.Label == "" {
			return errors.New("tune: a cell without a label")
		}
		if seen[c.Label] {
			return fmt.Errorf("tune: two cells labelled %q", c.Label)
		}
		seen[c.Label] = true
	}
	return nil
}

// Interleave runs trials of the cells in rounds, one trial of each per
// round in a freshly shuffled order, until budget (MinBudget to
// MaxBudget, measured by clock; nil is time.Now) is spent or each cell has
// run maxTrials (1 to MaxTrials), and returns each cell's samples: what
// Confirm takes for the defaults and the winner. It starts no round once
// the budget is spent, so every cell has run the same number of trials.
// When ctx is done or a trial fails with an error, it returns the samples
// of the complete rounds with the error.
func Interleave(ctx context.Context, cells []Cell, run RunFunc, budget time.Duration, maxTrials int, clock func() time.Time, seed int64) ([][]Sample, error) {
	switch {
	case len(cells) == 0 || len(cells) > MaxCells:
		return nil, fmt.Errorf("tune: %d cells to interleave, want 1 to %d", len(cells), MaxCells)
	case budget < MinBudget || budget > MaxBudget:
		return nil, fmt.Errorf("tune: a budget of %v, want %v to %v", budget, MinBudget, MaxBudget)
	case maxTrials < 1 || maxTrials > MaxTrials:
		return nil, fmt.Errorf("tune: a trial limit of %d, want 1 to %d", maxTrials, MaxTrials)
	case run == nil:
		return nil, errors.New("tune: no run function")
	}
	if clock == nil {
		clock = time.Now
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x696e_746c))
	out := make([][]Sample, len(cells))
	order := make([]int, len(cells))
	for i := range order {
		order[i] = i
	}
	start := clock()
	for round := 0; round < maxTrials && clock().Sub(start) < budget; round++ {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		got := make([]Sample, len(cells))
		for _, i := range order {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			s, err := run(ctx, cells[i])
			if err == nil {
				err = checkSample(s)
			}
			if err != nil {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				return out, fmt.Errorf("tune: cell %s: %w", cells[i].Label, err)
			}
			got[i] = s
		}
		for i, s := range got {
			out[i] = append(out[i], s)
		}
	}
	return out, nil
}
