package cache

import (
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("EARLY") != "" {
		c := New()
		go c.Put("a", 1)
		go c.Report()
		time.Sleep(10 * time.Millisecond)
	}
	os.Exit(m.Run())
}
