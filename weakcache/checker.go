package weakcache

import (
	"fmt"
	"slices"
	"sync"
	"weak"
)

// ViolationKind is the kind of a Violation: which promise of a
// canonicalising cache was broken.
type ViolationKind uint8

// The violations a Checker reports.
const (
	// NotCanonical: a Get returned something other than the key's
	// canonical value: nil, a value of another key, or a value its Get had
	// discarded.
	NotCanonical ViolationKind = iota + 1
	// RemovedAlive: an entry was removed while its value was alive (the
	// signature of a cleanup that deletes by key).
	RemovedAlive
	// TwoLive: two values were alive for one key, both installed or
	// returned.
	TwoLive
)

var violationNames = [...]string{NotCanonical: "not-canonical", RemovedAlive: "removed-alive", TwoLive: "two-live"}

// String returns "not-canonical", "removed-alive" or "two-live".
func (k ViolationKind) String() string {
	if int(k) < len(violationNames) && violationNames[k] != "" {
		return violationNames[k]
	}
	return fmt.Sprintf("ViolationKind(%d)", uint8(k))
}

// Violation is one broken promise. It is an error.
type Violation struct {
	Kind ViolationKind
	Key  int
	// Serial is the value the violation is about: the one returned
	// (NotCanonical), whose entry was removed (RemovedAlive), the newer of
	// the two (TwoLive).
	Serial uint64
	// Other is the other value, or 0: the value whose cleanup removed the
	// entry (RemovedAlive by a cleanup), the older of the two (TwoLive).
	Other uint64
	// Detail says what happened, naming the serials.
	Detail string
}

// Error formats the violation, e.g. "two-live: key 3: serial 5 and serial 9
// are both alive".
func (v Violation) Error() string { return fmt.Sprintf("%v: key %d: %s", v.Kind, v.Key, v.Detail) }

// maxKept is how many violations a Checker keeps; it counts them all.
const maxKept = 64

// A Checker verifies that a cache canonicalises, from the events the cache
// reports (use it as the cache's Observer) and the values its Gets return
// (report each with Got). It reports:
//
//  1. NotCanonical: a Get returned nil, a value of another key, or a value
//     that was discarded rather than installed;
//  2. RemovedAlive: an entry was removed while its value was alive, by a
//     cleanup (another value's, or its own) or by an eager delete;
//  3. TwoLive: two installed or returned values for one key were alive at
//     once.
//
// "Alive" means not yet collected: a weak pointer to the value still
// returns it. That is the only liveness a weak cache can act on, and the
// one it promises: as long as its weak pointer is not nil, a correct cache
// hands out that value again (Value resurrects it), whether or not any
// goroutine still references it, so a second value for the key is a broken
// promise. Weak pointers to one object go nil together, once, when the
// collector sweeps it, before its cleanups are queued, so the Checker, which
// follows every value through a weak pointer of its own, sees a value die
// exactly when the cache can. It never holds a value strongly: a checker
// that kept values reachable would keep the bug from ever showing.
//
// Events from different goroutines reach the Checker in an order that need
// not be the order in which their operations took effect on the map, so
// every check relies only on liveness, which changes once: a value found
// alive when the Checker handles an event was alive when the event
// happened. A violation is therefore never a false alarm; a value that dies
// between an event and its check may hide one.
//
// The Checker learns values from Created events (their Weak field), and
// from Got for a cache that does not report them. It is safe for
// concurrent use; its memory is proportional to the values alive, as it
// forgets values once they are collected.
type Checker struct {
	mu         sync.Mutex
	bySerial   map[uint64]*tracked
	byKey      map[int][]*tracked // installed or returned values, not yet known dead
	sweepAt    int                // sweep bySerial for dead values when it reaches this size
	violations []Violation
	count      int
	counts     map[ViolationKind]int
}

type valueState uint8

const (
	stateSeen      valueState = iota // known only from a Hit, a Got or a removal
	stateCreated                     // Created, not installed yet
	stateInstalled                   // installed or returned
	stateDiscarded                   // created and dropped
)

type tracked struct {
	key    int
	serial uint64
	wp     weak.Pointer[Value] // zero while unknown
	hasWP  bool
	state  valueState
	inKey  bool     // in byKey[key]
	paired []uint64 // serials it was reported TwoLive with
}

// alive reports whether the value is known to be alive.
func (t *tracked) alive() bool { return t.hasWP && t.wp.Value() != nil }

// dead reports whether the value is known to be collected.
func (t *tracked) dead() bool { return t.hasWP && t.wp.Value() == nil }

// NewChecker returns a Checker that has seen nothing.
func NewChecker() *Checker {
	return &Checker{
		bySerial: make(map[uint64]*tracked),
		byKey:    make(map[int][]*tracked),
		sweepAt:  1024,
		counts:   make(map[ViolationKind]int),
	}
}

// Observe implements Observer.
func (c *Checker) Observe(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e.Kind {
	case Created:
		t := c.track(e.Key, e.Serial)
		if t.state == stateSeen {
			t.state = stateCreated
		}
		if !t.hasWP && e.Weak != (weak.Pointer[Value]{}) {
			t.wp, t.hasWP = e.Weak, true
		}
	case Installed:
		t := c.track(e.Key, e.Serial)
		if t.state == stateDiscarded {
			c.report(Violation{Kind: NotCanonical, Key: e.Key, Serial: e.Serial,
				Detail: fmt.Sprintf("serial %d was installed after its Get discarded it", e.Serial)})
		}
		t.state = stateInstalled
		c.join(t)
	case Discarded:
		t := c.track(e.Key, e.Serial)
		if t.state != stateInstalled {
			t.state = stateDiscarded
		}
	case Hit:
		t := c.track(e.Key, e.Serial)
		c.returned(t, e.Key, "a hit")
	case EagerDelete:
		if !e.Deleted {
			break
		}
		if t := c.bySerial[e.Serial]; t != nil && t.alive() {
			c.report(Violation{Kind: RemovedAlive, Key: e.Key, Serial: e.Serial,
				Detail: fmt.Sprintf("a Get eagerly deleted the entry of serial %d, which is alive", e.Serial)})
		}
	case CleanupRan:
		if e.Deleted && e.DeletedSerial != 0 {
			if t := c.bySerial[e.DeletedSerial]; t != nil && t.alive() {
				v := Violation{Kind: RemovedAlive, Key: e.Key, Serial: e.DeletedSerial, Other: e.Serial}
				if e.DeletedSerial == e.Serial {
					v.Other = 0
					v.Detail = fmt.Sprintf("the cleanup of serial %d ran and removed its entry while serial %d is alive", e.Serial, e.Serial)
				} else {
					v.Detail = fmt.Sprintf("the cleanup of serial %d removed the entry of serial %d, which is alive", e.Serial, e.DeletedSerial)
				}
				c.report(v)
			}
		}
		// A cleanup runs after its value was collected: forget it, unless
		// it is (wrongly) alive.
		if t := c.bySerial[e.Serial]; t != nil && !t.alive() {
			c.forget(t)
		}
	}
	c.maybeSweep()
}

// Got records that Get(key) returned v. Call it for every Get whose result
// the checker should verify, after Get returns; it does not keep v.
func (c *Checker) Got(key int, v *Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v == nil {
		c.report(Violation{Kind: NotCanonical, Key: key, Detail: "Get returned nil"})
		return
	}
	if v.Key != key {
		c.report(Violation{Kind: NotCanonical, Key: key, Serial: v.Serial,
			Detail: fmt.Sprintf("Get returned serial %d, a value of key %d", v.Serial, v.Key)})
		return
	}
	t := c.track(key, v.Serial)
	if !t.hasWP {
		t.wp, t.hasWP = weak.Make(v), true
	}
	c.returned(t, key, "Get")
	c.maybeSweep()
}

// Violations returns the first violations found (at most 64), in the order
// found.
func (c *Checker) Violations() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.violations)
}

// Count returns the number of violations found, of every kind.
func (c *Checker) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// Counts returns the number of violations found by kind.
func (c *Checker) Counts() map[ViolationKind]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[ViolationKind]int, len(c.counts))
	for k, n := range c.counts {
		m[k] = n
	}
	return m
}

// Err returns nil if no violation was found, else an error that counts them
// and wraps the first (errors.As finds it as a Violation).
func (c *Checker) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.count {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("weakcache: %w", c.violations[0])
	}
	return fmt.Errorf("weakcache: %d violations, the first: %w", c.count, c.violations[0])
}

func (c *Checker) report(v Violation) {
	c.count++
	c.counts[v.Kind]++
	if len(c.violations) < maxKept {
		c.violations = append(c.violations, v)
	}
}

func (c *Checker) track(key int, serial uint64) *tracked {
	t := c.bySerial[serial]
	if t == nil {
		t = &tracked{key: key, serial: serial}
		c.bySerial[serial] = t
	}
	return t
}

// returned checks a value a Get returned (by is "a hit" or "Get").
func (c *Checker) returned(t *tracked, key int, by string) {
	switch t.state {
	case stateDiscarded:
		c.report(Violation{Kind: NotCanonical, Key: key, Serial: t.serial,
			Detail: fmt.Sprintf("%s returned serial %d, which its Get discarded", by, t.serial)})
		return
	case stateSeen, stateCreated:
		// A hit may be handled before the Installed event of the Get that
		// installed the value, and a cache may not report Created.
		t.state = stateInstalled
	}
	c.join(t)
}

// join adds t to its key's values and checks that no other one is alive.
// Values found dead are dropped from the key's list on the way.
func (c *Checker) join(t *tracked) {
	if !t.inKey {
		t.inKey = true
		c.byKey[t.key] = append(c.byKey[t.key], t)
	}
	if !t.alive() {
		return
	}
	list := c.byKey[t.key][:0]
	for _, o := range c.byKey[t.key] {
		if o.dead() {
			o.inKey = false
			continue
		}
		list = append(list, o)
		if o == t || !o.alive() || slices.Contains(t.paired, o.serial) {
			continue
		}
		older, newer := o, t
		if newer.serial < older.serial {
			older, newer = newer, older
		}
		t.paired = append(t.paired, o.serial)
		o.paired = append(o.paired, t.serial)
		c.report(Violation{Kind: TwoLive, Key: t.key, Serial: newer.serial, Other: older.serial,
			Detail: fmt.Sprintf("serial %d and serial %d are both alive", older.serial, newer.serial)})
	}
	clear(c.byKey[t.key][len(list):])
	if len(list) == 0 {
		delete(c.byKey, t.key)
	} else {
		c.byKey[t.key] = list
	}
}

func (c *Checker) forget(t *tracked) {
	delete(c.bySerial, t.serial)
	if !t.inKey {
		return
	}
	t.inKey = false
	list := slices.DeleteFunc(c.byKey[t.key], func(o *tracked) bool { return o == t })
	if len(list) == 0 {
		delete(c.byKey, t.key)
	} else {
		c.byKey[t.key] = list
	}
}

// maybeSweep forgets collected values once the table has doubled since the
// last sweep, so that memory follows the live values at O(1) amortised
// cost.
func (c *Checker) maybeSweep() {
	if len(c.bySerial) < c.sweepAt {
		return
	}
	for _, t := range c.bySerial {
		if t.dead() {
			c.forget(t)
		}
	}
	c.sweepAt = max(1024, 2*len(c.bySerial))
}
