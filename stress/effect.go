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
}

// add notes a record; it recomputes the tests only when the record can
// change a decision: a control's detection, a clean subject's failure, a
// clean subject's trial while a test waits for its trials, or one of a
// clean subject no test knows yet.
func (w *effectWatch) add(r result.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.records = append(w.records, r)
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
