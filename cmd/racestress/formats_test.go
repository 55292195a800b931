package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/report"
)

// TestEveryFormatParses runs every command that renders results in every
// format and parses what it wrote on stdout: JSON and JUnit completely,
// with nothing else beside them; HTML as a well-formed document; Markdown
// and the table by their table structure. The verdict each document holds
// is the one line on stderr, and no human line leaks onto stdout.
func TestEveryFormatParses(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--scenario", "finalize-order", "--isolate", "none", "--quiet", "--runs", "2", "--seed", "3"}
	file := func(name string, extra ...string) string {
		path := filepath.Join(dir, name)
		code, _, stderr := runCLI(t, context.Background(), append(append(slices.Clone(base), "--out", path), extra...)...)
		require.Equal(t, 0, code, stderr)
		return path
	}
	whole, s1, s2 := file("whole.jsonl"), file("s1.jsonl", "--shard", "1/2"), file("s2.jsonl", "--shard", "2/2")
	n := 0
	out := func() string { n++; return filepath.Join(dir, fmt.Sprintf("out-%d.jsonl", n)) }
	commands := []struct {
		name string
		code int
		args func(format string) []string
	}{
		{"run", 0, func(f string) []string { return append(slices.Clone(base), "--format", f, "--out", out()) }},
		{"run with a sweep", 0, func(f string) []string {
			return append(slices.Clone(base), "--format", f, "--out", out(), "--sweep", "gogc=1,10", "procs=1,2")
		}},
		{"gate", 3, func(f string) []string {
			return append(append([]string{"gate"}, base...), "--control", "unfixed", "--format", f, "--out", out())
		}},
		{"report", 0, func(f string) []string { return []string{"report", whole, "--format", f} }},
		{"merge", 0, func(f string) []string { return []string{"merge", s1, s2, "--format", f} }},
		{"merge of an incomplete run", 4, func(f string) []string { return []string{"merge", "--format", f, s1} }},
	}
	parsers := map[string]func(t *testing.T, doc string) (verdict string, exit int){
		"json":      parseJSON,
		"junit":     parseJUnit,
		"html":      parseHTML,
		"markdown":  parseMarkdown,
		"table":     parseTable,
		"github":    parseGitHub,
		"test2json": parseTest2JSON,
	}
	for _, f := range report.Formats {
		require.Contains(t, parsers, f, "a parser for every format")
	}
	for _, c := range commands {
		for _, f := range report.Formats {
			t.Run(c.name+" --format "+f, func(t *testing.T) {
				code, stdout, stderr := runCLI(t, context.Background(), c.args(f)...)
				require.Equal(t, c.code, code, stderr)
				for _, line := range strings.Split(stdout, "\n") {
					assert.False(t, strings.HasPrefix(line, "racestress: "), "a human line on stdout: %q", line)
				}
				verdict, exit := parsers[f](t, stdout)
				assert.Equal(t, lastLine(stderr), "racestress: "+verdict, "the document's verdict is the line on stderr")
				if exit >= 0 {
					assert.Equal(t, code, exit, "the document's exit status is the command's")
				}
			})
		}
	}
}

func parseJSON(t *testing.T, doc string) (string, int) {
	t.Helper()
	var v struct {
		Schema  int              `json:"schema"`
		Groups  []map[string]any `json:"groups"`
		Verdict struct {
			Status   string `json:"status"`
			ExitCode int    `json:"exit_code"`
			Line     string `json:"line"`
		} `json:"verdict"`
	}
	// Unmarshal refuses anything after the value but white space.
	require.NoError(t, json.Unmarshal([]byte(doc), &v), doc)
	assert.Positive(t, v.Schema)
	assert.NotEmpty(t, v.Groups)
	return v.Verdict.Line, v.Verdict.ExitCode
}

func parseJUnit(t *testing.T, doc string) (string, int) {
	t.Helper()
	type result struct {
		Message string `xml:"message,attr"`
	}
	var v struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Name       string `xml:"name,attr"`
			Tests      int    `xml:"tests,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name      string  `xml:"name,attr"`
				SystemOut string  `xml:"system-out"`
				Failure   *result `xml:"failure"`
				Error     *result `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	dec := xml.NewDecoder(strings.NewReader(doc))
	require.NoError(t, dec.Decode(&v), doc)
	// Nothing may follow the root element but white space.
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		cd, ok := tok.(xml.CharData)
		require.True(t, ok && strings.TrimSpace(string(cd)) == "", "after the document: %#v", tok)
	}
	require.NotEmpty(t, v.Suites)
	last := v.Suites[len(v.Suites)-1]
	require.Equal(t, "racestress verdict", last.Name)
	require.Len(t, last.Cases, 1)
	exit := -1
	for _, p := range last.Properties {
		if p.Name == "exit_code" {
			exit, _ = strconv.Atoi(p.Value)
		}
	}
	vc := last.Cases[0]
	switch {
	case vc.Failure != nil:
		return vc.Failure.Message, exit
	case vc.Error != nil:
		return vc.Error.Message, exit
	}
	return vc.SystemOut, exit
}

var verdictHTML = regexp.MustCompile(`<p class="verdict"><strong>(.*?)</strong></p>`)

func parseHTML(t *testing.T, doc string) (string, int) {
	t.Helper()
	require.NoError(t, checkHTML(doc))
	m := verdictHTML.FindStringSubmatch(doc)
	require.NotNil(t, m, "the page states its verdict")
	return html.UnescapeString(m[1]), -1
}

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// checkHTML checks that doc is one well-formed HTML document: a doctype,
// then a single html element in which every element but the void ones is
// closed, in order; raw-text elements (style, script) are skipped whole,
// and a "/>" closes an element of embedded SVG.
func checkHTML(doc string) error {
	if !strings.HasPrefix(doc, "<!DOCTYPE html>") {
		return errors.New("no <!DOCTYPE html> first")
	}
	var stack []string
	roots := 0
	i := 0
	for {
		j := strings.IndexByte(doc[i:], '<')
		if j < 0 {
			if strings.TrimSpace(doc[i:]) != "" {
				return fmt.Errorf("text after the last tag: %q", doc[i:])
			}
			break
		}
		if len(stack) == 0 && roots > 0 && strings.TrimSpace(doc[i:i+j]) != "" {
			return fmt.Errorf("text after </html>: %q", doc[i:i+j])
		}
		i += j
		rest := doc[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest, "-->")
			if end < 0 {
				return errors.New("an unclosed comment")
			}
			i += end + 3
		case strings.HasPrefix(rest, "<!"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return errors.New("an unclosed declaration")
			}
			i += end + 1
		case strings.HasPrefix(rest, "</"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return errors.New("an unclosed end tag")
			}
			name := strings.ToLower(strings.TrimSpace(rest[2:end]))
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return fmt.Errorf("</%s> closes %v at offset %d", name, stack, i)
			}
			stack = stack[:len(stack)-1]
			i += end + 1
		case len(rest) > 1 && (rest[1] >= 'a' && rest[1] <= 'z' || rest[1] >= 'A' && rest[1] <= 'Z'):
			k := 1
			for k < len(rest) && (isNameByte(rest[k])) {
				k++
			}
			name := strings.ToLower(rest[1:k])
			// Attributes, with quoted values that may hold '>'.
			var quote byte
			for ; k < len(rest); k++ {
				c := rest[k]
				if quote != 0 {
					if c == quote {
						quote = 0
					}
					continue
				}
				if c == '"' || c == '\'' {
					quote = c
				} else if c == '>' {
					break
				}
			}
			if k == len(rest) {
				return fmt.Errorf("<%s is never closed", name)
			}
			selfClosed := rest[k-1] == '/'
			i += k + 1
			if len(stack) == 0 {
				if name != "html" || roots > 0 {
					return fmt.Errorf("<%s> outside the html element", name)
				}
				roots++
			}
			switch {
			case voidElements[name] || selfClosed:
			case name == "style" || name == "script":
				end := strings.Index(strings.ToLower(doc[i:]), "</"+name)
				if end < 0 {
					return fmt.Errorf("<%s> never ends", name)
				}
				i += end
				stack = append(stack, name)
			default:
				stack = append(stack, name)
			}
		default:
			i++ // a '<' in text
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed elements %v", stack)
	}
	if roots != 1 {
		return errors.New("no html element")
	}
	return nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == ':'
}

var (
	mdSeparator = regexp.MustCompile(`^\|(\s*:?-+:?\s*\|)+$`)
	mdEscaped   = regexp.MustCompile(`\\(.)`)
)

func parseMarkdown(t *testing.T, doc string) (string, int) {
	t.Helper()
	tables := 0
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); {
		if !strings.HasPrefix(lines[i], "|") {
			i++
			continue
		}
		start := i
		for i < len(lines) && strings.HasPrefix(lines[i], "|") {
			i++
		}
		block := lines[start:i]
		require.GreaterOrEqual(t, len(block), 3, "a table has a header, a separator and rows: %q", block)
		require.Regexp(t, mdSeparator, block[1])
		cols := pipes(block[0])
		for _, row := range block {
			assert.True(t, strings.HasSuffix(row, "|"), row)
			assert.Equal(t, cols, pipes(row), "every row has the header's columns: %q", row)
		}
		tables++
	}
	assert.Positive(t, tables)
	var verdict string
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "**verdict**: "); ok {
			verdict = strings.ReplaceAll(mdEscaped.ReplaceAllString(v, "$1"), "&lt;", "<")
		}
	}
	require.NotEmpty(t, verdict, "the document states its verdict")
	return verdict, -1
}

// pipes counts a Markdown row's unescaped column separators.
func pipes(row string) int {
	return strings.Count(row, "|") - strings.Count(row, `\|`)
}

var tableBorder = regexp.MustCompile(`^\+(-+\+)+$`)

func parseTable(t *testing.T, doc string) (string, int) {
	t.Helper()
	tables := 0
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); {
		if !strings.HasPrefix(lines[i], "+") {
			i++
			continue
		}
		start := i
		for i < len(lines) && (strings.HasPrefix(lines[i], "+") || strings.HasPrefix(lines[i], "|")) {
			i++
		}
		block := lines[start:i]
		require.GreaterOrEqual(t, len(block), 3, "%q", block)
		border := []rune(block[0])
		require.Regexp(t, tableBorder, block[0])
		require.Regexp(t, tableBorder, block[len(block)-1], "a table ends with its border")
		for _, line := range block {
			row := []rune(line)
			require.Len(t, row, len(border), "every line as wide as the border: %q", line)
			for k, c := range border {
				if c == '+' {
					assert.Contains(t, "+|", string(row[k]), "the columns line up: %q", line)
				}
			}
		}
		tables++
	}
	assert.Positive(t, tables)
	var verdict string
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "verdict: "); ok {
			verdict = v
		}
	}
	require.NotEmpty(t, verdict, "the table states its verdict")
	return verdict, -1
}

func TestCheckHTMLRefusesBrokenPages(t *testing.T) {
	good := "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>a > b { }</style></head><body><p title=\"x>y\">a</p><svg><path d=\"M0\" /></svg></body></html>\n"
	require.NoError(t, checkHTML(good))
	for _, bad := range []string{
		"<html><body></body></html>",
		"<!DOCTYPE html><html><body><div></body></html>",
		"<!DOCTYPE html><html><body></body></html>\nracestress: PASS",
		"<!DOCTYPE html><html><body></body>",
		"<!DOCTYPE html><html></html><html></html>",
		"<!DOCTYPE html><html><style>",
	} {
		assert.Error(t, checkHTML(bad), bad)
	}
}

var ghAnnotation = regexp.MustCompile(`^::error title=[^:,\r\n]*::[^\r\n]*$`)

// parseGitHub reads the github format: a Markdown job summary headed by
// the verdict's status, then at most report.MaxAnnotations well-formed
// ::error lines, and nothing after them; a run that passed has none.
func parseGitHub(t *testing.T, doc string) (string, int) {
	t.Helper()
	require.True(t, strings.HasPrefix(doc, "### racestress: "), doc)
	var md []string
	annotations := 0
	for _, l := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(l, "::"):
			require.Regexp(t, ghAnnotation, l)
			annotations++
		case annotations > 0:
			require.Empty(t, l, "nothing follows the annotations")
		default:
			md = append(md, l)
		}
	}
	assert.LessOrEqual(t, annotations, report.MaxAnnotations)
	assert.Equal(t, strings.HasPrefix(doc, "### racestress: PASS"), annotations == 0, "annotations exactly when the run did not pass")
	return parseMarkdown(t, strings.Join(md, "\n"))
}

// parseTest2JSON reads a go test -json stream: every line an event, the
// verdict in the package's output, and the package's last action its
// outcome.
func parseTest2JSON(t *testing.T, doc string) (string, int) {
	t.Helper()
	verdict, last := "", ""
	for _, line := range strings.Split(strings.TrimSuffix(doc, "\n"), "\n") {
		var ev struct{ Action, Package, Test, Output string }
		require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
		require.NotEmpty(t, ev.Action, line)
		if ev.Test == "" && ev.Action == "output" && strings.HasPrefix(ev.Output, "verdict: ") {
			verdict = strings.TrimSuffix(strings.TrimPrefix(ev.Output, "verdict: "), "\n")
		}
		if ev.Test == "" && (ev.Action == "pass" || ev.Action == "fail") {
			last = ev.Action
		}
	}
	if last == "pass" {
		return verdict, 0
	}
	assert.Equal(t, "fail", last, "the stream ends with its package's outcome")
	return verdict, -1
}
