package exchange

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// BenchmarkExchangeHash runs a hash edge of 4 producers and 4 consumers
// split over two Servers on loopback (producers on one, consumers on the
// other: every channel crosses TCP), with 100-byte records (16-byte key,
// 84-byte value), with and without encryption. b.N is the number of
// records; MB/s counts key and value bytes.
func BenchmarkExchangeHash(b *testing.B) {
	for _, encrypt := range []bool{false, true} {
		b.Run(fmt.Sprintf("encrypt=%v", encrypt), func(b *testing.B) {
			secret := testSecret(b)
			cfg := Config{Secret: secret, Encrypt: encrypt}
			prodSrv, consSrv := startServer(b, cfg), startServer(b, cfg)
			const par = 4
			ctx := context.Background()
			job := fmt.Sprintf("bench-%d", b.N)
			all := []int{0, 1, 2, 3}
			var targets []Target
			gates := make([]*Gate, par)
			for j := range par {
				g, err := consSrv.OpenGate(GateID{Job: job, Consumer: j}, all)
				if err != nil {
					b.Fatal(err)
				}
				gates[j] = g
				targets = append(targets, Target{Consumer: j, Addr: consSrv.Addr()})
			}
			outs := make([]*Output, par)
			for i := range par {
				o, err := prodSrv.OpenOutput(ctx, OutputSpec{Job: job, Producer: i, Partitioner: jobgraph.PartitionHash, Targets: targets})
				if err != nil {
					b.Fatal(err)
				}
				outs[i] = o
			}
			b.SetBytes(100)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			counts := make([]int, par)
			for j, g := range gates {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						_, err := g.Next(ctx)
						if err == io.EOF {
							return
						}
						if err != nil {
							b.Error(err)
							return
						}
						counts[j]++
					}
				}()
			}
			for i, o := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := make([]byte, 16)
					val := make([]byte, 84)
					for k := i; k < b.N; k += par {
						binary.BigEndian.PutUint64(key, uint64(k))
						if err := o.Emit(ctx, operator.Record{Key: key, Value: val}); err != nil {
							b.Error(err)
							return
						}
					}
					if err := o.Close(ctx); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			n := 0
			for _, c := range counts {
				n += c
			}
			if n != b.N {
				b.Fatalf("received %d records, sent %d", n, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			for _, g := range gates {
				g.Close()
			}
		})
	}
}
