package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// screen replays what a terminal of a given width shows: printable text,
// carriage return, newline (as the tty driver sends it, CR LF), "clear line"
// (ESC [2K) and automatic wrapping turned off and on (ESC [?7l, ESC [?7h),
// with xterm's wrapping: a character written in the last column leaves the
// cursor there, and the next one goes to the start of a new row. Any other
// escape sequence fails the replay.
type screen struct {
	width      int // 0: unbounded
	ignoreAWM  bool
	rows       [][]rune
	continued  []bool // the row is the soft-wrapped rest of the one above
	row, col   int
	pending    bool // a character went into the last column
	autowrap   bool
	softWraps  int
	unknownEsc []string
}

func newScreen(width int) *screen {
	return &screen{width: width, rows: [][]rune{nil}, continued: []bool{false}, autowrap: true}
}

// oldTerminal is a screen that does not know ESC [?7l: it always wraps.
func oldTerminal(width int) *screen {
	s := newScreen(width)
	s.ignoreAWM = true
	return s
}

func (s *screen) newRow(continued bool) {
	s.row++
	if s.row == len(s.rows) {
		s.rows = append(s.rows, nil)
		s.continued = append(s.continued, continued)
	}
	s.col, s.pending = 0, false
}

func (s *screen) write(text string) *screen {
	for len(text) > 0 {
		if strings.HasPrefix(text, "\x1b") {
			switch {
			case strings.HasPrefix(text, "\x1b[2K"):
				s.rows[s.row] = nil
			case strings.HasPrefix(text, "\x1b[?7l"):
				s.autowrap = s.ignoreAWM
			case strings.HasPrefix(text, "\x1b[?7h"):
				s.autowrap = true
			default:
				s.unknownEsc = append(s.unknownEsc, fmt.Sprintf("%q", text[:min(len(text), 6)]))
				text = text[1:]
				continue
			}
			text = text[strings.Index(text, "[")+1:]
			text = text[strings.IndexAny(text, "Klh")+1:]
			continue
		}
		r, size := utf8.DecodeRuneInString(text)
		text = text[size:]
		switch r {
		case '\r':
			s.col, s.pending = 0, false
		case '\n':
			s.newRow(false)
		default:
			if s.pending && s.autowrap {
				s.softWraps++
				s.newRow(true)
			}
			line := s.rows[s.row]
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = r
			s.rows[s.row] = line
			if s.width > 0 && s.col == s.width-1 {
				s.pending = true
			} else {
				s.col++
			}
		}
	}
	return s
}

// lines returns the logical lines on the screen: soft-wrapped rows joined to
// the row they continue, trailing blanks trimmed.
func (s *screen) lines() []string {
	var out []string
	for i, r := range s.rows {
		text := strings.TrimRight(string(r), " ")
		if s.continued[i] && len(out) > 0 {
			out[len(out)-1] += text
			continue
		}
		out = append(out, text)
	}
	return out
}

// rowsShown returns the rows as the terminal shows them, trailing blanks
// trimmed.
func (s *screen) rowsShown() []string {
	var out []string
	for _, r := range s.rows {
		out = append(out, strings.TrimRight(string(r), " "))
	}
	return out
}

func TestTerminalWidth(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "COLUMNS" {
				return v
			}
			return ""
		}
	}
	for v, want := range map[string]int{"120": 120, "40": 40, " 100\n": 100, "": 80, "wide": 80, "0": 80, "-3": 80, "80.5": 80} {
		assert.Equal(t, want, TerminalWidth(env(v)), "COLUMNS=%q", v)
	}
	t.Run("nil reads the environment", func(t *testing.T) {
		t.Setenv("COLUMNS", "57")
		assert.Equal(t, 57, TerminalWidth(nil))
	})
}

// sweepRecords returns the records of a sweep of many registries over four
// cells, in the order a run would finish them: 3 rounds of every registry in
// every cell, two scenarios. The clean registries fail now and then.
func sweepRecords() []result.Record {
	registries := []struct {
		name  string
		clean bool
	}{{"unfixed", false}, {"fixed", true}, {"racy", false}, {"locked", false}, {"retry", true}, {"weakcache-compare-and-delete", true}}
	cells := []string{"gogc=1 procs=1", "gogc=1 procs=2", "gogc=10 procs=1", "gogc=10 procs=2"}
	var rs []result.Record
	for round := range 3 {
		for _, sc := range []string{"bpo24484", "finalize-order"} {
			for ci, cell := range cells {
				for ri, reg := range registries {
					r := result.Record{Scenario: sc, Registry: reg.name, Cell: cell, Role: result.Control, Outcome: result.ChangedSize, Grade: result.Forbidden, Detected: true, Signature: true}
					if reg.clean {
						r = result.Record{Scenario: sc, Registry: reg.name, Cell: cell, Role: result.Clean, Outcome: result.OK, Grade: result.Acceptable}
						if (round+ci+ri)%5 == 0 {
							r.Outcome, r.Grade, r.Detected = result.Order, result.Forbidden, true
						}
					}
					rs = append(rs, r)
				}
			}
		}
	}
	return rs
}

func TestProgressFitsTheTerminal(t *testing.T) {
	records := sweepRecords()
	for _, width := range []int{80, 40} {
		t.Run(fmt.Sprintf("%d columns", width), func(t *testing.T) {
			clock := newFakeClock()
			var out bytes.Buffer
			// The worst case: a terminal that wraps whatever it is told.
			term := oldTerminal(width)
			p := NewProgress(&out, len(records), true, clock.now)
			p.SetWidth(width)
			forbidden, clean := 0, false
			for i, r := range records {
				clock.advance(1700 * time.Millisecond)
				clean = clean || r.Role == result.Clean
				if r.Role == result.Clean && r.Detected {
					forbidden++
				}
				p.Add(r)
				if i%5 == 0 {
					clock.advance(time.Second)
					p.Tick()
				}
				term.write(out.String())
				out.Reset()
				line := p.Line()
				require.LessOrEqual(t, utf8.RuneCountInString(line), width-1, "after %d trials: %q", i+1, line)
				require.Equal(t, []string{line}, term.rowsShown(), "after %d trials the screen shows the status line once, unwrapped", i+1)
				require.Contains(t, line, fmt.Sprintf("%d/%d", i+1, len(records)), "the trial count survives")
				if width == 80 && clean {
					// Wide enough for the counts by role.
					assert.Contains(t, line, fmt.Sprintf("forbidden %d/", forbidden), "after %d trials: %q", i+1, line)
				}
			}
			p.Done()
			term.write(out.String())
			assert.Zero(t, term.softWraps, "nothing ever wrapped")
			assert.Empty(t, term.unknownEsc)
			shown := term.rowsShown()
			require.Len(t, shown, 2, "the final line and the fresh row below it")
			assert.Equal(t, "", shown[1])
			assert.LessOrEqual(t, utf8.RuneCountInString(shown[0]), width-1)
		})
	}
	t.Run("a log line is never cut", func(t *testing.T) {
		var out bytes.Buffer
		p := NewProgress(&out, len(records), false, newFakeClock().now)
		p.SetWidth(40)
		for _, r := range records {
			p.Add(r)
		}
		p.Done()
		assert.Contains(t, out.String(), "bpo24484/weakcache-compare-and-delete forbidden ")
		assert.Contains(t, out.String(), "finalize-order/retry forbidden ")
	})
}

func TestProgressTakesColumnsFromTheEnvironment(t *testing.T) {
	t.Setenv("COLUMNS", "40")
	p := NewProgress(&bytes.Buffer{}, 100, true, newFakeClock().now)
	for _, r := range sweepRecords()[:30] {
		p.Add(r)
	}
	assert.LessOrEqual(t, utf8.RuneCountInString(p.Line()), 39, p.Line())
	t.Setenv("COLUMNS", "")
	p = NewProgress(&bytes.Buffer{}, 100, true, newFakeClock().now)
	for _, r := range sweepRecords()[:30] {
		p.Add(r)
	}
	assert.LessOrEqual(t, utf8.RuneCountInString(p.Line()), 79, "80 columns without COLUMNS: %q", p.Line())
	assert.Greater(t, utf8.RuneCountInString(p.Line()), 39, p.Line())
}

func TestProgressGivesUpTheLeastImportantFirst(t *testing.T) {
	clock := newFakeClock()
	p := NewProgress(&bytes.Buffer{}, 40, true, clock.now)
	clock.advance(12 * time.Second)
	p.Add(detectedRecord("unfixed"))
	p.Add(cleanRecord("fixed"))
	p.Add(cleanRecord("retry"))
	p.SetWidth(0)
	full := p.Line()
	require.Equal(t, "racestress: 3/40 trials | unfixed detected 1/1 | fixed forbidden 0/1 (rate < 97.5% at 95%)"+
		" | retry forbidden 0/1 (rate < 97.5% at 95%) | elapsed 12s | ETA 2m28s", full)

	// Each part, most important first: when a part is shown, so is every
	// more important one.
	parts := []string{"3/40", "0/2", "1/1", "trials", "ETA 2m28s", "unfixed", "racestress:", "elapsed", "(rate <"}
	kept := func(line, part string) bool {
		if part == "0/2" { // the clean registries' count, summed or one by one
			return strings.Contains(line, part) || strings.Contains(line, "fixed forbidden 0/1 ") && strings.Contains(line, "retry forbidden 0/1")
		}
		return strings.Contains(line, part)
	}
	seen := map[string]bool{}
	prev := full
	for width := len(full) + 1; width >= 2; width-- {
		p.SetWidth(width)
		line := p.Line()
		require.LessOrEqual(t, utf8.RuneCountInString(line), width-1, "%d columns", width)
		require.LessOrEqual(t, len(line), len(prev), "a narrower terminal never gets a longer line")
		prev = line
		if strings.HasSuffix(line, "...") || len(line) < len("3/40 | det 1/1 | fail 0/2") {
			continue // cut, as a last resort
		}
		seen[line] = true
		for i, part := range parts {
			if !kept(line, part) {
				continue
			}
			for _, more := range parts[:i] {
				assert.True(t, kept(line, more), "%d columns: %q keeps %q but not the more important %q", width, line, part, more)
			}
		}
	}
	want := []string{
		full,
		"racestress: 3/40 trials | unfixed detected 1/1 | fixed forbidden 0/1 | retry forbidden 0/1 | elapsed 12s | ETA 2m28s",
		"racestress: 3/40 trials | unfixed detected 1/1 | fixed forbidden 0/1 | retry forbidden 0/1 | ETA 2m28s",
		"3/40 trials | unfixed detected 1/1 | fixed forbidden 0/1 | retry forbidden 0/1 | ETA 2m28s",
		"3/40 trials | controls detected 1/1 | clean forbidden 0/2 | ETA 2m28s",
		"3/40 trials | detected 1/1 | forbidden 0/2 | ETA 2m28s",
		"3/40 trials | detected 1/1 | forbidden 0/2",
		"3/40 | detected 1/1 | forbidden 0/2",
		"3/40 | det 1/1 | fail 0/2",
	}
	for _, w := range want {
		assert.True(t, seen[w], "some width shows %q", w)
	}
	assert.Len(t, seen, len(want), "and nothing else uncut")
	p.SetWidth(20)
	assert.Equal(t, "3/40 | det 1/1 |...", p.Line(), "cut, as a last resort")
	p.SetWidth(3)
	assert.Equal(t, "3/", p.Line())
}

func TestProgressClearsTheLineWhenItShrinks(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	term := oldTerminal(80)
	p := NewProgress(&out, 3, true, clock.now)
	p.SetWidth(80)
	clock.advance(3 * time.Second)
	p.Add(cleanRecord("weakcache-compare-and-delete"))
	term.write(out.String())
	long := term.rowsShown()
	require.Len(t, long, 1)
	out.Reset()

	t.Run("a shorter line leaves nothing of the longer one", func(t *testing.T) {
		p.SetWidth(40)
		p.Tick()
		term.write(out.String())
		out.Reset()
		assert.Equal(t, []string{p.Line()}, term.rowsShown())
		assert.Less(t, len(p.Line()), len(long[0]))
	})
	t.Run("a terminal narrower than it said clips the line instead of wrapping", func(t *testing.T) {
		narrow := newScreen(30)
		q := NewProgress(&out, 3, true, clock.now)
		q.SetWidth(80) // COLUMNS is stale: the window was made narrower
		for range 2 {
			q.Add(cleanRecord("weakcache-compare-and-delete"))
			narrow.write(out.String())
			out.Reset()
		}
		assert.Zero(t, narrow.softWraps)
		require.Len(t, narrow.rowsShown(), 1)
		assert.Len(t, narrow.rowsShown()[0], 30)
		assert.True(t, strings.HasPrefix(q.Line(), narrow.rowsShown()[0][:29]))
	})
}

func TestProgressAboveAtNarrowWidths(t *testing.T) {
	for _, width := range []int{80, 40} {
		t.Run(fmt.Sprintf("%d columns", width), func(t *testing.T) {
			clock := newFakeClock()
			var out bytes.Buffer
			term := oldTerminal(width)
			p := NewProgress(&out, 96, true, clock.now)
			p.SetWidth(width)
			failure := "bpo24484/fixed [gogc=1 procs=2]: order after 250ms: got [a b d01] want [a b d10]"
			var above []string
			for i, r := range sweepRecords()[:24] {
				clock.advance(time.Second)
				p.Add(r)
				if r.Role == result.Clean && r.Detected {
					text := fmt.Sprintf("%s (trial %d)\n    | log head", failure, i)
					p.Above(text)
					above = append(above, strings.Split(text, "\n")...)
				}
				term.write(out.String())
				out.Reset()
			}
			require.NotEmpty(t, above)
			shown := term.lines()
			assert.Equal(t, append(above, p.Line()), shown, "the failures whole, in order, the status line once below them")
			assert.Greater(t, term.softWraps, 0, "the long failure lines wrap as printed text does")
			rows := term.rowsShown()
			assert.Equal(t, p.Line(), rows[len(rows)-1], "the status line on its own row")
		})
	}
}

func TestProgressCountsHarnessErrorsApart(t *testing.T) {
	clock := newFakeClock()
	p := NewProgress(&bytes.Buffer{}, 40, true, clock.now)
	p.SetWidth(0)
	p.Add(detectedRecord("unfixed"))
	p.Add(result.Record{Scenario: "bpo24484", Registry: "unfixed", Role: result.Control, Outcome: result.Order, Grade: result.Forbidden, Detected: true})
	p.Add(cleanRecord("fixed"))
	p.Add(result.Record{Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, Outcome: result.Error, Grade: result.Forbidden, Detected: true})
	assert.Equal(t, "racestress: 4/40 trials | harness errors 1 | unfixed detected 1/2 | fixed forbidden 0/1 (rate < 97.5% at 95%) | elapsed 0s | ETA 0s", p.Line(),
		"a control's other forbidden outcome is no detection; an error is neither a trial of its registry nor a failure")
	for width, want := range map[int]string{
		80: "4/40 trials | harness errors 1 | detected 1/2 | forbidden 0/1 | ETA 0s",
		40: "4/40 | err 1 | det 1/2 | fail 0/1",
	} {
		p.SetWidth(width)
		line := p.Line()
		assert.LessOrEqual(t, len(line), width-1)
		assert.Equal(t, want, line, "%d columns", width)
	}
}
