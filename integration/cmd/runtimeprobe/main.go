// Command runtimeprobe is a Spindle program for the integration tests of
// the runtime (TestRuntime* in integration/): a generator of numbered
// records, slowed down on purpose so that a test can act while the job
// runs (kill a TaskManager's container, read the tracking page), feeding
// a summer across a hash edge. Its counters prove the result:
// probe.records is the number of records summed and probe.sum their sum,
// n(n-1)/2 for -records n.
//
//	runtimeprobe run -t yarn-application|yarn-per-job -records N [-delay-ms D] [-stall-ms S] [run flags]
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"strconv"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes"
	"github.com/spindle-yarn/spindle/modes/operator"
)

func init() {
	// gen emits the numbers i ≡ index (mod parallelism) below "records",
	// keyed by i mod 97, sleeping "delay-ms" after every 1,000.
	operator.Register("probe.gen", func(ctx context.Context, t *operator.Task) error {
		n, _ := strconv.Atoi(t.Config["records"])
		delay, _ := strconv.Atoi(t.Config["delay-ms"])
		emitted := 0
		for i := t.Index; i < n; i += t.Parallelism {
			v := binary.BigEndian.AppendUint64(nil, uint64(i))
			if err := t.Emit(ctx, operator.Record{Key: []byte(strconv.Itoa(i % 97)), Value: v}); err != nil {
				return err
			}
			if emitted++; emitted%1000 == 0 && delay > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(delay) * time.Millisecond):
				}
			}
		}
		return nil
	})
	operator.Register("probe.sum", func(ctx context.Context, t *operator.Task) error {
		// "stall-ms" holds the summer back before it reads, so that its
		// producers fill every buffer between them and block.
		if stall, _ := strconv.Atoi(t.Config["stall-ms"]); stall > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(stall) * time.Millisecond):
			}
		}
		var n, sum int64
		if err := t.ForEach(ctx, func(r operator.Record) error {
			n++
			sum += int64(binary.BigEndian.Uint64(r.Value))
			return nil
		}); err != nil {
			return err
		}
		t.Counters().Add("probe.records", n)
		t.Counters().Add("probe.sum", sum)
		return nil
	})
}

func main() {
	var records, delayMS, stallMS int
	modes.Main(modes.Program{
		Name: "runtimeprobe",
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(&records, "records", 100000, "records to generate")
			fs.IntVar(&delayMS, "delay-ms", 0, "sleep after every 1,000 records of a subtask")
			fs.IntVar(&stallMS, "stall-ms", 0, "the summers wait this long before reading")
		},
		Main: func(ctx context.Context, env *modes.Env) error {
			g := &jobgraph.JobGraph{
				Name:    "runtimeprobe",
				Restart: jobgraph.FixedDelay(3, 500*time.Millisecond),
				Config: map[string]string{"records": strconv.Itoa(records), "delay-ms": strconv.Itoa(delayMS),
					"stall-ms": strconv.Itoa(stallMS)},
				Vertices: []jobgraph.Vertex{
					{ID: "gen", Operator: "probe.gen"},
					{ID: "sum", Operator: "probe.sum"},
				},
				Edges: []jobgraph.Edge{{Source: "gen", Target: "sum", Partitioner: jobgraph.PartitionHash}},
			}
			_, err := env.Execute(ctx, g)
			return err
		},
	})
}
