package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/result"
	"github.com/racestress/racestress/scenarios"
)

// sweepFlag collects --sweep KEY=V1,V2 dimensions.
type sweepFlag []sweepDim

type sweepDim struct {
	key    string
	values []string
}

func (s *sweepFlag) String() string {
	var parts []string
	for _, d := range *s {
		parts = append(parts, d.key+"="+strings.Join(d.values, ","))
	}
	return strings.Join(parts, " ")
}

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

func (s *sweepFlag) Set(arg string) error {
	key, vals, ok := strings.Cut(arg, "=")
	if !ok || vals == "" {
		return fmt.Errorf("want KEY=V1,V2, got %q", arg)
	}
	set, known := sweepKeys[key]
	if !known {
		return fmt.Errorf("cannot sweep %q (can: gogc, procs, threads, sleep-scale, seconds, chaos)", key)
	}
	for _, d := range *s {
		if d.key == key {
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
	*s = append(*s, sweepDim{key: key, values: values})
	return nil
}

// cells returns the cartesian product of the sweep over base, in the order
// the dimensions and values were given (the last dimension varies fastest).
func (s sweepFlag) cells(base result.Knobs) []harness.Cell {
	cells := []harness.Cell{{Knobs: base}}
	for _, d := range s {
		var next []harness.Cell
		for _, c := range cells {
			for _, v := range d.values {
				k := c.Knobs
				_ = sweepKeys[d.key](&k, v) // validated by Set
				label := strings.TrimSpace(c.Label + " " + d.key + "=" + v)
				next = append(next, harness.Cell{Label: label, Knobs: k})
			}
		}
		cells = next
	}
	return cells
}

// parseShard parses K/N with 1 <= K <= N.
func parseShard(s string) (harness.Shard, error) {
	if s == "" {
		return harness.Shard{}, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return harness.Shard{}, fmt.Errorf("want K/N with 1 <= K <= N, got %q", s)
	}
	return harness.Shard{K: k, N: n}, nil
}
