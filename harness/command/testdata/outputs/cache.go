package cache

import "sync"

// Cache counts hits under a lock, but Size reads its field without it.
type Cache struct {
	mu   sync.Mutex
	m    map[string]int
	size int
}

func New() *Cache { return &Cache{m: map[string]int{}} }

func (c *Cache) Put(k string, v int) {
	c.mu.Lock()
	c.m[k] = v
	c.size = len(c.m)
	c.mu.Unlock()
}

// Size is the bug: it reads size without the lock.
func (c *Cache) Size() int { return c.size }

func (c *Cache) Report() int { return c.Size() }

func (c *Cache) Full(n int) bool { return c.Size() >= n }

// Wait blocks until ch is closed.
func Wait(ch chan struct{}) { <-ch }
