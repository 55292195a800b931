package cache

import (
	"fmt"
	"os"
	"testing"
	"time"
)

func fill(c *Cache, done chan struct{}) {
	for i := range 100 {
		c.Put(fmt.Sprint(i), i)
	}
	close(done)
}

func TestReport(t *testing.T) {
	c := New()
	done := make(chan struct{})
	go fill(c, done)
	for range 100 {
		_ = c.Report()
	}
	<-done
}

func TestFull(t *testing.T) {
	c := New()
	done := make(chan struct{})
	go fill(c, done)
	for range 100 {
		_ = c.Full(50)
	}
	<-done
}

func TestLeak(t *testing.T) {
	c := New()
	go func() {
		for range 1000 {
			_ = c.Size()
			time.Sleep(time.Millisecond)
		}
	}()
	go func() {
		time.Sleep(5 * time.Millisecond)
		for i := range 100 {
			c.Put(fmt.Sprint(i), i)
		}
	}()
}

func TestAfter(t *testing.T) { time.Sleep(200 * time.Millisecond) }

func TestSum(t *testing.T) {
	if os.Getenv("FAIL") != "" {
		t.Errorf("sum = %d, want 2000", 1999)
	}
}

func TestHang(t *testing.T) {
	Wait(make(chan struct{}))
}
