package finalizer

import "testing"

// After Run(NoPriority) clears the registry, registrations fill an array
// an earlier clear emptied: in a steady state of registrations and clears,
// the registry grows no new array.
func TestClearKeepsTheItemsArray(t *testing.T) {
	for _, v := range []Variant{{Name: "fixed", New: NewFixed}, {Name: "unfixed", New: NewUnfixed}, {Name: "locked", New: NewLocked}} {
		s := v.New().(*store)
		const n = 64
		cycle := func() []*entry {
			for range n {
				s.Register(nil, func() {}, P(1))
			}
			a := s.items // held, so that no array is freed and its address reused
			s.Run(NoPriority)
			return a
		}
		cycle()
		cycle()
		seen := map[**entry]bool{}
		var held [][]*entry
		for range 4 {
			a := cycle()
			held = append(held, a)
			seen[&a[:1][0]] = true
		}
		if len(seen) > 2 {
			t.Errorf("%s: 4 cycles of %d registrations and a clear used %d arrays, want the 2 the clears pass back and forth", v.Name, n, len(seen))
		}
		for i, e := range s.spare[:cap(s.spare)] {
			if e != nil {
				t.Fatalf("%s: spare[%d] still holds an entry", v.Name, i)
			}
		}
		_ = held
	}
}
