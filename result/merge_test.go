package result_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func shardPart(path string, k int, edit func(*result.Header), trials ...int) result.Part {
	h := testHeader("shards-1")
	h.Shard = result.HeaderShard{K: k, N: 2}
	h.Version, h.Go, h.GOOS, h.GOARCH, h.CPUs = "v1", "go1.26", "linux", "amd64", 2
	if edit != nil {
		edit(&h)
	}
	var recs []result.Record
	for _, n := range trials {
		recs = append(recs, rec("shards-1", n))
	}
	return result.Part{Path: path, Results: result.Results{Header: &h, Records: recs}}
}

func TestMergeRefusesShardsOfDifferentBuilds(t *testing.T) {
	for name, edit := range map[string]func(*result.Header){
		"racestress versions": func(h *result.Header) { h.Version = "v2" },
		"Go versions":         func(h *result.Header) { h.Go = "go1.27" },
		"seeds":               func(h *result.Header) { h.Seed = 5 },
		"knobs":               func(h *result.Header) { h.Knobs.GOGC = 50 },
	} {
		_, err := result.Merge([]result.Part{shardPart("a", 1, nil, 0), shardPart("b", 2, edit, 1)})
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "not shards of one run: their "+name, name)
	}
}

func TestMergeWarnsOfShardsFromDifferentMachines(t *testing.T) {
	m, err := result.Merge([]result.Part{shardPart("a", 1, nil, 0), shardPart("b", 2, func(h *result.Header) { h.CPUs = 8 }, 1)})
	require.NoError(t, err)
	assert.Len(t, m.Records, 2)
	assert.Empty(t, m.Missing)
	require.Len(t, m.Warnings, 1)
	assert.True(t, strings.Contains(m.Warnings[0], "linux/amd64 with 2 CPUs and linux/amd64 with 8 CPUs"), m.Warnings[0])
}

func TestMergeOfAnEmptyShard(t *testing.T) {
	m, err := result.Merge([]result.Part{shardPart("a", 1, nil, 0, 2), shardPart("b", 2, nil)})
	require.NoError(t, err)
	assert.Len(t, m.Records, 2)
	assert.Empty(t, m.Missing, "an empty shard is a part like any other")
	assert.Equal(t, result.HeaderShard{K: 1, N: 1}, m.Header.Shard)
}
