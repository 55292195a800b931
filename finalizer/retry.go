package finalizer

// NewRetry returns the retry registry, a second correct fix modelled on
// CPython 2.7's dict.items(), which _run_finalizers called: it reads the
// registry's size under the lock and releases it to allocate a snapshot of
// that many slots (in CPython the allocation may run the GC, whose weakref
// callbacks remove entries); it retakes the lock and, when the size changed
// meanwhile, starts over; otherwise it fills the slots under the lock, which
// allocates nothing and so is atomic. Without that check a removal would
// leave an empty slot (a NULL item in CPython) and an insertion would
// overflow the snapshot. Run then keeps the wanted entries, calls them in
// order and skips those removed since, exactly as the fixed variant does.
// Stats.Restarts counts the starts over.
//
// Registrations wait for the snapshot, as under CPython's GIL, which the
// allocation does not release; what makes it start over is a removal: a GC
// cleanup, a Handle's Call or Cancel, or another Run's calls.
func NewRetry(opts ...Option) Registry {
	s := newStore(retrySnapshot, opts)
	s.guardWalk = true
	return s
}

func retrySnapshot(s *store, min Priority, _ uint64) []*entry {
	s.walk.Lock()
	defer s.walk.Unlock()
	var keys []*entry
	for {
		s.mu.Lock()
		size := len(s.items)
		s.mu.Unlock()
		s.hook(PointAlloc)
		keys = make([]*entry, size) // PyList_New(n), outside the lock
		s.mu.Lock()
		if len(s.items) == size {
			for i, e := range s.items {
				keys[i] = e
			}
			s.mu.Unlock()
			break
		}
		// "Durnit. The allocations caused the dict to resize. Just start
		// over, this shouldn't normally happen."
		s.mu.Unlock()
		s.stats.restarts.Add(1)
	}
	// The snapshot is private now: _run_finalizers' filter of items().
	n := 0
	for _, e := range keys {
		if wanted(e, min) {
			keys[n] = e
			n++
		}
	}
	return keys[:n]
}
