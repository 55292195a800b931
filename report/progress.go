package report

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/racestress/racestress/result"
)

// StatusEvery is how often, at most, Progress prints a status line when its
// writer is not a terminal.
const StatusEvery = 5 * time.Second

// Progress reports a run's progress on a status writer (stderr): trials done
// of planned, the harness errors among them if any (counted for no
// registry: an error says nothing about its subject), then per registry the
// forbidden outcomes so far with their 95% interval (clean registries) or
// the signature detections (controls), the elapsed time and an estimate of
// the time left. On a terminal it keeps one line up to
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
	width    int // columns of the terminal; 0: no limit
	now      func() time.Time

	start, printed time.Time
	done, errors   int // trials finished; of them, harness errors
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
//
// On a terminal the line fits in the terminal's width, TerminalWidth(nil)
// (COLUMNS, else 80), less one column (see SetWidth): a line that wrapped
// would leave a stale copy of its first rows at each redraw, since "clear
// line" clears only the row the cursor is on. As a second guard, each
// redraw turns the terminal's automatic wrapping off while it writes the
// status ("\x1b[?7l" ... "\x1b[?7h"), so that a terminal narrower than it
// said clips the line instead of wrapping it. Log lines are never cut.
func NewProgress(w io.Writer, planned int, terminal bool, now func() time.Time) *Progress {
	if now == nil {
		now = time.Now
	}
	t := now()
	p := &Progress{w: w, planned: planned, terminal: terminal, now: now, start: t, printed: t}
	if terminal {
		p.width = TerminalWidth(nil)
	}
	return p
}

// DefaultWidth is the terminal width assumed when COLUMNS does not give one.
const DefaultWidth = 80

// TerminalWidth returns the width of the terminal as a command-line tool
// takes it without asking the terminal: COLUMNS when it is a whole number
// above zero, else DefaultWidth. getenv looks the variable up; nil means
// os.Getenv.
func TerminalWidth(getenv func(string) string) int {
	if getenv == nil {
		getenv = os.Getenv
	}
	if n, err := strconv.Atoi(strings.TrimSpace(getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	return DefaultWidth
}

// SetWidth sets the width of the terminal, in columns, that the status line
// must fit: a caller that knows it better than COLUMNS does (a query of the
// terminal, a test) sets it here. The line takes at most columns-1
// characters (counted as runes), so that the cursor never stands in the last
// column, where some terminals wrap at once. 0 or less: no limit. It has no
// effect off a terminal.
func (p *Progress) SetWidth(columns int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.width = columns
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
	switch {
	case r.Invalid(): // a harness error says nothing about the subject
		p.errors++
	case r.Hit():
		g.runs++
		g.detected++
	default:
		g.runs++
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
	if p.terminal {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r\x1b[2K\x1b[?7l%s\x1b[?7h%s", p.line(now), end)
	} else if final || now.Sub(p.printed) >= StatusEvery {
		fmt.Fprintln(p.w, p.line(now))
	} else {
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
	st := p.status(now)
	if !p.terminal || p.width <= 0 {
		return st.render(0)
	}
	return fit(st, p.width-1)
}

// status is the status line in parts, each with the shorter forms fit may
// fall back on.
type status struct {
	head, headShort, headShortest string // "racestress: 2/4 trials", "2/4 trials", "2/4"
	errors, errorsShort           string // "harness errors 2", "err 2"; "" without any
	groups                        []statusGroup
	controls, clean               *statusGroup // the groups summed by role; nil when there are none
	elapsed, eta                  string       // eta is "" when there is none

	// What fit has given up, least important first.
	brief, noElapsed, noName, summed, unlabelled, noTimes, shortest, tiny bool
}

type statusGroup struct{ full, brief, bare, tiny string }

func (p *Progress) status(now time.Time) status {
	elapsed := max(0, now.Sub(p.start))
	st := status{elapsed: "elapsed " + roundDuration(elapsed)}
	count := fmt.Sprintf("%d/%d", p.done, p.planned)
	st.headShort = count + " trials"
	if p.planned <= 0 {
		// The plan is open (rounds until a --budget ends): no total, no ETA.
		count = strconv.Itoa(p.done)
		st.headShort = count + " trials"
		if p.done == 1 {
			st.headShort = "1 trial"
		}
	}
	st.head, st.headShortest = "racestress: "+st.headShort, count
	if p.errors > 0 {
		st.errors, st.errorsShort = fmt.Sprintf("harness errors %d", p.errors), fmt.Sprintf("err %d", p.errors)
	}
	if p.done > 0 && p.done < p.planned {
		left := time.Duration(float64(elapsed) / float64(p.done) * float64(p.planned-p.done))
		st.eta = "ETA " + roundDuration(left)
	}
	scenarios := map[string]bool{}
	for _, g := range p.groups {
		scenarios[g.scenario] = true
	}
	var controls, clean progressGroup
	for _, g := range p.groups {
		name := g.registry
		if len(scenarios) > 1 {
			name = g.scenario + "/" + g.registry
		}
		st.groups = append(st.groups, groupStatus(name, g))
		sum := &controls
		if g.clean {
			sum = &clean
		}
		sum.clean, sum.runs, sum.detected = g.clean, sum.runs+g.runs, sum.detected+g.detected
	}
	if controls.runs > 0 {
		s := groupStatus("controls", controls)
		st.controls = &s
	}
	if clean.runs > 0 {
		s := groupStatus("clean", clean)
		st.clean = &s
	}
	return st
}

// groupStatus words a group's counts in full ("fixed forbidden 0/20 (rate <
// 16.9% at 95%)"), briefly ("fixed forbidden 0/20"), bare ("forbidden
// 0/20") and tiny ("fail 0/20"; a control's "det 3/20").
func groupStatus(name string, g progressGroup) statusGroup {
	counts := fmt.Sprintf("%d/%d", g.detected, g.runs)
	if !g.clean {
		bare := "detected " + counts
		return statusGroup{full: name + " " + bare, brief: name + " " + bare, bare: bare, tiny: "det " + counts}
	}
	bare := "forbidden " + counts
	lo, hi := ClopperPearson(g.detected, g.runs)
	ci := fmt.Sprintf(" (%s CI %s)", FormatRate(Confidence), FormatInterval(lo, hi))
	if g.detected == 0 {
		ci = fmt.Sprintf(" (rate < %s at %s)", FormatUpper(hi), FormatRate(Confidence))
	}
	return statusGroup{full: name + " " + bare + ci, brief: name + " " + bare, bare: bare, tiny: "fail " + counts}
}

// render joins the parts that are left; with limit > 0 it cuts the line to
// at most limit characters, ending it in "..." when anything was cut.
func (st status) render(limit int) string {
	head := st.head
	switch {
	case st.shortest:
		head = st.headShortest
	case st.noName:
		head = st.headShort
	}
	parts := []string{head}
	if st.errors != "" {
		parts = append(parts, pick(st.tiny, st.errorsShort, st.errors))
	}
	if st.summed {
		for _, g := range []*statusGroup{st.controls, st.clean} {
			if g != nil {
				parts = append(parts, pick(st.tiny, g.tiny, pick(st.unlabelled, g.bare, g.brief)))
			}
		}
	} else {
		for _, g := range st.groups {
			parts = append(parts, pick(st.brief, g.brief, g.full))
		}
	}
	if !st.noTimes {
		if !st.noElapsed || st.eta == "" {
			parts = append(parts, st.elapsed)
		}
		if st.eta != "" {
			parts = append(parts, st.eta)
		}
	}
	line := strings.Join(parts, " | ")
	if limit <= 0 || utf8.RuneCountInString(line) <= limit {
		return line
	}
	const ellipsis = "..."
	r := []rune(line)
	if limit <= len(ellipsis) {
		return string(r[:limit])
	}
	return string(r[:limit-len(ellipsis)]) + ellipsis
}

// pick returns short if shorter is set, else long.
func pick(shorter bool, short, long string) string {
	if shorter {
		return short
	}
	return long
}

// fit returns the status line in at most limit characters, giving up the
// least important parts first, in this order: the intervals of the clean
// registries (the counts stay); the elapsed time while there is an ETA; the
// "racestress:" prefix; the registries one by one, summed by role into
// "controls detected D/N" and "clean forbidden F/N"; the words "controls"
// and "clean"; the times; the word "trials"; last, the words "detected" and
// "forbidden" shrink to "det" and "fail". If even that is too long, the line
// is cut, ending in "...".
func fit(st status, limit int) string {
	steps := []func(*status){
		func(s *status) { s.brief = true },
		func(s *status) { s.noElapsed = true },
		func(s *status) { s.noName = true },
		func(s *status) { s.summed = true },
		func(s *status) { s.unlabelled = true },
		func(s *status) { s.noTimes = true },
		func(s *status) { s.shortest = true },
		func(s *status) { s.tiny = true },
	}
	line := st.render(0)
	for _, step := range steps {
		if utf8.RuneCountInString(line) <= limit {
			return line
		}
		step(&st)
		line = st.render(0)
	}
	return st.render(limit)
}

// roundDuration prints d to the second (to the 100 ms under ten seconds).
func roundDuration(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
