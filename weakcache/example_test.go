package weakcache_test

import (
	"fmt"

	"github.com/racestress/racestress/weakcache"
)

// A cache returns one value per key while that value lives; a Checker,
// installed as the observer and told each Get's result, verifies it.
func Example() {
	chk := weakcache.NewChecker()
	c := weakcache.NewCompareAndDelete(weakcache.WithObserver(chk))
	a := c.Get(1)
	chk.Got(1, a)
	b := c.Get(1)
	chk.Got(1, b)
	fmt.Println(a == b, a.Key, c.Len(), chk.Err())
	st := c.(weakcache.StatsSource).Stats()
	fmt.Println(st.Created, st.Hits)
	// Output:
	// true 1 1 <nil>
	// 1 1
}

func ExampleVariants() {
	for _, v := range weakcache.Variants() {
		fmt.Printf("%s: %s\n", v.Name, v.Doc)
	}
	// Output:
	// delete: the bug: a value's cleanup deletes its key, even when a newer entry was installed
	// compare-and-delete: the blog's cleanup: CompareAndDelete, only the cleanup's own entry
	// plain-map: an unsynchronised map (fatal concurrent map access; child process only)
}

// A cache written outside this package honours the options through
// NewOptions, Observe and Step.
func ExampleNewOptions() {
	v := weakcache.NewValue(7)
	o := weakcache.NewOptions(
		weakcache.WithObserver(weakcache.ObserverFunc(func(e weakcache.Event) { fmt.Println(e.Kind, e.Key, e.Serial == v.Serial) })),
		weakcache.WithHook(func(p weakcache.Point) { fmt.Println("at", p) }))
	o.Observe(weakcache.Event{Kind: weakcache.Created, Key: 7, Serial: v.Serial})
	o.Step(weakcache.PointInstall)
	// Output:
	// created 7 true
	// at install
}
