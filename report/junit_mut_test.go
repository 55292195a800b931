package report

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness/result"
)

// suiteWarnings returns the system-err of each JUnit suite by name.
func suiteWarnings(t *testing.T, s Summary) map[string]string {
	t.Helper()
	var doc struct {
		Suites []struct {
			Name      string `xml:"name,attr"`
			SystemErr string `xml:"system-err"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(render(t, "junit", s), &doc))
	out := map[string]string{}
	for _, st := range doc.Suites {
		out[st.Name] = st.SystemErr
	}
	return out
}

func TestJUnitPutsAWarningInTheSuiteItNames(t *testing.T) {
	// One registry's name starts with the other's and a colon: each
	// warning goes to the suite it names, whichever comes first.
	parts := func(first, second string) [][]result.Record {
		a, b := trials(first, result.Clean, 2, 0, 0), trials(second, result.Clean, 2, 0, 0)
		a[1].Warnings = []string{"warning of " + first}
		b[1].Warnings = []string{"warning of " + second}
		return [][]result.Record{a, b}
	}
	for _, order := range [][2]string{{"old", "old:v2"}, {"old:v2", "old"}} {
		s := summary(Policy{}, parts(order[0], order[1])...)
		require.Len(t, s.Warnings, 2)
		got := suiteWarnings(t, s)
		assert.Regexp(t, `^bpo24484/old trial [13]: warning of old$`, got["bpo24484/old"], "order %v", order)
		assert.Regexp(t, `^bpo24484/old:v2 trial [13]: warning of old:v2$`, got["bpo24484/old:v2"], "order %v", order)
	}
	t.Run("a warning naming no group goes to the first suite", func(t *testing.T) {
		s := summary(Policy{}, trials("a", result.Clean, 1, 0, 0), trials("b", result.Clean, 1, 0, 0))
		s.Warnings = []string{"shard 2 of 3 missing"}
		got := suiteWarnings(t, s)
		assert.Equal(t, "shard 2 of 3 missing", got["bpo24484/a"])
		assert.Empty(t, got["bpo24484/b"])
	})
}
