package report

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 6, 24, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func detectedRecord(registry string) result.Record {
	return result.Record{Scenario: "bpo24484", Registry: registry, Role: result.Control, Outcome: result.ChangedSize, Grade: result.Forbidden, Detected: true, Signature: true}
}

func cleanRecord(registry string) result.Record {
	return result.Record{Scenario: "bpo24484", Registry: registry, Role: result.Clean, Outcome: result.OK, Grade: result.Acceptable}
}

func TestProgressOnATerminal(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	p := NewProgress(&out, 4, true, clock.now)
	p.SetWidth(1000) // wide enough for everything

	t.Run("a finished trial redraws the line in place at once", func(t *testing.T) {
		clock.advance(2 * time.Second)
		p.Add(detectedRecord("unfixed"))
		assert.Equal(t, "\r\x1b[2K\x1b[?7lracestress: 1/4 trials | unfixed detected 1/1 | elapsed 2s | ETA 6s\x1b[?7h", out.String())
	})
	t.Run("a clean registry shows its forbidden outcomes with their interval", func(t *testing.T) {
		out.Reset()
		clock.advance(2 * time.Second)
		p.Add(cleanRecord("fixed"))
		assert.Equal(t, "\r\x1b[2K\x1b[?7lracestress: 2/4 trials | unfixed detected 1/1 | fixed forbidden 0/1 (rate < 97.5% at 95%) | elapsed 4s | ETA 4s\x1b[?7h", out.String())
	})
	t.Run("a tick moves the elapsed time between trials", func(t *testing.T) {
		out.Reset()
		clock.advance(time.Second)
		p.Tick()
		assert.Contains(t, out.String(), "elapsed 5s")
		assert.True(t, strings.HasPrefix(out.String(), "\r\x1b[2K"))
		assert.NotContains(t, out.String(), "\n")
	})
	t.Run("a failure on a clean registry shows its interval", func(t *testing.T) {
		out.Reset()
		p.Add(result.Record{Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, Outcome: result.Order, Grade: result.Forbidden, Detected: true})
		assert.Contains(t, out.String(), "fixed forbidden 1/2 (95% CI [1.25%, 98.8%])")
	})
	t.Run("done leaves the final line, ended by a newline, without an ETA", func(t *testing.T) {
		out.Reset()
		p.Add(detectedRecord("unfixed"))
		out.Reset()
		p.Done()
		assert.Equal(t, "\r\x1b[2K\x1b[?7lracestress: 4/4 trials | unfixed detected 2/2 | fixed forbidden 1/2 (95% CI [1.25%, 98.8%]) | elapsed 5s\x1b[?7h\n", out.String())
	})
	t.Run("nothing is printed after done", func(t *testing.T) {
		out.Reset()
		p.Tick()
		p.Done()
		assert.Empty(t, out.String())
	})
}

func TestProgressInALog(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	p := NewProgress(&out, 10, false, clock.now)

	t.Run("trials within five seconds print nothing", func(t *testing.T) {
		clock.advance(time.Second)
		p.Add(detectedRecord("unfixed"))
		clock.advance(3 * time.Second)
		p.Tick()
		assert.Empty(t, out.String())
	})
	t.Run("a tick five seconds after the start prints one plain line", func(t *testing.T) {
		clock.advance(time.Second)
		p.Tick()
		assert.Equal(t, "racestress: 1/10 trials | unfixed detected 1/1 | elapsed 5s | ETA 45s\n", out.String())
	})
	t.Run("the next line waits another five seconds", func(t *testing.T) {
		out.Reset()
		clock.advance(4 * time.Second)
		p.Add(cleanRecord("fixed"))
		p.Tick()
		assert.Empty(t, out.String())
		clock.advance(time.Second)
		p.Tick()
		assert.Equal(t, 1, strings.Count(out.String(), "\n"))
		assert.Contains(t, out.String(), "2/10 trials")
		assert.NotContains(t, out.String(), "\r")
		assert.NotContains(t, out.String(), "\x1b")
	})
	t.Run("done prints the final line at once", func(t *testing.T) {
		out.Reset()
		clock.advance(time.Second)
		p.Done()
		assert.Equal(t, "racestress: 2/10 trials | unfixed detected 1/1 | fixed forbidden 0/1 (rate < 97.5% at 95%) | elapsed 11s | ETA 44s\n", out.String())
	})
}

func TestProgressNamesScenariosWhenThereAreSeveral(t *testing.T) {
	clock := newFakeClock()
	p := NewProgress(&bytes.Buffer{}, 2, false, clock.now)
	p.Add(detectedRecord("unfixed"))
	other := detectedRecord("unfixed")
	other.Scenario = "finalize-order"
	p.Add(other)
	line := p.Line()
	assert.Contains(t, line, "bpo24484/unfixed detected 1/1")
	assert.Contains(t, line, "finalize-order/unfixed detected 1/1")
}

func TestProgressIsSafeForConcurrentUse(t *testing.T) {
	clock := newFakeClock()
	var out syncBuffer
	p := NewProgress(&out, 100, true, clock.now)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				p.Add(detectedRecord("unfixed"))
				p.Tick()
				clock.advance(time.Millisecond)
			}
		})
	}
	wg.Wait()
	p.Done()
	require.Contains(t, p.Line(), "100/100 trials")
	assert.True(t, strings.HasSuffix(out.String(), "\n"))
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestProgressWithAnOpenPlan(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	p := NewProgress(&out, 0, true, clock.now)
	p.SetWidth(1000)

	t.Run("the line counts trials without a total or an ETA", func(t *testing.T) {
		clock.advance(2 * time.Second)
		p.Add(detectedRecord("unfixed"))
		assert.Equal(t, "\r\x1b[2K\x1b[?7lracestress: 1 trial | unfixed detected 1/1 | elapsed 2s\x1b[?7h", out.String())
	})
	t.Run("a log line gets the same wording", func(t *testing.T) {
		var log bytes.Buffer
		q := NewProgress(&log, -1, false, clock.now)
		q.Add(cleanRecord("fixed"))
		q.Done()
		assert.Equal(t, "racestress: 1 trial | fixed forbidden 0/1 (rate < 97.5% at 95%) | elapsed 0s\n", log.String())
	})
	t.Run("lines the caller prints between redraws stay whole", func(t *testing.T) {
		// What the CLI does when a trial fails with a child log: clear the
		// status line, print its own lines, then Add, which redraws below.
		out.Reset()
		out.WriteString("\r\x1b[2K" + "bpo24484/unfixed: panic after 1ms\n" + "  log head\n")
		p.Add(detectedRecord("unfixed"))
		assert.Equal(t, "\r\x1b[2Kbpo24484/unfixed: panic after 1ms\n  log head\n\r\x1b[2K\x1b[?7lracestress: 2 trials | unfixed detected 2/2 | elapsed 2s\x1b[?7h", out.String())
		screen := terminalScreen(out.String())
		assert.Equal(t, []string{"bpo24484/unfixed: panic after 1ms", "  log head", "racestress: 2 trials | unfixed detected 2/2 | elapsed 2s"}, screen)
	})
}

func TestProgressAbove(t *testing.T) {
	clock := newFakeClock()
	t.Run("on a terminal the text goes above a redrawn status line", func(t *testing.T) {
		var out bytes.Buffer
		p := NewProgress(&out, 2, true, clock.now)
		p.SetWidth(1000)
		p.Add(detectedRecord("unfixed"))
		p.Above("bpo24484/unfixed: panic\n    | log head")
		assert.Equal(t, []string{"bpo24484/unfixed: panic", "    | log head", "racestress: 1/2 trials | unfixed detected 1/1 | elapsed 0s | ETA 0s"},
			terminalScreen(out.String()))
	})
	t.Run("in a log the text is printed alone", func(t *testing.T) {
		var out bytes.Buffer
		p := NewProgress(&out, 2, false, clock.now)
		p.Above("bpo24484/unfixed: panic")
		assert.Equal(t, "bpo24484/unfixed: panic\n", out.String())
	})
}

// terminalScreen replays what an unbounded terminal shows for s (see
// screen).
func terminalScreen(s string) []string { return newScreen(0).write(s).lines() }
