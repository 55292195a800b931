package stress

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// Dims are the dimensions of a parameter sweep, each KEY=V1,V2: a knob of
// the scenario (or chaos) and its values. Dims implements flag.Value, so
// --sweep can be repeated; its values are checked against the scenario's
// knobs by Cells. Every combination of values is a cell, run as its own
// group; report.Sweep is the matrix view of the cells' results.
type Dims []report.Dim

// String prints the dimensions as "KEY=V1,V2 KEY2=...".
func (s *Dims) String() string {
	var parts []string
	for _, d := range *s {
		parts = append(parts, d.Key+"="+strings.Join(d.Values, ","))
	}
	return strings.Join(parts, " ")
}

// MaxSweepCells bounds the number of cells a sweep may make.
const MaxSweepCells = 1000

// Set adds the dimension KEY=V1,V2.
func (s *Dims) Set(arg string) error {
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
	*s = append(*s, report.Dim{Key: key, Values: values})
	return nil
}

// Cells returns the cartesian product of the dimensions over base, every
// value checked against sc's knobs, in the order the dimensions and values
// were given (the last dimension varies fastest).
func (s Dims) Cells(sc *scenarios.Scenario, base result.Knobs) ([]harness.Cell, error) {
	cells := []harness.Cell{{Knobs: base}}
	for _, d := range s {
		var next []harness.Cell
		for _, c := range cells {
			for _, v := range d.Values {
				k, err := sc.SetKnob(c.Knobs, d.Key, v)
				if err != nil {
					return nil, err
				}
				label := strings.TrimSpace(c.Label + " " + d.Key + "=" + v)
				next = append(next, harness.Cell{Label: label, Knobs: k})
			}
		}
		cells = next
	}
	return cells, nil
}

// MaxShards bounds a shard count.
const MaxShards = 10000

// ParseShard parses K/N with 1 <= K <= N; "" is the whole run.
func ParseShard(s string) (harness.Shard, error) {
	if s == "" {
		return harness.Shard{}, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n || n > MaxShards {
		return harness.Shard{}, fmt.Errorf("want K/N with 1 <= K <= N <= %d, got %q", MaxShards, s)
	}
	return harness.Shard{K: k, N: n}, nil
}

// emptyShard returns, for the header of a shard that holds no round of its
// run (more shards than rounds), the note that says so; "" otherwise.
// Shard K of N holds the rounds r < Rounds with r mod N = K-1: none when
// K-1 >= Rounds.
func emptyShard(h result.Header) string {
	if h.Shard.N <= 1 || h.Rounds < 0 || h.Shard.K-1 < h.Rounds {
		return ""
	}
	return fmt.Sprintf("shard %d/%d holds no rounds: the run has %d, fewer than its %d shards; this results file is a valid, empty part of the run (merge it with the other shards)",
		h.Shard.K, h.Shard.N, h.Rounds, h.Shard.N)
}
