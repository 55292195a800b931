// Package result defines what a racestress trial produces: its outcome, its
// grade and the record written, one JSON line per trial, to a results file.
// It is a leaf package: scenarios produce these values, the harness writes
// them, and report reads them; none of them runs anything here.
package result

import (
	"fmt"
	"time"
)

// Outcome is how a trial ended. Every trial ends in exactly one outcome; when
// a trial saw several failures, the most severe one is its outcome.
type Outcome string

// The outcome classes, from least to most severe.
const (
	OK          Outcome = "ok"           // no invariant was violated
	ChangedSize Outcome = "changed-size" // Run panicked: the registry changed size during iteration (bpo-24484's signature)
	Panic       Outcome = "panic"        // any other panic; its message and the head of its stack are kept
	Fail        Outcome = "fail"         // a command exited with a non-zero status, or its output matched --fail-on
	Order       Outcome = "order"        // Run called back out of (priority, seq) order
	DoubleCall  Outcome = "double-call"  // a finalizer was called more than once
	Contract    Outcome = "contract"     // an operation broke its contract: Run skipped a finalizer it had to call, called one it must not, left an entry it saw, or did not return
	Lost        Outcome = "lost"         // a finalizer was never called, or the registry was not empty at teardown
	Canon       Outcome = "canon"        // a canonicalising cache broke canonicalisation: two live values for a key, or an entry removed while its value was alive
	DataRace    Outcome = "data-race"    // the race detector reported a race
	Fatal       Outcome = "fatal"        // a runtime fatal error killed the trial's process
	Crash       Outcome = "crash"        // the trial's process was killed by a signal or ran out of memory
	Hang        Outcome = "hang"         // the watchdog stopped a trial that did not finish
	Error       Outcome = "error"        // a harness or set-up problem, or a limit of the harness's own; never a pass and never a detection
)

// Outcomes lists every outcome class from least to most severe.
var Outcomes = []Outcome{OK, ChangedSize, Panic, Fail, Order, DoubleCall, Contract, Lost, Canon, DataRace, Fatal, Crash, Hang, Error}

// Severity ranks o among Outcomes; unknown outcomes rank above Error.
func (o Outcome) Severity() int {
	for i, x := range Outcomes {
		if x == o {
			return i
		}
	}
	return len(Outcomes)
}

// Worse returns the more severe of a and b.
func Worse(a, b Outcome) Outcome {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

// Valid reports whether o is a known outcome class.
func (o Outcome) Valid() bool { return o.Severity() < len(Outcomes) }

// Grade is how a scenario judges an outcome, as in jcstress.
type Grade string

// The grades, from best to worst.
const (
	Acceptable  Grade = "acceptable"  // allowed
	Interesting Grade = "interesting" // allowed, but worth a look
	Forbidden   Grade = "forbidden"   // a bug, or for a control registry a detection
)

// Rank orders grades: Acceptable < Interesting < Forbidden.
func (g Grade) Rank() int {
	switch g {
	case Acceptable:
		return 0
	case Interesting:
		return 1
	}
	return 2
}

// Role is what a subject is expected to do in a run.
type Role string

// The roles.
const (
	// Control is a subject with the bug: it must be caught (show one of its
	// signature outcomes), or the harness has lost its power to detect.
	Control Role = "control"
	// Clean is a subject that must never show a forbidden outcome.
	Clean Role = "clean"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == Control || r == Clean }

// Knobs are the settings a trial ran with; with the seed they are what a
// replay needs.
type Knobs struct {
	Threads     int     `json:"threads"`
	Makers      int     `json:"makers"`
	Runners     int     `json:"runners"`
	Seconds     float64 `json:"seconds"`
	GOGC        int     `json:"gogc"`
	SleepScale  float64 `json:"sleep_scale"`
	Slots       int     `json:"slots"`
	PerSlot     int     `json:"per_slot"`
	MaxPriority int     `json:"max_priority"`
	KeepGoing   bool    `json:"keep_going,omitempty"`
	// Reentrant makes finalizer callbacks register a finalizer themselves,
	// as real finalizers do (the locked registry deadlocks on it).
	Reentrant bool `json:"reentrant,omitempty"`
	// Procs, when positive, is the GOMAXPROCS the trial runs with.
	Procs int `json:"procs,omitempty"`
	// Chaos is the chaos-injection level ("", "off", "low", "high").
	Chaos string `json:"chaos,omitempty"`
	// Preset names the preset the knobs came from, if any.
	Preset string `json:"preset,omitempty"`
	// Params are the knobs a scenario declares beyond the fields above,
	// by name (see Get and With).
	Params map[string]float64 `json:"params,omitempty"`
}

// Get returns the knob called name: one of the fields' knob names
// (threads, seconds, gogc, sleep-scale, slots, per-slot, max-priority,
// procs, reentrant) or a scenario's own in Params.
func (k Knobs) Get(name string) (float64, bool) {
	switch name {
	case "threads":
		return float64(k.Threads), true
	case "seconds":
		return k.Seconds, true
	case "gogc":
		return float64(k.GOGC), true
	case "sleep-scale":
		return k.SleepScale, true
	case "slots":
		return float64(k.Slots), true
	case "per-slot":
		return float64(k.PerSlot), true
	case "max-priority":
		return float64(k.MaxPriority), true
	case "procs":
		return float64(k.Procs), true
	case "reentrant":
		if k.Reentrant {
			return 1, true
		}
		return 0, true
	}
	v, ok := k.Params[name]
	return v, ok
}

// With returns k with the knob called name set to v; Params is copied, so
// that k is left as it was.
func (k Knobs) With(name string, v float64) Knobs {
	switch name {
	case "threads":
		k.Threads = int(v)
	case "seconds":
		k.Seconds = v
	case "gogc":
		k.GOGC = int(v)
	case "sleep-scale":
		k.SleepScale = v
	case "slots":
		k.Slots = int(v)
	case "per-slot":
		k.PerSlot = int(v)
	case "max-priority":
		k.MaxPriority = int(v)
	case "procs":
		k.Procs = int(v)
	case "reentrant":
		k.Reentrant = v != 0
	default:
		p := make(map[string]float64, len(k.Params)+1)
		for n, x := range k.Params {
			p[n] = x
		}
		p[name] = v
		k.Params = p
	}
	return k
}

// Equal reports whether k and o are the same knobs.
func (k Knobs) Equal(o Knobs) bool {
	if len(k.Params) != len(o.Params) {
		return false
	}
	for n, v := range k.Params {
		if w, ok := o.Params[n]; !ok || w != v {
			return false
		}
	}
	return k.fields() == o.fields()
}

// knobFields are Knobs without Params: a comparable value.
type knobFields struct {
	threads, makers, runners, gogc, slots, perSlot, maxPriority, procs int
	seconds, sleepScale                                                float64
	keepGoing, reentrant                                               bool
	chaos, preset                                                      string
}

func (k Knobs) fields() knobFields {
	return knobFields{k.Threads, k.Makers, k.Runners, k.GOGC, k.Slots, k.PerSlot, k.MaxPriority, k.Procs,
		k.Seconds, k.SleepScale, k.KeepGoing, k.Reentrant, k.Chaos, k.Preset}
}

// Duration returns the trial length the knobs ask for.
func (k Knobs) Duration() time.Duration { return time.Duration(k.Seconds * float64(time.Second)) }

// Counts are what a trial did.
type Counts struct {
	Objects        uint64 `json:"objects"`         // objects created (and finalizers registered) by makers
	Runs           uint64 `json:"runs"`            // Run calls made by runners
	CalledByGC     uint64 `json:"called_by_gc"`    // callbacks called by GC cleanups
	CalledByRun    uint64 `json:"called_by_run"`   // callbacks called by Run
	CalledExplicit uint64 `json:"called_explicit"` // callbacks called explicitly
	Skipped        uint64 `json:"skipped"`         // snapshot keys found already removed
	Dropped        uint64 `json:"dropped"`         // finalizers cleared by Run without a call
	Cancelled      uint64 `json:"cancelled"`       // finalizers cancelled
	Cleanups       uint64 `json:"cleanups"`        // GC cleanups run
	GCCycles       uint64 `json:"gc_cycles"`       // completed GC cycles during the trial
}

// Callbacks returns the callbacks called, by anyone.
func (c Counts) Callbacks() uint64 { return c.CalledByGC + c.CalledByRun + c.CalledExplicit }

// Record is one trial's result: one line of a results file.
type Record struct {
	Trial    int    `json:"trial"`
	Scenario string `json:"scenario"`
	Registry string `json:"registry"`
	// Cell names the sweep cell the trial belongs to ("gogc=1 procs=2"), if any.
	Cell string `json:"cell,omitempty"`
	// Role is the subject's role in the run: a control must be caught, a
	// clean subject must never fail.
	Role Role `json:"role"`
	// LegacyClean is the role field of schema-1 records ("clean": true);
	// read only, to derive Role. Use Role.
	LegacyClean *bool `json:"clean,omitempty"`
	// RunID names the run the trial belongs to (schema 2 on).
	RunID string    `json:"run_id,omitempty"`
	Seed  int64     `json:"seed"`
	Knobs Knobs     `json:"knobs"`
	Start time.Time `json:"start"`

	Outcome  Outcome         `json:"outcome"`
	Grade    Grade           `json:"grade"`
	Failures map[Outcome]int `json:"failures,omitempty"` // failures seen, by class (several with keep-going)

	// Detected is set when the subject failed: a forbidden outcome that is
	// not a harness error. TTFFNanos is then the time from the trial's
	// start to the first failure.
	Detected bool `json:"detected"`
	// Signature is set when the failure is one of the subject's signature
	// outcomes: for a control, a detection of its bug.
	Signature  bool   `json:"signature,omitempty"`
	TTFFNanos  int64  `json:"ttff_ns,omitempty"`
	DurationNs int64  `json:"duration_ns"` // how long the stress phase ran
	FirstError string `json:"first_error,omitempty"`
	// Stack is the head of the stack of an unexpected panic.
	Stack string `json:"stack,omitempty"`
	// FailureSignature groups failures of the same kind: a normalised
	// first failure line and top frames (commands run by racestress exec).
	FailureSignature string `json:"failure_signature,omitempty"`
	// Test names the failing Go test, when the output named one.
	Test string `json:"test,omitempty"`

	// Mutations counts the registry mutations that changed-size panics saw,
	// by kind ("removed", "inserted", "removed+inserted").
	Mutations map[string]int `json:"mutations,omitempty"`
	Counts    Counts         `json:"counts"`
	Warnings  []string       `json:"warnings,omitempty"`

	// Process is set when the trial ran in a child process.
	Process *Process `json:"process,omitempty"`
}

// Process describes how a trial's child process ended.
type Process struct {
	Isolation  string `json:"isolation"`           // "process"; "race" under the race detector; "pool" (or "pool-race") in a warm worker
	ExitCode   int    `json:"exit_code"`           // -1 when killed by a signal
	Signal     string `json:"signal,omitempty"`    // the signal that killed it
	WallNanos  int64  `json:"wall_ns"`             // from start to exit, as the parent saw it
	PeakRSS    int64  `json:"peak_rss_bytes"`      // maximum resident set size
	Log        string `json:"log,omitempty"`       // file holding the child's stderr
	Dump       string `json:"dump,omitempty"`      // file holding its goroutine dump, if any
	TimedOut   bool   `json:"timed_out,omitempty"` // the watchdog stopped it
	OverMemory bool   `json:"over_memory,omitempty"`

	// Pool details (isolation "pool"): Worker numbers the worker process
	// within the run (1 is the first started), WorkerPID is its process id,
	// and WorkerTrial is this trial's index among the trials that worker
	// ran (0: its first). Recycled says why the worker was retired after
	// this trial ("" when it went on to run another).
	Worker      int    `json:"worker,omitempty"`
	WorkerPID   int    `json:"worker_pid,omitempty"`
	WorkerTrial int    `json:"worker_trial,omitempty"`
	Recycled    string `json:"recycled,omitempty"`
}

// TTFF returns the time to first failure.
func (r Record) TTFF() time.Duration { return time.Duration(r.TTFFNanos) }

// Duration returns how long the trial's stress phase ran.
func (r Record) Duration() time.Duration { return time.Duration(r.DurationNs) }

// Hit reports whether the trial counts for its subject's role: for a
// control, a detection (a signature outcome); for a clean subject, a
// failure (any forbidden outcome but a harness error).
func (r Record) Hit() bool {
	if r.Role == Control {
		return r.Signature
	}
	return r.Detected
}

// Invalid reports whether the trial says nothing about its subject: the
// harness could not run it, or stopped it by a limit of its own.
func (r Record) Invalid() bool { return r.Outcome == Error }

// Upgrade fills what a schema-1 record left out: its role, from the old
// "clean" field, and whether a detection was a signature outcome (schema 1
// knew one kind of detection per registry: any forbidden outcome but
// error).
func (r *Record) Upgrade() {
	if r.Role == "" && r.LegacyClean != nil {
		r.Role = Control
		if *r.LegacyClean {
			r.Role = Clean
		}
		if r.Outcome == Error {
			r.Detected = false
		}
		r.Signature = r.Role == Control && r.Detected
	}
	r.LegacyClean = nil
}

// Validate reports a record that cannot have come from a trial.
func (r Record) Validate() error {
	switch {
	case r.Scenario == "" || r.Registry == "":
		return fmt.Errorf("trial %d: missing scenario or registry", r.Trial)
	case r.Trial < 0:
		return fmt.Errorf("trial %d: negative trial number", r.Trial)
	case !r.Outcome.Valid():
		return fmt.Errorf("trial %d: unknown outcome %q", r.Trial, r.Outcome)
	case !r.Role.Valid():
		return fmt.Errorf("trial %d: unknown role %q", r.Trial, r.Role)
	case r.DurationNs < 0 || r.TTFFNanos < 0:
		return fmt.Errorf("trial %d: negative duration", r.Trial)
	case r.Signature && !r.Detected:
		return fmt.Errorf("trial %d: a signature outcome that is no failure", r.Trial)
	case r.Outcome == Error && r.Detected:
		return fmt.Errorf("trial %d: a harness error counted as a detection", r.Trial)
	}
	return nil
}
