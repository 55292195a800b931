package main

import (
	"fmt"

	"github.com/racestress/racestress/result"
)

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
