package exchange

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
)

// TestStalledConsumerBackpressure stalls a consumer (its gate is never
// read) under two remote producers and one local one, and checks that the
// producers block, that the consumer's Server buffers no more than the
// stated bound, and that everything arrives once the consumer reads.
func TestStalledConsumerBackpressure(t *testing.T) {
	for _, encrypt := range []bool{false, true} {
		name := "plain"
		if encrypt {
			name = "encrypted"
		}
		t.Run(name, func(t *testing.T) {
			checkNoLeaks(t)
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			const (
				bufBytes  = 4 << 10
				credits   = 2
				producers = 3
				recLen    = 1 << 10
				// Each producer would send 64 MiB if nothing held it
				// back.
				perProducer = 64 << 20 / recLen
			)
			cfg := Config{Secret: testSecret(t), Encrypt: encrypt, BufferBytes: bufBytes, Credits: credits, FlushInterval: 10 * time.Millisecond}
			cons, prod := pair(t, true, cfg)
			g, err := cons.OpenGate(GateID{Job: "j"}, []int{0, 1, 2})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			var emitted atomic.Int64
			done := make(chan error, producers)
			for p := range producers {
				srv := prod
				if p == 2 {
					srv = cons // a local producer
				}
				o, err := srv.OpenOutput(ctx, OutputSpec{Job: "j", Producer: p, Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					v := strings.Repeat("v", recLen-8)
					for range perProducer {
						if err := o.Emit(ctx, rec("key-0000", v)); err != nil {
							o.Abort(err)
							done <- err
							return
						}
						emitted.Add(recLen)
					}
					done <- o.Close(ctx)
				}()
			}
			// Wait until the producers stop making progress: blocked.
			var last int64 = -1
			stableSince := time.Now()
			for {
				cur := emitted.Load()
				if cur != last {
					last, stableSince = cur, time.Now()
				} else if time.Since(stableSince) > time.Second {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("producers never blocked; emitted %d bytes", cur)
				}
				time.Sleep(20 * time.Millisecond)
			}
			select {
			case err := <-done:
				t.Fatalf("a producer finished (%v) while its consumer stalled", err)
			default:
			}
			// The bound the package doc states: the queue's credits plus
			// one batch held by each channel's reader (record framing
			// adds a few bytes to a batch).
			bound := int64((credits + producers) * (bufBytes + recLen + 16))
			buffered := cons.BufferedBytes()
			t.Logf("producers blocked after %d KiB emitted; consumer's Server buffers %d bytes (bound %d)", last>>10, buffered, bound)
			if buffered > bound {
				t.Errorf("the stalled consumer's Server buffers %d bytes, more than the bound %d", buffered, bound)
			}
			if buffered == 0 {
				t.Errorf("nothing buffered: the producers did not reach the consumer")
			}
			// Whatever the rest (kernel socket buffers on both ends) holds,
			// it is far below what the producers tried to send.
			if total := int64(producers * perProducer * recLen); last > total/4 {
				t.Errorf("producers emitted %d of %d bytes with a stalled consumer", last, total)
			}
			// The live heap (both Servers, producers included) stays put
			// while the producers keep trying, and small next to what
			// they tried to send.
			heap := func() uint64 {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				return ms.HeapAlloc
			}
			h0 := heap()
			time.Sleep(time.Second)
			h1 := heap()
			t.Logf("live heap while stalled: %d KiB, then %d KiB a second later", h0>>10, h1>>10)
			if h1 > h0+1<<20 {
				t.Errorf("live heap grew from %d to %d bytes while the consumer stalled", h0, h1)
			}
			if h1 > 32<<20 {
				t.Errorf("live heap %d bytes while the consumer stalled, want under 32 MiB", h1)
			}
			// Unstall: every record arrives and the producers finish.
			var n int
			for {
				_, err := g.Next(ctx)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != producers*perProducer {
				t.Errorf("read %d records, want %d", n, producers*perProducer)
			}
			for range producers {
				if err := <-done; err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
				}
			}
			if bb := cons.BufferedBytes(); bb != 0 {
				t.Errorf("BufferedBytes %d after everything was read, want 0", bb)
			}
		})
	}
}
