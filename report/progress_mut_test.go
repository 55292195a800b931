package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProgressBeforeTheFirstTrial(t *testing.T) {
	clock := newFakeClock()
	p := NewProgress(&bytes.Buffer{}, 4, false, clock.now)
	clock.advance(3 * time.Second)
	assert.Equal(t, "racestress: 0/4 trials | elapsed 3s", p.Line(), "no ETA from nothing")
}

func TestProgressSumsOnlyTheRolesThatRan(t *testing.T) {
	clock := newFakeClock()
	clean := NewProgress(&bytes.Buffer{}, 40, true, clock.now)
	controls := NewProgress(&bytes.Buffer{}, 40, true, clock.now)
	for _, r := range []string{"fixed", "retry", "weakcache-compare-and-delete"} {
		clean.Add(cleanRecord(r))
		controls.Add(detectedRecord("un" + r))
	}
	clean.SetWidth(40)
	controls.SetWidth(40)
	assert.Equal(t, "3/40 trials | forbidden 0/3 | ETA 0s", clean.Line())
	assert.Equal(t, "3/40 trials | detected 3/3 | ETA 0s", controls.Line())
}

func TestProgressCutsAtTheVeryEnd(t *testing.T) {
	p := NewProgress(&bytes.Buffer{}, 40, true, newFakeClock().now)
	p.Add(detectedRecord("unfixed"))
	for width, want := range map[int]string{4: "1/4", 5: "1...", 6: "1/...", 2: "1"} {
		p.SetWidth(width)
		assert.Equal(t, want, p.Line(), "%d columns", width)
	}
}

func TestProgressAboveAfterDone(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, 1, true, newFakeClock().now)
	p.Add(detectedRecord("unfixed"))
	p.Done()
	out.Reset()
	p.Above("late news")
	p.Above("")
	assert.Equal(t, "late news\n", out.String(), "the text alone: the status line is finished")
}

func TestProgressLineExactlyAsWideAsAllowed(t *testing.T) {
	clock := newFakeClock()
	p := NewProgress(&bytes.Buffer{}, 40, true, clock.now)
	p.Add(detectedRecord("unfixed"))
	p.Add(cleanRecord("fixed"))
	p.Add(cleanRecord("retry"))
	p.SetWidth(len("3/40 | det 1/1 | fail 0/2") + 1)
	assert.Equal(t, "3/40 | det 1/1 | fail 0/2", p.Line(), "a line that just fits is not cut")
}

func TestRoundDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "0s",
		2740 * time.Millisecond:  "2.7s",
		9940 * time.Millisecond:  "9.9s",
		10 * time.Second:         "10s",
		12600 * time.Millisecond: "13s",
		148 * time.Second:        "2m28s",
	} {
		assert.Equal(t, want, roundDuration(d), "%v", d)
	}
}
