package harness

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/racestress/racestress/harness/result"
	"github.com/racestress/racestress/scenarios"
)

// Sweep is a parameter sweep: dimensions KEY=V1,V2, each a knob and its
// values. It implements flag.Value, so --sweep can be repeated.
type Sweep []SweepDim

// SweepDim is one dimension of a Sweep.
type SweepDim struct {
	Key    string
	Values []string
}

// String prints the sweep as "KEY=V1,V2 KEY2=...".
func (s *Sweep) String() string {
	var parts []string
	for _, d := range *s {
		parts = append(parts, d.Key+"="+strings.Join(d.Values, ","))
	}
	return strings.Join(parts, " ")
}

// SweepKeys names the knobs a sweep can vary.
func SweepKeys() []string {
	return []string{"gogc", "procs", "threads", "sleep-scale", "seconds", "chaos"}
}

// MaxShards bounds a shard count.
const MaxShards = 10000

// sweepKeys are the knobs a sweep can vary, and how each sets its value.
var sweepKeys = map[string]func(k *result.Knobs, v string) error{
	"gogc": func(k *result.Knobs, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("gogc wants an integer of at least 1, got %q", v)
		}
		k.GOGC = n
		return nil
	},
	"procs": func(k *result.Knobs, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("procs wants an integer of at least 1, got %q", v)
		}
		k.Procs = n
		return nil
	},
	"threads": func(k *result.Knobs, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			return fmt.Errorf("threads wants an integer of at least 2, got %q", v)
		}
		k.Threads = n
		k.Makers, k.Runners = scenarios.SplitThreads(n)
		return nil
	},
	"sleep-scale": func(k *result.Knobs, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0) {
			return fmt.Errorf("sleep-scale wants a number of at least 0, got %q", v)
		}
		k.SleepScale = f
		return nil
	},
	"chaos": func(k *result.Knobs, v string) error {
		if _, err := scenarios.ResolveChaos(v, 1); err != nil {
			return err
		}
		k.Chaos = v
		return nil
	},
	"seconds": func(k *result.Knobs, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) {
			return fmt.Errorf("seconds wants a positive number, got %q", v)
		}
		k.Seconds = f
		return nil
	},
}

// Set adds the dimension KEY=V1,V2, validating every value.
func (s *Sweep) Set(arg string) error {
	key, vals, ok := strings.Cut(arg, "=")
	if !ok || vals == "" {
		return fmt.Errorf("want KEY=V1,V2, got %q", arg)
	}
	set, known := sweepKeys[key]
	if !known {
		return fmt.Errorf("cannot sweep %q (can: gogc, procs, threads, sleep-scale, seconds, chaos)", key)
	}
	for _, d := range *s {
		if d.Key == key {
			return fmt.Errorf("%s swept twice", key)
		}
	}
	var k result.Knobs
	values := strings.Split(vals, ",")
	for _, v := range values {
		if err := set(&k, v); err != nil {
			return err
		}
	}
	*s = append(*s, SweepDim{Key: key, Values: values})
	return nil
}

// Cells returns the cartesian product of the sweep over base, in the order
// the dimensions and values were given (the last dimension varies fastest).
func (s Sweep) Cells(base result.Knobs) []Cell {
	cells := []Cell{{Knobs: base}}
	for _, d := range s {
		var next []Cell
		for _, c := range cells {
			for _, v := range d.Values {
				k := c.Knobs
				_ = sweepKeys[d.Key](&k, v) // validated by Set
				label := strings.TrimSpace(c.Label + " " + d.Key + "=" + v)
				next = append(next, Cell{Label: label, Knobs: k})
			}
		}
		cells = next
	}
	return cells
}

// ParseShard parses K/N with 1 <= K <= N; "" is the whole run.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n || n > MaxShards {
		return Shard{}, fmt.Errorf("want K/N with 1 <= K <= N <= %d, got %q", MaxShards, s)
	}
	return Shard{K: k, N: n}, nil
}
