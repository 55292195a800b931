package report

import (
	"fmt"
	"github.com/racestress/racestress/result"
	"slices"
	"strings"
)

// Dim is one swept dimension of a sweep: a knob's key and its values, in the
// order they first appear.
type Dim struct {
	Key    string
	Values []string
}

// ParseCell splits a sweep cell label "k1=v1 k2=v2" into its key=value
// pairs, in label order. ok is false when a field has no "=", names no key,
// or names a key twice: the label is then not a sweep cell of this form.
func ParseCell(label string) (pairs [][2]string, ok bool) {
	fields := strings.Fields(label)
	if len(fields) == 0 {
		return nil, false
	}
	for _, f := range fields {
		k, v, found := strings.Cut(f, "=")
		if !found || k == "" {
			return nil, false
		}
		for _, p := range pairs {
			if p[0] == k {
				return nil, false
			}
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, true
}

// Sweep is the matrix view of one scenario's sweep: its cells, the swept
// dimensions parsed from their labels, and the group of each registry in
// each cell.
type Sweep struct {
	Scenario string
	// Dims are the swept dimensions in label order. When the labels do not
	// all parse into the same keys, Dims is one dimension "cell" whose
	// values are the labels themselves.
	Dims []Dim
	// Labels are the cells in order of appearance ("" for groups outside
	// the sweep, if any).
	Labels []string
	// Registries are the registries in order of appearance.
	Registries []string

	groups map[[2]string]Group // by registry and cell label
	coords map[string][]string // cell label -> its value of each Dim
}

// Grid reports whether the sweep has exactly two dimensions: it then reads
// as a grid, rows the values of Dims[0], columns the values of Dims[1].
func (s Sweep) Grid() bool { return len(s.Dims) == 2 }

// Group returns the group of registry in the cell labelled label.
func (s Sweep) Group(registry, label string) (Group, bool) {
	g, ok := s.groups[[2]string{registry, label}]
	return g, ok
}

// At returns the group of registry at the cell whose dimensions take the
// given values (one per Dim).
func (s Sweep) At(registry string, values ...string) (Group, bool) {
	for _, label := range s.Labels {
		if slices.Equal(s.coords[label], values) {
			return s.Group(registry, label)
		}
	}
	return Group{}, false
}

// Values returns the value of each Dim at the cell labelled label.
func (s Sweep) Values(label string) []string { return s.coords[label] }

// Sweeps returns the matrix view of every scenario of s that has sweep
// cells, in scenario order; none when the run was no sweep.
func (s Summary) Sweeps() []Sweep {
	var out []Sweep
	for _, sc := range scenarios(s) {
		if sw, ok := sweepOf(groupsOf(s, sc)); ok {
			out = append(out, sw)
		}
	}
	return out
}

// sweepOf returns the sweep of one scenario's groups; ok is false when none
// of them has a cell.
func sweepOf(groups []Group) (Sweep, bool) {
	if !slices.ContainsFunc(groups, func(g Group) bool { return g.Cell != "" }) {
		return Sweep{}, false
	}
	sw := Sweep{Scenario: groups[0].Scenario, groups: map[[2]string]Group{}, coords: map[string][]string{}}
	for _, g := range groups {
		if !slices.Contains(sw.Labels, g.Cell) {
			sw.Labels = append(sw.Labels, g.Cell)
		}
		if !slices.Contains(sw.Registries, g.Registry) {
			sw.Registries = append(sw.Registries, g.Registry)
		}
		sw.groups[[2]string{g.Registry, g.Cell}] = g
	}
	// Parse the labels; they must all name the same keys in the same order.
	var keys []string
	parsed := true
	for i, label := range sw.Labels {
		pairs, ok := ParseCell(label)
		if !ok {
			parsed = false
			break
		}
		var ks, vs []string
		for _, p := range pairs {
			ks, vs = append(ks, p[0]), append(vs, p[1])
		}
		if i == 0 {
			keys = ks
		} else if !slices.Equal(keys, ks) {
			parsed = false
			break
		}
		sw.coords[label] = vs
	}
	if !parsed {
		sw.Dims = []Dim{{Key: "cell", Values: slices.Clone(sw.Labels)}}
		for _, label := range sw.Labels {
			sw.coords[label] = []string{label}
		}
		return sw, true
	}
	for i, k := range keys {
		d := Dim{Key: k}
		for _, label := range sw.Labels {
			if v := sw.coords[label][i]; !slices.Contains(d.Values, v) {
				d.Values = append(d.Values, v)
			}
		}
		sw.Dims = append(sw.Dims, d)
	}
	return sw, true
}

// dimsLine describes the swept dimensions, e.g. "gogc=1,10 × procs=1,2 (4
// cells)".
func (s Sweep) dimsLine() string {
	var parts []string
	for _, d := range s.Dims {
		parts = append(parts, d.Key+"="+strings.Join(d.Values, ","))
	}
	return fmt.Sprintf("%s (%d cells)", strings.Join(parts, " × "), len(s.Labels))
}

// swept reports whether key is one of the sweep's dimensions.
func (s Sweep) swept(key string) bool {
	return slices.ContainsFunc(s.Dims, func(d Dim) bool { return d.Key == key })
}

// matrixCaption explains what a matrix cell holds.
func matrixCaption(clean bool) string {
	noun := "detection rate"
	if clean {
		noun = "failure rate"
	}
	return noun + " [95% CI], ttff median (KM) per cell"
}

// matrixCell is what a matrix shows for one group: its rate with the 95%
// interval and the Kaplan–Meier median time to first failure.
func matrixCell(g Group, ok bool) string {
	if !ok || g.Runs == 0 {
		return "-"
	}
	return fmt.Sprintf("%s %s, ttff %s", pct(g.Rate()), interval(g.DetectionCI()), kmCell(0.5)(g))
}

// matrixTable is one matrix of a sweep as a title, a header and rows:
//
//   - for a grid (two dimensions), one matrix per registry, rows the values
//     of the first key, columns the values of the second;
//   - otherwise one matrix for all registries, a row per cell, a column per
//     registry.
type matrixTable struct {
	Title  string
	Header []string
	Rows   [][]string
	// Entries hold the data cells of Rows (all but the first column) as
	// parts, for the HTML heat map.
	Entries [][]matrixEntry
}

// matrixEntry is one data cell of a matrix.
type matrixEntry struct {
	OK             bool    // the cell ran
	Rate           float64 // its rate
	RateText, CI   string
	TTFF, Detected string
}

func entryOf(g Group, ok bool) matrixEntry {
	if !ok || g.Runs == 0 {
		return matrixEntry{}
	}
	return matrixEntry{OK: true, Rate: g.Rate(), RateText: pct(g.Rate()), CI: interval(g.DetectionCI()),
		TTFF: kmCell(0.5)(g), Detected: fmt.Sprintf("%d/%d", g.Detected, g.Runs)}
}

func (s Sweep) tables() []matrixTable {
	var out []matrixTable
	if s.Grid() {
		rowDim, colDim := s.Dims[0], s.Dims[1]
		for _, reg := range s.Registries {
			clean := s.clean(reg)
			t := matrixTable{Title: fmt.Sprintf("%s: %s", roleName(reg, s.role(reg)), matrixCaption(clean))}
			t.Header = []string{rowDim.Key + " \\ " + colDim.Key}
			for _, cv := range colDim.Values {
				t.Header = append(t.Header, colDim.Key+"="+cv)
			}
			for _, rv := range rowDim.Values {
				row, entries := []string{rowDim.Key + "=" + rv}, []matrixEntry{}
				for _, cv := range colDim.Values {
					g, ok := s.At(reg, rv, cv)
					row, entries = append(row, matrixCell(g, ok)), append(entries, entryOf(g, ok))
				}
				t.Rows, t.Entries = append(t.Rows, row), append(t.Entries, entries)
			}
			out = append(out, t)
		}
		return out
	}
	allClean, anyClean := true, false
	for _, reg := range s.Registries {
		allClean = allClean && s.clean(reg)
		anyClean = anyClean || s.clean(reg)
	}
	caption := "detection (controls) or failure (clean) rate [95% CI], ttff median (KM) per cell"
	if allClean || !anyClean {
		caption = matrixCaption(allClean)
	}
	t := matrixTable{Title: caption, Header: []string{"cell"}}
	if len(s.Dims) == 1 {
		t.Header[0] = s.Dims[0].Key
	}
	for _, reg := range s.Registries {
		t.Header = append(t.Header, roleName(reg, s.role(reg)))
	}
	for _, label := range s.Labels {
		name := label
		if label == "" {
			name = "(no cell)"
		}
		row, entries := []string{name}, []matrixEntry{}
		for _, reg := range s.Registries {
			g, ok := s.Group(reg, label)
			row, entries = append(row, matrixCell(g, ok)), append(entries, entryOf(g, ok))
		}
		t.Rows, t.Entries = append(t.Rows, row), append(t.Entries, entries)
	}
	return append(out, t)
}

// clean reports whether registry is graded clean in the sweep (in its first
// cell that has it).
func (s Sweep) clean(registry string) bool { return s.role(registry) == result.Clean }

// role returns registry's role in the sweep (in its first cell that has it).
func (s Sweep) role(registry string) result.Role {
	for _, label := range s.Labels {
		if g, ok := s.Group(registry, label); ok {
			return g.Role
		}
	}
	return result.Control
}
