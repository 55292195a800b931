package command

import (
	"fmt"
	"io"
)

// DefaultKeep is how many bytes of a trial's output are kept from each end
// when Command.Keep is zero.
const DefaultKeep = 1 << 20

// capture is a bounded output buffer: it keeps the first keep bytes written
// (the head) and the last keep bytes (the tail) and counts what lies between.
// It is written by one goroutine and read only after writing has ended.
type capture struct {
	keep  int
	head  []byte
	tail  []byte // ring of up to keep bytes once the head is full
	next  int    // where the next tail byte goes once tail is full
	total int64  // bytes written in all
}

func newCapture(keep int) *capture {
	if keep <= 0 {
		keep = DefaultKeep
	}
	return &capture{keep: keep}
}

// Write implements io.Writer; it never fails.
func (c *capture) Write(p []byte) (int, error) {
	n := len(p)
	c.total += int64(n)
	if room := c.keep - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	if len(p) >= c.keep {
		// p alone fills the tail: keep its end.
		c.tail = append(c.tail[:0], p[len(p)-c.keep:]...)
		c.next = 0
		return n, nil
	}
	for len(p) > 0 {
		if len(c.tail) < c.keep {
			k := min(c.keep-len(c.tail), len(p))
			c.tail = append(c.tail, p[:k]...)
			p = p[k:]
			continue
		}
		k := copy(c.tail[c.next:], p)
		c.next = (c.next + k) % c.keep
		p = p[k:]
	}
	return n, nil
}

// cut returns how many bytes were dropped between the head and the tail.
func (c *capture) cut() int64 { return c.total - int64(len(c.head)) - int64(len(c.tail)) }

// Bytes returns the kept output: the head, then, when bytes were dropped, a
// line saying how many, then the tail.
func (c *capture) Bytes() []byte {
	b := make([]byte, 0, len(c.head)+len(c.tail)+64)
	b = append(b, c.head...)
	if n := c.cut(); n > 0 {
		b = fmt.Appendf(b, "\n[racestress: %d bytes of output cut here; kept the first and the last %d]\n", n, c.keep)
	}
	b = append(b, c.tail[c.next:]...)
	return append(b, c.tail[:c.next]...)
}

var _ io.Writer = (*capture)(nil)
