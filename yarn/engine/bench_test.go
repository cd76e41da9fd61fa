package engine

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkEngine10000 puts 10,000 containers through the engine against
// the scripted RM, which allocates 500 per heartbeat (as NodeManager
// heartbeats would between two AM heartbeats), and reports the time per
// allocate round trip (the engine's work plus the fake's channel hand-off),
// the heartbeats needed, the time until all are started (by a fake
// NodeManager that starts at once), and the heap the engine holds with 10,000
// containers running.
func BenchmarkEngine10000(b *testing.B) {
	const n, perBeat = 10000, 500
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		h := newHarness(b, Config{Profiles: []Profile{small("w", n)}, MaxConcurrentStarts: 64}, "h1", "h2", "h3", "h4")
		start := time.Now()
		beats := 0
		for h.e.Status().Allocated < n {
			h.mustBeat(func() { h.rm.schedule(perBeat) })
			beats++
		}
		elapsed := time.Since(start)
		deadline := time.Now().Add(time.Minute)
		for h.profile("w").Running < n {
			if time.Now().After(deadline) {
				b.Fatalf("not all running after a minute: %+v", h.e.Status())
			}
			h.mustBeat(nil)
		}
		toRunning := time.Since(start)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if s := h.e.Status(); s.Allocated != n || s.Excess != 0 {
			b.Fatalf("status %+v", s)
		}
		b.ReportMetric(float64(elapsed.Microseconds())/float64(beats), "µs/allocate")
		b.ReportMetric(float64(beats), "heartbeats")
		b.ReportMetric(toRunning.Seconds()*1000, "ms-to-all-running")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-held")
		h.stop()
	}
}

// BenchmarkHeartbeat1000Outstanding: the cost of one heartbeat while 1,000
// containers are asked for and none arrives (the engine's work plus the
// fake's channel hand-off).
func BenchmarkHeartbeat1000Outstanding(b *testing.B) {
	h := newHarness(b, Config{Profiles: []Profile{small("w", 1000)}})
	h.mustBeat(nil)
	b.ResetTimer()
	for range b.N {
		h.mustBeat(nil)
	}
}
