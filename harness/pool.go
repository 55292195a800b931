package harness

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/racestress/racestress/child"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// DefaultPoolTrials is how many trials a pool worker runs before it is
// recycled, when Pool.TrialsPerWorker is zero.
const DefaultPoolTrials = 50

// DefaultRSSBound is the resident set a pool worker may have after a trial.
const DefaultRSSBound = 1 << 30

// PoolIndependence is the argument that a pool's trials are independent,
// in one sentence, for reports of pool runs.
const PoolIndependence = "pool isolation: trials ran in reused worker processes; each started in a worker that had proved itself back at its baseline " +
	"(cleanups drained, goroutines, GC percent, GOMAXPROCS and memory limit as at its start, live heap under a bound), " +
	"any worker whose trial ended in anything but a clean record was replaced and its trial classified as in process mode, " +
	"and no worker ran more than its trial limit, so a trial can inherit only process state these checks do not see"

// Pool runs trials in long-lived worker processes, one trial at a time per
// worker, over a line protocol (see PoolWorker): Spec lines on the
// worker's stdin, a record line and a fitness line per trial on its file
// descriptor 3. Trials run at once (Config.Parallel) use separate workers.
//
// A worker whose trial ends in anything but a clean record (a fatal error,
// an escaped panic, a hang, a crash, a data race, an error, malformed
// output) is replaced, and the trial is classified exactly as Processes
// classifies a one-trial worker, with the stderr the worker wrote during
// that trial (kept per trial in LogDir). A clean record whose outcome is
// not ok, or one of the subject's signature outcomes the worker recovered
// from itself, also retires the worker, as does a failed fitness check or
// reaching TrialsPerWorker. Records carry the worker and its trial index.
//
// A Pool must not be copied after first use; Close stops its workers.
type Pool struct {
	// Process is the worker command and the per-trial limits (watchdog,
	// memory, log directory), as for process isolation. Its Args must put
	// the command in pool-worker mode (PoolWorkerArg for racestress).
	// (A field, not embedded: a Pool must not pass for a Processes.)
	Process Processes
	// TrialsPerWorker recycles a worker after this many trials;
	// DefaultPoolTrials when zero.
	TrialsPerWorker int
	// HeapBound is how much more live heap than at its start a worker may
	// hold after a trial (DefaultHeapBound when zero).
	HeapBound int64
	// RSSBound retires a worker whose resident set is over it after a
	// trial (DefaultRSSBound when zero): memory the Go heap does not
	// count, such as the race detector's shadow memory, grows with the
	// trials a worker runs.
	RSSBound int64
	// Settle bounds how long a worker's fitness check waits for a trial's
	// cleanups and goroutines to finish (DefaultSettle when zero).
	Settle time.Duration

	mu       sync.Mutex
	cond     *sync.Cond
	idle     []*poolWorker
	starting int
	started  int
	closed   bool
	notes    []string // for the next record: workers that died idle
	retiring sync.WaitGroup
}

type poolWorker struct {
	id, pid int
	trials  int
	child   *child.Child
	stdin   *os.File
	lines   chan []byte // lines written on fd 3; closed at its end
	log     *segmentLog
}

// Execute implements Executor.
func (p *Pool) Execute(ctx context.Context, spec Spec) (result.Record, bool) {
	rec := newRecord(spec, time.Now())
	proc := &result.Process{Isolation: p.isolation(), ExitCode: -1}
	rec.Process = proc
	sc, err := scenarios.Lookup(spec.Scenario)
	if err != nil {
		return errorRecord(rec, err.Error()), true
	}
	timeout := p.Process.timeout(spec.Knobs)
	spec.WatchdogNs = int64(timeout)
	line, err := json.Marshal(spec)
	if err != nil {
		return errorRecord(rec, "encoding the spec: "+err.Error()), true
	}
	line = append(line, '\n')
	var (
		w     *poolWorker
		start time.Time
	)
	// A worker that cannot take the spec never saw it: the trial goes to
	// another. One that dies after taking it is the trial's.
	for attempt := 0; ; attempt++ {
		if w, err = p.get(); err != nil {
			return errorRecord(rec, "worker could not start: "+err.Error()), true
		}
		w.flushLines()
		w.child.ResetPeak()
		start = time.Now()
		if _, err = w.stdin.Write(line); err == nil || attempt == 2 {
			break
		}
		p.note(w, "could not take a trial spec: "+err.Error())
		p.discard(w)
	}
	proc.Worker, proc.WorkerPID, proc.WorkerTrial = w.id, w.pid, w.trials
	w.trials++
	notes := p.takeNotes()
	out, fit, ended := p.watchPool(ctx, w, start, timeout, proc)
	switch ended {
	case endInterrupted:
		p.discard(w)
		return rec, false
	case endExited:
		stderr := w.log.rest()
		p.Process.keepLogs(spec.Trial, stderr, proc)
		rec = classify(sc, spec, rec, out, stderr, proc)
		if msg := p.Process.harnessLimit(spec.Knobs, timeout, proc); msg != "" && rec.Outcome != result.OK {
			rec = errorRecord(rec, msg+" (the trial ended "+string(rec.Outcome)+")")
		}
		rec.Process.Recycled = "the worker ended with the trial (" + exitText(proc) + ")"
		rec.Warnings = append(rec.Warnings, notes...)
		p.discard(w)
		p.replace()
		return rec, true
	}
	// The worker is alive and answered with a record and a fitness line.
	proc.ExitCode = 0
	rss, peak := w.child.Memory()
	proc.PeakRSS = peak
	stderr := w.log.next(time.Second)
	p.Process.keepLogs(spec.Trial, stderr, proc)
	rec = classify(sc, spec, rec, out, stderr, proc)
	rec.Warnings = append(rec.Warnings, notes...)
	max := p.TrialsPerWorker
	if max <= 0 {
		max = DefaultPoolTrials
	}
	switch {
	case !keepsWorker(spec, rec.Outcome):
		rec.Process.Recycled = "replaced after outcome " + string(rec.Outcome)
	case !fit.Fit:
		rec.Process.Recycled = "unfit: " + fit.Reason
	case rss > p.rssBound():
		rec.Process.Recycled = fmt.Sprintf("unfit: resident set over %d MiB", p.rssBound()>>20)
	case w.trials >= max:
		rec.Process.Recycled = fmt.Sprintf("recycled after %d trials", w.trials)
	default:
		p.put(w)
		return rec, true
	}
	p.retire(w)
	p.replace()
	return rec, true
}

func (p *Pool) rssBound() int64 {
	if p.RSSBound > 0 {
		return p.RSSBound
	}
	return DefaultRSSBound
}

// keepsWorker reports whether a worker may run another trial after one
// that ended in outcome o with a clean record: after ok, and after a
// signature outcome of the subject that the trial caught and recovered
// itself (its registry is discarded with the trial; the fitness check
// proves its cleanups and goroutines are gone). Any other outcome may
// have left state behind: the worker is replaced.
func keepsWorker(spec Spec, o result.Outcome) bool {
	switch o {
	case result.OK:
		return true
	case result.Panic, result.DataRace, result.Fatal, result.Crash, result.Hang, result.Error:
		return false
	}
	for _, s := range spec.Signature {
		if s == o {
			return true
		}
	}
	return false
}

func (p *Pool) isolation() string {
	switch p.Process.Isolation {
	case "", "process":
		return "pool"
	}
	return "pool-" + p.Process.Isolation
}

func exitText(proc *result.Process) string {
	switch {
	case proc.Signal != "":
		return "killed by " + proc.Signal
	case proc.TimedOut:
		return "stopped by the watchdog"
	}
	return "exit status " + strconv.Itoa(proc.ExitCode)
}

// ending is how watchPool's wait for a trial ended.
type ending int

const (
	endExited      ending = iota // the worker exited
	endInterrupted               // ctx was cancelled: the worker was killed
	endAnswered                  // the worker wrote its record and fitness lines and lives on
)

// watchPool waits for w's record and fitness lines, its exit, the
// watchdog (armed for the trial) or ctx.
func (p *Pool) watchPool(ctx context.Context, w *poolWorker, start time.Time, timeout time.Duration, proc *result.Process) (out []byte, fit Fitness, ended ending) {
	w.child.Arm(timeout)
	defer w.child.Disarm()
	lines, cancel := w.lines, ctx.Done()
	haveRecord := false
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				lines = nil // wait for the exit
				continue
			}
			if !haveRecord {
				out, haveRecord = l, true
				proc.WallNanos = int64(time.Since(start))
				continue
			}
			err := decodeStrict(l, &fit)
			w.child.Disarm()
			st := w.child.State()
			if err == nil && !st.Stopping() {
				return out, fit, endAnswered
			}
			// Not a fitness line, or the supervisor is stopping the
			// worker: its output is not to be trusted. Stop it and
			// classify how it ended.
			if err != nil && !st.TimedOut && !st.Interrupted {
				out = append(out, l...) // a record of more than one line: malformed
			}
			w.child.Kill()
		case <-w.child.Done():
			proc.WallNanos = int64(time.Since(start))
			exit := w.child.Exit()
			fillExit(proc, exit)
			if exit.Interrupted {
				return out, fit, endInterrupted
			}
			return out, fit, endExited
		case <-cancel:
			w.child.Interrupt()
			cancel = nil
		}
	}
}

func (p *Pool) condLocked() *sync.Cond {
	if p.cond == nil {
		p.cond = sync.NewCond(&p.mu)
	}
	return p.cond
}

// get returns an idle worker, waiting for one being started, or starts one.
func (p *Pool) get() (*poolWorker, error) {
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, errors.New("the pool is closed")
		}
		for len(p.idle) > 0 {
			w := p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			select {
			case <-w.child.Done():
				p.noteLocked(w, "exited while idle ("+exitStatus(w)+"), after its fitness check passed; a trial it ran may have left something behind")
				continue
			default:
			}
			p.mu.Unlock()
			return w, nil
		}
		if p.starting == 0 {
			break
		}
		p.condLocked().Wait()
	}
	p.starting++
	p.mu.Unlock()
	w, err := p.start()
	p.mu.Lock()
	p.starting--
	p.condLocked().Broadcast()
	p.mu.Unlock()
	return w, err
}

// put makes w idle again.
func (p *Pool) put(w *poolWorker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.retireLocked(w)
		return
	}
	p.idle = append(p.idle, w)
	p.condLocked().Broadcast()
}

// replace starts, in the background, the worker that takes a retired one's
// place, so that the next trial need not wait for its start.
func (p *Pool) replace() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.starting++
	p.mu.Unlock()
	go func() {
		w, err := p.start()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.starting--
		if err == nil {
			if p.closed {
				p.retireLocked(w)
			} else {
				p.idle = append(p.idle, w)
			}
		}
		p.condLocked().Broadcast()
	}()
}

// retire ends w between trials: it closes its input, so the worker exits
// at the end of it, and kills it if it has not after Grace.
func (p *Pool) retire(w *poolWorker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retireLocked(w)
}

// discard kills w, whatever it is doing, and reaps it.
func (p *Pool) discard(w *poolWorker) {
	w.child.Kill()
	p.retire(w)
}

func (p *Pool) retireLocked(w *poolWorker) {
	grace := p.Process.Grace
	if grace <= 0 {
		grace = child.DefaultGrace
	}
	p.retiring.Add(1)
	go func() {
		defer p.retiring.Done()
		w.stdin.Close()
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-w.child.Done():
		case <-t.C:
			w.child.Kill()
			<-w.child.Done()
		}
	}()
}

// note keeps a line about w for the next trial's record; noteLocked also
// keeps what w wrote since its last trial in LogDir.
func (p *Pool) note(w *poolWorker, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noteLocked(w, msg)
}

func (p *Pool) noteLocked(w *poolWorker, msg string) {
	line := fmt.Sprintf("pool worker %d (pid %d) %s", w.id, w.pid, msg)
	if p.Process.LogDir != "" && os.MkdirAll(p.Process.LogDir, 0o755) == nil {
		select {
		case <-w.log.eof:
			name := filepath.Join(p.Process.LogDir, fmt.Sprintf("worker-%d.stderr", w.id))
			if b := w.log.take(); len(b) > 0 && os.WriteFile(name, b, 0o644) == nil {
				line += "; its stderr is in " + p.Process.recordPath(name)
			}
		default:
		}
	}
	p.notes = append(p.notes, line)
}

func (p *Pool) takeNotes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.notes
	p.notes = nil
	return n
}

// exitStatus says how an exited worker ended.
func exitStatus(w *poolWorker) string {
	proc := &result.Process{ExitCode: -1}
	fillExit(proc, w.child.Exit())
	return exitText(proc)
}

// flushLines drops lines an idle worker wrote (a worker writes none
// between trials; a stale line must not pass for the next trial's record).
func (w *poolWorker) flushLines() {
	for {
		select {
		case _, ok := <-w.lines:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// Close stops the pool's workers and waits for them to exit. No trial may
// be running.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	for _, w := range p.idle {
		p.retireLocked(w)
	}
	p.idle = nil
	for p.starting > 0 {
		p.condLocked().Wait()
	}
	p.mu.Unlock()
	p.retiring.Wait()
	return nil
}

// Workers returns how many worker processes the pool has started.
func (p *Pool) Workers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// start starts a worker process.
func (p *Pool) start() (*poolWorker, error) {
	p.mu.Lock()
	p.started++
	id := p.started
	p.mu.Unlock()
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	marker := "racestress pool worker " + strconv.Itoa(id) + ": end of trial " + hex.EncodeToString(nonce[:])
	cfg, err := json.Marshal(PoolWorkerConfig{Marker: marker, HeapBound: p.HeapBound, SettleNanos: int64(p.Settle)})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.Process.Path, p.Process.Args...)
	cmd.Env = append(p.Process.environ(), PoolWorkerEnv+"="+string(cfg))

	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, errW, errW
	cmd.ExtraFiles = []*os.File{outW}
	var drained sync.WaitGroup
	drained.Add(2)
	// Everything written is read before the exit is seen.
	ch, err := child.Start(cmd, child.Options{Grace: p.Process.Grace, MemoryLimit: p.Process.MemoryLimit, BeforeWait: drained.Wait})
	if err != nil {
		closeAll()
		return nil, err
	}
	inR.Close()
	errW.Close()
	outW.Close()
	w := &poolWorker{
		id: id, pid: ch.Pid(), child: ch, stdin: inW,
		lines: make(chan []byte, 4), log: newSegmentLog(marker),
	}
	go func() {
		defer drained.Done()
		readLines(outR, w.lines)
		outR.Close()
	}()
	go func() {
		defer drained.Done()
		w.log.read(errR)
		errR.Close()
	}()
	go func() {
		<-ch.Done()
		inW.Close()
	}()
	return w, nil
}

// readLines sends each line read from r (a last one without its newline
// too) to lines, then closes it.
func readLines(r io.Reader, lines chan<- []byte) {
	defer close(lines)
	br := bufio.NewReader(r)
	for {
		l, err := br.ReadBytes('\n')
		if len(l) > 0 {
			lines <- l
		}
		if err != nil {
			return
		}
	}
}

// segmentLog is a worker's stderr cut at its marker lines into one
// segment per trial.
type segmentLog struct {
	marker string
	segs   chan []byte // completed segments
	mu     sync.Mutex
	cur    []byte // the segment being written
	eof    chan struct{}
}

func newSegmentLog(marker string) *segmentLog {
	return &segmentLog{marker: marker + "\n", segs: make(chan []byte, 64), eof: make(chan struct{})}
}

func (l *segmentLog) read(r io.Reader) {
	defer close(l.eof)
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if string(line) == l.marker {
			l.mu.Lock()
			seg := l.cur
			l.cur = nil
			l.mu.Unlock()
			// The worker writes "\n" before its marker, in case the
			// trial's last line had none.
			if n := len(seg); n > 0 && seg[n-1] == '\n' {
				seg = seg[:n-1]
			}
			select {
			case l.segs <- seg:
			default: // nobody is collecting: drop it rather than block the pipe
			}
		} else if len(line) > 0 {
			l.mu.Lock()
			l.cur = append(l.cur, line...)
			l.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// next returns the segment of the trial that just ended, waiting up to
// wait for its marker.
func (l *segmentLog) next(wait time.Duration) []byte {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case seg := <-l.segs:
		return seg
	case <-l.eof:
	case <-t.C:
	}
	select {
	case seg := <-l.segs:
		return seg
	default:
	}
	return l.take()
}

// rest returns what the worker wrote since its last marker, once its
// stderr has ended.
func (l *segmentLog) rest() []byte {
	<-l.eof
	var out []byte
	for {
		select {
		case seg := <-l.segs: // an uncollected complete segment precedes the rest
			out = append(out, seg...)
			continue
		default:
		}
		return append(out, l.take()...)
	}
}

func (l *segmentLog) take() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	seg := l.cur
	l.cur = nil
	return seg
}
