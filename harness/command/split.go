package command

import (
	"fmt"
	"slices"
	"strings"
)

// Split splits a command line into words as a POSIX shell (sh -c) would,
// without running a shell: words are separated by blanks (spaces and
// tabs); 'single quotes' keep everything up to the next ' literally;
// "double quotes" keep everything but a backslash before $ ` " \ or a
// newline; outside quotes a backslash keeps the next character literally,
// and a backslash before a newline joins the lines.
//
// Nothing is expanded. Where a shell would expand or interpret part of
// line, Split refuses it, saying what the shell would do, rather than take
// it literally: the shell's operators | & ; < > ( ) and a newline outside
// quotes; a parameter expansion ($NAME, $1, $?, ${...}) or a command
// substitution ($(...), `...`) outside single quotes; a pathname pattern
// (an unquoted *, ? or [...]); a tilde at the start of a word; a # starting
// a word (a comment); a leading NAME=value (an assignment); a reserved
// word (if, !, {, ...) as the program; an unquoted {a,b} (which bash, not
// POSIX sh, expands); $'...' and $"..." (which some shells read as quotes
// of their own); and an unterminated quote. A $ that no shell expands, one
// at the end of a word or followed by another character ("^TestX$",
// "a$.b"), is literal, as it is to the shell.
func Split(line string) ([]string, error) {
	refuse := func(what string) error {
		return fmt.Errorf("%q: %s, and racestress runs no shell: quote it, or wrap the command in sh -c '...'", line, what)
	}
	var (
		words []string
		cur   []char
		in    bool // within a word
		// lead is whether the word began with a quote or a backslash:
		// then it is no tilde prefix, assignment or reserved word.
		lead bool
	)
	start := func(quoted bool) {
		if !in {
			in, lead = true, quoted
		}
	}
	end := func() error {
		if !in {
			return nil
		}
		if err := checkWord(cur, lead, len(words) == 0); err != "" {
			return refuse(err)
		}
		var b strings.Builder
		for _, c := range cur {
			b.WriteRune(c.r)
		}
		words = append(words, b.String())
		cur, in = cur[:0], false
		return nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t':
			if err := end(); err != nil {
				return nil, err
			}
		case r == '\n':
			return nil, refuse("a newline would end the command and start another")
		case r == '#' && !in:
			return nil, refuse("# would start a comment: the shell would ignore the rest of the line")
		case r == '\'':
			start(true)
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				cur = append(cur, char{rs[j], true})
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated ' in %q: a shell would wait for the closing quote", line)
			}
			i = j
		case r == '"':
			start(true)
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				switch {
				case rs[j] == '\\' && j+1 < len(rs) && rs[j+1] == '\n':
					j++ // a line continuation, removed
				case rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("$`\"\\", rs[j+1]):
					j++
					cur = append(cur, char{rs[j], true})
				case rs[j] == '`':
					return nil, refuse("`...` inside double quotes would be replaced by a command's output")
				case rs[j] == '$':
					if what := dollar(rs[j+1:], true); what != "" {
						return nil, refuse(what + " inside double quotes")
					}
					cur = append(cur, char{'$', true})
				default:
					cur = append(cur, char{rs[j], true})
				}
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated \" in %q: a shell would wait for the closing quote", line)
			}
			i = j
		case r == '\\':
			if i+1 == len(rs) {
				return nil, fmt.Errorf("%q ends with a lone backslash: a shell would wait for the line it continues", line)
			}
			i++
			if rs[i] != '\n' {
				start(true)
				cur = append(cur, char{rs[i], true})
			}
		case r == '`':
			return nil, refuse("`...` would be replaced by a command's output")
		case r == '$':
			if what := dollar(rs[i+1:], false); what != "" {
				return nil, refuse(what)
			}
			start(false)
			cur = append(cur, char{r, false})
		case strings.ContainsRune(shellOperators, r):
			return nil, refuse(operatorDoc[r])
		default:
			start(false)
			cur = append(cur, char{r, false})
		}
	}
	if err := end(); err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return words, nil
}

// char is a character of a word and whether it was quoted (or escaped).
type char struct {
	r      rune
	quoted bool
}

// shellOperators are the characters that end a word and start an
// operator in a shell.
const shellOperators = "|&;<>()"

var operatorDoc = map[rune]string{
	'|': "| would pipe the command's output into another command",
	'&': "& would run the command in the background (or start an && list)",
	';': "; would end the command and start another",
	'<': "< would redirect the command's input",
	'>': "> would redirect the command's output",
	'(': "( would start a subshell",
	')': ") would end a subshell",
}

// dollar says what a shell would make of a $ followed by rest, or ""
// when it keeps the $ literally. inDouble is whether the $ is inside
// double quotes, where $' and $" mean nothing.
func dollar(rest []rune, inDouble bool) string {
	if len(rest) == 0 {
		return ""
	}
	switch c := rest[0]; {
	case c == '(':
		return "$(...) would be replaced by a command's output (or $((...)) by arithmetic)"
	case c == '{':
		return "${...} would be replaced by a parameter's value"
	case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		n := 1
		for n < len(rest) && isNameChar(rest[n]) {
			n++
		}
		return "$" + string(rest[:n]) + " would be replaced by the variable's value"
	case '0' <= c && c <= '9':
		return "$" + string(c) + " would be replaced by a positional parameter"
	case strings.ContainsRune("@*#?-$!", c):
		return "$" + string(c) + " would be replaced by a special parameter's value"
	case !inDouble && c == '\'':
		return "$'...' would be read as C-style quoting by bash and other shells"
	case !inDouble && c == '"':
		return "$\"...\" would be translated by bash's locale quoting"
	}
	return ""
}

func isNameChar(c rune) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// reservedWords are the POSIX shell's reserved words, which it reads as
// the start of a compound command where a program is named.
var reservedWords = []string{"!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then", "until", "while", "[[", "]]", "function", "select"}

// checkWord says what a shell would make of word, or "" when it takes it
// literally: a pathname pattern, bash's brace expansion, a tilde prefix
// (at the start, or after the = or a : of a word that looks like an
// assignment, where bash expands it too), and, in the command's first word
// (first), an assignment or a reserved word. lead is whether the word
// began with a quote or a backslash.
func checkWord(word []char, lead, first bool) string {
	var b strings.Builder
	for _, c := range word {
		b.WriteRune(c.r)
	}
	s := b.String()
	for i, c := range word {
		if c.quoted {
			continue
		}
		switch c.r {
		case '*', '?':
			return s + " would be replaced by the names of the files it matches, if any"
		case '[':
			if closes(word[i+1:]) {
				return s + " would be replaced by the names of the files it matches, if any"
			}
		case '{':
			if braces(word[i+1:]) {
				return s + " would be expanded into several words by bash"
			}
		}
	}
	if lead {
		return ""
	}
	if word[0].r == '~' {
		return s + ": a leading ~ would be replaced by a home directory"
	}
	name := 0
	for name < len(word) && !word[name].quoted && isNameChar(word[name].r) && !('0' <= word[0].r && word[0].r <= '9') {
		name++
	}
	assignment := name > 0 && name < len(word) && word[name].r == '=' && !word[name].quoted
	if assignment {
		if first {
			return s + " would set an environment variable, not name the program: use --env"
		}
		for i := name + 1; i < len(word); i++ {
			if word[i].r == '~' && !word[i].quoted && (word[i-1].r == '=' || word[i-1].r == ':') && !word[i-1].quoted {
				return s + ": bash would replace a ~ after = or : with a home directory"
			}
		}
	}
	if first && !slices.ContainsFunc(word, func(c char) bool { return c.quoted }) && slices.Contains(reservedWords, s) {
		return s + " is a reserved word: the shell would read a compound command"
	}
	return ""
}

// closes reports whether a bracket expression opened by an unquoted [
// before rest is closed: a ] follows, not as the list's first character.
// A quote inside counts as closing (a shell may match it): Split refuses
// rather than guess.
func closes(rest []char) bool {
	i := 0
	if i < len(rest) && !rest[i].quoted && (rest[i].r == '!' || rest[i].r == '^') {
		i++
	}
	if i < len(rest) && rest[i].r == ']' {
		i++
	}
	for ; i < len(rest); i++ {
		if rest[i].r == ']' || rest[i].quoted {
			return true
		}
	}
	return false
}

// braces reports whether an unquoted { before rest starts a brace
// expansion bash would do: an unquoted , or .. before an unquoted }.
func braces(rest []char) bool {
	sep := false
	for i, c := range rest {
		switch {
		case c.quoted:
		case c.r == ',' || c.r == '.' && i+1 < len(rest) && rest[i+1].r == '.' && !rest[i+1].quoted:
			sep = true
		case c.r == '}':
			return sep
		}
	}
	return false
}
