package hdfs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestForEach(t *testing.T) {
	var running, peak atomic.Int32
	err := forEach(context.Background(), 20, 3, func(ctx context.Context, i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	if err != nil || peak.Load() > 3 {
		t.Fatalf("err %v, peak concurrency %d (limit 3)", err, peak.Load())
	}
	boom := errors.New("boom")
	var started atomic.Int32
	err = forEach(context.Background(), 100, 2, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 1 {
			return boom
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, boom) || started.Load() > 4 {
		t.Errorf("err %v after %d started, want boom soon", err, started.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := forEach(ctx, 5, 2, func(context.Context, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err %v", err)
	}
}
