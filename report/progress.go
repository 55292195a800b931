package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/racestress/racestress/harness/result"
)

// StatusEvery is how often, at most, Progress prints a status line when its
// writer is not a terminal.
const StatusEvery = 5 * time.Second

// Progress reports a run's progress on a status writer (stderr): trials done
// of planned, then per registry the forbidden outcomes so far with their 95%
// interval (clean registries) or the detections (controls), the elapsed time
// and an estimate of the time left. On a terminal it keeps one line up to
// date, rewriting it in place (carriage return, clear line); otherwise, for
// CI logs, it prints a plain line at most every StatusEvery. It never reads
// the wall clock itself: now is injected, so tests drive it with a fake clock.
//
// Wiring, in the CLI (skip it all under --quiet; results go to stdout only):
//
//	p := report.NewProgress(stderr, cfg.Runs*len(cfg.Registries), isTerminal(stderr), time.Now)
//	cfg.OnRecord = func(r result.Record) error { p.Add(r); return nil }
//	ticker := time.NewTicker(time.Second) // drives the elapsed/ETA refresh
//	go func() { for range ticker.C { p.Tick() } }() // stop the ticker when done
//	records, err := harness.Run(ctx, cfg)
//	ticker.Stop()
//	p.Done()
//
// isTerminal may be golang.org/x/term's term.IsTerminal(int(os.Stderr.Fd()))
// or github.com/mattn/go-isatty (already a dependency). The methods are safe
// for concurrent use.
type Progress struct {
	mu       sync.Mutex
	w        io.Writer
	planned  int
	terminal bool
	now      func() time.Time

	start, printed time.Time
	done           int
	groups         []progressGroup
	finished       bool
}

type progressGroup struct {
	scenario, registry string
	clean              bool
	runs, detected     int
}

// NewProgress returns a Progress writing to w for a run of planned trials,
// started now. terminal selects the updating line over periodic lines. A
// planned of 0 or less means the number of trials is not known in advance
// (a --budget run goes round after round until its time is up): the line
// then says "N trials" with no total and no ETA.
//
// On a terminal every redraw starts with "\r\x1b[2K" (back to column 0, clear
// the line), so the caller may print whole lines of its own between
// redraws: it clears the status line the same way, prints its lines ending
// in a newline, and the next Add or Tick draws the status afresh below them.
func NewProgress(w io.Writer, planned int, terminal bool, now func() time.Time) *Progress {
	if now == nil {
		now = time.Now
	}
	t := now()
	return &Progress{w: w, planned: planned, terminal: terminal, now: now, start: t, printed: t}
}

// Add counts a finished trial. On a terminal it redraws the line at once;
// otherwise it prints only when StatusEvery has passed since the last line.
func (p *Progress) Add(r result.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	i := 0
	for i < len(p.groups) && (p.groups[i].scenario != r.Scenario || p.groups[i].registry != r.Registry) {
		i++
	}
	if i == len(p.groups) {
		p.groups = append(p.groups, progressGroup{scenario: r.Scenario, registry: r.Registry, clean: r.Role == result.Clean})
	}
	g := &p.groups[i]
	if !r.Invalid() { // a harness error says nothing about the subject
		g.runs++
	}
	if r.Hit() {
		g.detected++
	}
	p.update(false)
}

// Above prints text (whole lines, e.g. a failed trial's status and log head)
// above the status line, under the same lock as the redraws so that a
// concurrent Tick cannot land in the middle of it: on a terminal it clears
// the status line, prints text (a newline is added if it lacks one), and
// draws the status again below it; off a terminal it prints text alone.
// After Done it prints text alone.
func (p *Progress) Above(text string) {
	if text == "" {
		return
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal || p.finished {
		io.WriteString(p.w, text)
		return
	}
	io.WriteString(p.w, "\r\x1b[2K"+text)
	p.update(false)
}

// Tick refreshes the status: the caller calls it periodically (every second
// or so, from a time.Ticker) so that elapsed time and ETA move between
// trials. Off a terminal it prints only when StatusEvery has passed.
func (p *Progress) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.update(false)
}

// Done ends the status: it prints the final line, ended by a newline, so
// that what follows starts on a fresh line. Later calls do nothing.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.update(true)
	p.finished = true
}

// update prints the status line if it is due; the caller holds mu.
func (p *Progress) update(final bool) {
	if p.finished {
		return
	}
	now := p.now()
	switch {
	case p.terminal:
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r\x1b[2K%s%s", p.line(now), end)
	case final || now.Sub(p.printed) >= StatusEvery:
		fmt.Fprintln(p.w, p.line(now))
	default:
		return
	}
	p.printed = now
}

// Line returns the current status line, without printing it.
func (p *Progress) Line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.line(p.now())
}

func (p *Progress) line(now time.Time) string {
	elapsed := max(0, now.Sub(p.start))
	parts := []string{fmt.Sprintf("racestress: %d/%d trials", p.done, p.planned)}
	if p.planned <= 0 {
		// The plan is open (rounds until a --budget ends): no total, no ETA.
		parts[0] = fmt.Sprintf("racestress: %d trials", p.done)
		if p.done == 1 {
			parts[0] = "racestress: 1 trial"
		}
	}
	scenarios := map[string]bool{}
	for _, g := range p.groups {
		scenarios[g.scenario] = true
	}
	for _, g := range p.groups {
		name := g.registry
		if len(scenarios) > 1 {
			name = g.scenario + "/" + g.registry
		}
		lo, hi := ClopperPearson(g.detected, g.runs)
		switch {
		case !g.clean:
			parts = append(parts, fmt.Sprintf("%s detected %d/%d", name, g.detected, g.runs))
		case g.detected == 0:
			parts = append(parts, fmt.Sprintf("%s forbidden 0/%d (rate < %s at 95%%)", name, g.runs, pctUp(hi)))
		default:
			parts = append(parts, fmt.Sprintf("%s forbidden %d/%d (95%% CI %s)", name, g.detected, g.runs, interval(lo, hi)))
		}
	}
	parts = append(parts, "elapsed "+roundDuration(elapsed))
	if p.done > 0 && p.done < p.planned {
		left := time.Duration(float64(elapsed) / float64(p.done) * float64(p.planned-p.done))
		parts = append(parts, "ETA "+roundDuration(left))
	}
	return strings.Join(parts, " | ")
}

// roundDuration prints d to the second (to the 100 ms under ten seconds).
func roundDuration(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
