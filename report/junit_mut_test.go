package report

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
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
		s := summary(policy{}, parts(order[0], order[1])...)
		require.Len(t, s.Warnings, 2)
		got := suiteWarnings(t, s)
		assert.Regexp(t, `^bpo24484/old trial [13]: warning of old$`, got["bpo24484/old"], "order %v", order)
		assert.Regexp(t, `^bpo24484/old:v2 trial [13]: warning of old:v2$`, got["bpo24484/old:v2"], "order %v", order)
	}
	t.Run("a warning naming no group goes to the first suite", func(t *testing.T) {
		s := summary(policy{}, trials("a", result.Clean, 1, 0, 0), trials("b", result.Clean, 1, 0, 0))
		s.Warnings = []string{"shard 2 of 3 missing"}
		got := suiteWarnings(t, s)
		assert.Equal(t, "shard 2 of 3 missing", got["bpo24484/a"])
		assert.Empty(t, got["bpo24484/b"])
	})
}

func TestXMLTextKeepsExactlyWhatXML10Carries(t *testing.T) {
	// The bounds of XML 1.0's Char production: #x9 | #xA | #xD |
	// [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
	for _, r := range []rune{'\t', '\n', '\r', 0x20, 0xD7FF, 0xE000, 0xFFFD, 0x10000, 0x1F600, 0x10FFFF} {
		assert.Equal(t, string(r), xmlText(string(r)), "%U is a character of XML 1.0", r)
	}
	for _, r := range []rune{0, 0x8, 0xB, 0x1F, 0xFFFE, 0xFFFF} {
		assert.Equal(t, "\uFFFD", xmlText(string(r)), "%U is not", r)
	}
	// And in a report: the error text of a failed trial.
	rs := trials("new", result.Clean, 1, 1, 0)
	rs[0].FirstError = "fail: \U0001F600 \uE000 \x01"
	var doc struct {
		Suites []struct {
			Testcases []struct {
				Failure struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(render(t, "junit", summary(policy{}, rs)), &doc))
	assert.Equal(t, "fail: \U0001F600 \uE000 \uFFFD", doc.Suites[0].Testcases[0].Failure.Message)
}

func TestJUnitFailureWithoutAnErrorText(t *testing.T) {
	// A clean trial that failed with no error text: the failure's message
	// names its outcome.
	rs := trials("new", result.Clean, 1, 0, 0)
	fail(&rs[0], "")
	var doc struct {
		Suites []struct {
			Testcases []struct {
				Failure struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(render(t, "junit", summary(policy{}, rs)), &doc))
	f := doc.Suites[0].Testcases[0].Failure
	assert.Equal(t, "forbidden outcome fail", f.Message)
	assert.Equal(t, "fail", f.Type)
}
