package command

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestSplit checks Split against a table, one case per rule, and every
// line it accepts against what sh -c makes of it: the words printf
// receives, NUL-terminated. sh runs in an empty folder with a fixed
// environment, so that nothing but the line decides.
func TestSplit(t *testing.T) {
	ok := []struct {
		rule string
		in   string
		want []string
	}{
		{"words split on blanks", "./old.test -test.run TestCache", []string{"./old.test", "-test.run", "TestCache"}},
		{"spaces and tabs, leading and trailing", "  a\tb  c  ", []string{"a", "b", "c"}},
		{"single quotes keep everything", `sh -c 'test $((RANDOM % 4)) -ne 0 | x; "y" \z'`, []string{"sh", "-c", `test $((RANDOM % 4)) -ne 0 | x; "y" \z`}},
		{"quotes join into one word", `echo "a b" 'c d'e`, []string{"echo", "a b", "c de"}},
		{"backslash in double quotes escapes only $ ` \" \\", `echo "say \"hi\" \\ \$x \a \` + "`" + `"`, []string{"echo", `say "hi" \ $x \a ` + "`"}},
		{"backslash outside quotes escapes anything", `echo a\ b \'c \$HOME \* \~ \# \| \\`, []string{"echo", "a b", "'c", "$HOME", "*", "~", "#", "|", `\`}},
		{"empty quotes are empty words", "echo '' \"\"", []string{"echo", "", ""}},
		{"a trailing $ is literal", "./old.test -test.run ^TestX$", []string{"./old.test", "-test.run", "^TestX$"}},
		{"a $ before a closing double quote is literal", `x.test -test.run "^TestX$"`, []string{"x.test", "-test.run", "^TestX$"}},
		{"a $ followed by no name is literal", `echo a$.b $ $/ "$ x" "a$%" $=`, []string{"echo", "a$.b", "$", "$/", "$ x", "a$%", "$="}},
		{"operators quoted", "x.test -test.run 'Test(A|B)$' \"a;b&c<d>e\"", []string{"x.test", "-test.run", "Test(A|B)$", "a;b&c<d>e"}},
		{"glob characters quoted", `x.test -test.run 'Test.*' "a?b" '[ab]'`, []string{"x.test", "-test.run", "Test.*", "a?b", "[ab]"}},
		{"a [ that closes no bracket expression", "echo a[ [] [!] b]", []string{"echo", "a[", "[]", "[!]", "b]"}},
		{"braces without a comma or ..", "echo {} a{b} {a.b}", []string{"echo", "{}", "a{b}", "{a.b}"}},
		{"a backslash-newline joins lines", "a \\\nb c\\\nd", []string{"a", "b", "cd"}},
		{"a backslash-newline in double quotes is removed", "echo \"a\\\nb\"", []string{"echo", "ab"}},
		{"adjacent quotes", `"a"'b'c`, []string{"abc"}},
		{"# inside a word", "echo a#b 'x'#", []string{"echo", "a#b", "x#"}},
		{"~ inside a word", "echo a~ x/~ --dir=~", []string{"echo", "a~", "x/~", "--dir=~"}},
		{"a quoted ~ or assignment", `'~'/x "FOO"=1 \~`, []string{"~/x", "FOO=1", "~"}},
		{"= in a later word", "env FOO=1 x", []string{"env", "FOO=1", "x"}},
		{"a quoted reserved word", `'if' x`, []string{"if", "x"}},
		{"reserved words after the first", "echo if then ! {", []string{"echo", "if", "then", "!", "{"}},
		{"non-ASCII", "héllo wörld", []string{"héllo", "wörld"}},
	}
	dir := t.TempDir()
	for _, tc := range ok {
		t.Run(tc.rule, func(t *testing.T) {
			got, err := Split(tc.in)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			if sh := shellWords(t, dir, tc.in); !slices.Equal(got, sh) {
				t.Errorf("Split(%q) = %q; sh -c makes %q", tc.in, got, sh)
			}
		})
	}

	bad := []struct {
		rule, in, says string
	}{
		{"empty", "", "empty command"},
		{"blank", " \t ", "empty command"},
		{"unterminated '", "echo 'a", "unterminated '"},
		{"unterminated \"", `echo "a`, `unterminated "`},
		{"a lone trailing backslash", `echo a\`, "lone backslash"},
		{"newline", "a\nb", "a newline would end the command"},
		{"pipe", "a | b", "| would pipe"},
		{"and list", "a && b", "& would run the command in the background"},
		{"background", "a &", "& would run the command in the background"},
		{"sequence", "a; b", "; would end the command"},
		{"input", "a < in", "< would redirect the command's input"},
		{"output", "a >out", "> would redirect the command's output"},
		{"subshell", "(a)", "( would start a subshell"},
		{"close", "a)", ") would end a subshell"},
		{"variable", "echo $HOME", "$HOME would be replaced by the variable's value"},
		{"variable in a word", "x.test -test.run=Test$X", "$X would be replaced"},
		{"variable in double quotes", `echo "a $HOME"`, "$HOME would be replaced by the variable's value inside double quotes"},
		{"braced parameter", "echo ${HOME}", "${...} would be replaced"},
		{"braced parameter in double quotes", `echo "${x:-y}"`, "${...} would be replaced"},
		{"positional parameter", "echo $1", "$1 would be replaced by a positional parameter"},
		{"special parameter", "echo $?", "$? would be replaced by a special parameter"},
		{"pid", `echo "$$"`, "$$ would be replaced by a special parameter"},
		{"command substitution", "echo $(date)", "$(...) would be replaced by a command's output"},
		{"arithmetic", `echo "$((1+2))"`, "$(...) would be replaced"},
		{"backquotes", "echo `date`", "`...` would be replaced by a command's output"},
		{"backquotes in double quotes", "echo \"`date`\"", "`...` inside double quotes"},
		{"ANSI-C quotes", `echo $'a\n'`, "$'...' would be read as C-style quoting"},
		{"locale quotes", `echo $"a"`, `$"..." would be translated`},
		{"star", "x.test -test.run Test.*", "Test.* would be replaced by the names of the files it matches"},
		{"question mark", "ls a?", "a? would be replaced by the names"},
		{"bracket expression", "ls [ab]c", "[ab]c would be replaced by the names"},
		{"brace expansion", "echo a{b,c}", "a{b,c} would be expanded into several words by bash"},
		{"brace sequence", "echo {1..3}", "{1..3} would be expanded"},
		{"tilde", "ls ~/x", "~/x: a leading ~ would be replaced by a home directory"},
		{"tilde after an assignment's =", "env A=~/x", "A=~/x: bash would replace a ~ after = or :"},
		{"tilde after an assignment's :", "env P=a:~/b", "bash would replace a ~ after = or :"},
		{"comment", "x.test #-test.v", "# would start a comment"},
		{"comment at the start", "#x", "# would start a comment"},
		{"assignment", "FOO=1 ./x.test", "FOO=1 would set an environment variable, not name the program: use --env"},
		{"reserved word", "if x", "if is a reserved word"},
		{"negation", "! x", "! is a reserved word"},
		{"group", "{ x", "{ is a reserved word"},
	}
	for _, tc := range bad {
		t.Run(tc.rule, func(t *testing.T) {
			got, err := Split(tc.in)
			if err == nil {
				t.Fatalf("Split(%q) = %q, want an error saying %q", tc.in, got, tc.says)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Split(%q): %v; want it to say %q", tc.in, err, tc.says)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Split(%q): the error is not one line: %q", tc.in, err)
			}
		})
	}
}

// shellWords returns the words sh -c makes of line: it runs
// printf '%s\0' line in dir and splits the output at the NULs.
func shellWords(t *testing.T, dir, line string) []string {
	t.Helper()
	cmd := exec.Command("sh", "-c", `printf '%s\0' `+line)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v: %s", line, err, stderr.Bytes())
	}
	words := strings.Split(string(out), "\x00")
	return words[:len(words)-1]
}
