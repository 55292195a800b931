package stress

import (
	"slices"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	ok := []struct {
		in   string
		want []string
	}{
		{"./old.test -test.run TestCache", []string{"./old.test", "-test.run", "TestCache"}},
		{"  a\tb \n c  ", []string{"a", "b", "c"}},
		{`sh -c 'test $((RANDOM % 4)) -ne 0'`, []string{"sh", "-c", "test $((RANDOM % 4)) -ne 0"}},
		{`echo "a b" 'c d'e`, []string{"echo", "a b", "c de"}},
		{`echo "say \"hi\" \\ \$x \a"`, []string{"echo", `say "hi" \ $x \a`}},
		{`echo a\ b \'c`, []string{"echo", "a b", "'c"}},
		{"echo '' \"\"", []string{"echo", "", ""}},
		{"x.test -test.run 'Test(A|B)$' -test.count=1", []string{"x.test", "-test.run", "Test(A|B)$", "-test.count=1"}},
		{"x.test -test.run Test.*", []string{"x.test", "-test.run", "Test.*"}},
		{"a \\\nb", []string{"a", "b"}},
		{`"a"'b'c`, []string{"abc"}},
		{"héllo wörld", []string{"héllo", "wörld"}},
	}
	for _, tc := range ok {
		got, err := SplitCommand(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	bad := []string{
		"", "   ", "'unterminated", `"unterminated`, `trailing\`,
		"a | b", "a && b", "a; b", "a > out", "a < in", "(a)", "echo $HOME", "echo `date`",
		`echo "$HOME"`, "echo \"`date`\"",
	}
	for _, in := range bad {
		if got, err := SplitCommand(in); err == nil {
			t.Errorf("SplitCommand(%q) = %q, want an error", in, got)
		}
	}
}
