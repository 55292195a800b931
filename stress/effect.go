package stress

import (
	"sync"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
)

// effectWatch follows a run under the effect gate and tells when every
// clean subject's effect is decided (shown, or failed), so that a run
// with a budget stops there rather than at its budget's end. Stopping
// when decided costs no error rate: the effect test's bound holds
// whenever the run stops (report.EffectTest).
type effectWatch struct {
	minEffect float64

	mu      sync.Mutex
	records []result.Record
	tests   []report.EffectTest
	dirty   bool
	hits    map[string]int // detections by control
}

// add notes a record; it recomputes the tests only when the record can
// change a decision: a control's detection, a clean subject's failure, a
// clean subject's trial while a test waits for its trials, or one of a
// clean subject no test knows yet.
func (w *effectWatch) add(r result.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.records = append(w.records, r)
	if r.Role == result.Control && r.Hit() && !r.Invalid() {
		if w.hits == nil {
			w.hits = map[string]int{}
		}
		w.hits[r.Registry]++
	}
	switch {
	case r.Invalid():
	case r.Role == result.Control && r.Hit(), r.Role == result.Clean && r.Hit():
		w.dirty = true
	case r.Role == result.Clean:
		tested := false
		for _, t := range w.tests {
			if t.Clean.Registry == r.Registry {
				tested = true
				if t.State == report.EffectPending && t.ControlTrials > 0 {
					w.dirty = true
				}
			}
		}
		if !tested { // the subject's first records: its tests do not exist yet
			w.dirty = true
		}
	}
}

// decided reports whether every clean subject's effect test is decided.
func (w *effectWatch) decided() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dirty {
		w.tests = report.Summarize(w.records).EffectTests(w.minEffect, report.DefaultAlpha)
		w.dirty = false
	}
	if len(w.tests) == 0 {
		return false
	}
	for _, t := range w.tests {
		if t.State == report.EffectPending {
			return false
		}
	}
	return true
}

// controlDone reports whether the control called name has every detection
// the effect tests need (report.EffectDetections): its further trials
// cannot change a decision (a test counts the control's trials up to its
// Need-th detection only), so a run may skip them and go on with the
// clean subjects' trials.
func (w *effectWatch) controlDone(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hits[name] >= report.EffectDetections(w.minEffect, report.DefaultAlpha)
}
