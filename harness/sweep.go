package harness

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// Sweep is a parameter sweep: dimensions KEY=V1,V2, each a knob of the
// scenario and its values. It implements flag.Value, so --sweep can be
// repeated; its values are checked against the scenario's knobs by Cells.
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

// MaxSweepCells bounds the number of cells a sweep may make.
const MaxSweepCells = 1000

// Set adds the dimension KEY=V1,V2.
func (s *Sweep) Set(arg string) error {
	key, vals, ok := strings.Cut(arg, "=")
	if !ok || key == "" || vals == "" {
		return fmt.Errorf("want KEY=V1,V2, got %q", arg)
	}
	for _, d := range *s {
		if d.Key == key {
			return fmt.Errorf("%s swept twice", key)
		}
	}
	values := strings.Split(vals, ",")
	seen := map[string]bool{}
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%s: an empty value in %q", key, vals)
		}
		if seen[v] {
			return fmt.Errorf("%s: value %s given twice", key, v)
		}
		seen[v] = true
	}
	n := len(values)
	for _, d := range *s {
		n *= len(d.Values)
	}
	if n > MaxSweepCells {
		return fmt.Errorf("the sweep would make %d cells, more than %d", n, MaxSweepCells)
	}
	*s = append(*s, SweepDim{Key: key, Values: values})
	return nil
}

// Cells returns the cartesian product of the sweep over base, every value
// checked against sc's knobs, in the order the dimensions and values were
// given (the last dimension varies fastest).
func (s Sweep) Cells(sc *scenarios.Scenario, base result.Knobs) ([]Cell, error) {
	cells := []Cell{{Knobs: base}}
	for _, d := range s {
		var next []Cell
		for _, c := range cells {
			for _, v := range d.Values {
				k, err := sc.SetKnob(c.Knobs, d.Key, v)
				if err != nil {
					return nil, err
				}
				label := strings.TrimSpace(c.Label + " " + d.Key + "=" + v)
				next = append(next, Cell{Label: label, Knobs: k})
			}
		}
		cells = next
	}
	return cells, nil
}

// MaxShards bounds a shard count.
const MaxShards = 10000

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
