package report

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestJSONMutationsKeepEveryKindSeen(t *testing.T) {
	rs := trials("unfixed", result.Control, 2, 0, 0)
	rs[0].Mutations = map[string]int{"moved": 2, "resized": 0}
	rs[1].Mutations = map[string]int{"moved": 1, "removed": 3}
	doc := NewJSONReport(summary(policy{}, rs))
	require.Len(t, doc.Groups, 1)
	// removed and inserted always, any other kind when it happened.
	assert.Equal(t, map[string]int{"removed": 3, "inserted": 0, "moved": 3}, doc.Groups[0].Mutations)
}

func TestJSONMatrixSkipsOnlyTheMissingCells(t *testing.T) {
	// unfixed ran only at gogc=1, fixed at both: the matrix has fixed's
	// cell at gogc=10 though unfixed comes first there.
	var parts [][]result.Record
	for _, p := range []struct{ registry, cell string }{{"unfixed", "gogc=1"}, {"fixed", "gogc=1"}, {"fixed", "gogc=10"}} {
		rs := trials(p.registry, roleOf(p.registry), 2, 1, 0)
		for i := range rs {
			rs[i].Cell = p.cell
		}
		parts = append(parts, rs)
	}
	var doc struct {
		Matrix []struct {
			Cells []struct {
				Cell     string `json:"cell"`
				Registry string `json:"registry"`
			} `json:"cells"`
		} `json:"matrix"`
	}
	require.NoError(t, json.Unmarshal(render(t, "json", summary(policy{}, parts...)), &doc))
	require.Len(t, doc.Matrix, 1)
	var got [][2]string
	for _, c := range doc.Matrix[0].Cells {
		got = append(got, [2]string{c.Cell, c.Registry})
	}
	assert.Equal(t, [][2]string{{"gogc=1", "unfixed"}, {"gogc=1", "fixed"}, {"gogc=10", "fixed"}}, got)
}
