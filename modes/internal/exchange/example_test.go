package exchange_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/exchange"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// Two TaskManagers' Servers on loopback: a producer subtask on one sends
// records over a hash edge to the consumer subtask on the other.
func Example() {
	secret, _ := secure.NewSecret() // in a deployment: launch.ContainerCredentials
	start := func() *exchange.Server {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		s, _ := exchange.NewServer(exchange.Config{Secret: secret, Encrypt: true, AdvertiseAddr: ln.Addr().String()})
		go s.Serve(ln)
		return s
	}
	consumerTM, producerTM := start(), start()
	defer consumerTM.Close()
	defer producerTM.Close()
	ctx := context.Background()

	// The consumer subtask (index 0 of 1) opens its input edge 0, fed by
	// producer subtask 0.
	gate, _ := consumerTM.OpenGate(exchange.GateID{Job: "job-1", Attempt: 0, Edge: 0, Consumer: 0}, []int{0})
	defer gate.Close()

	// The producer subtask opens its output edge.
	out, err := producerTM.OpenOutput(ctx, exchange.OutputSpec{
		Job: "job-1", Edge: 0, Producer: 0, Partitioner: jobgraph.PartitionHash,
		Targets: []exchange.Target{{Consumer: 0, Addr: consumerTM.Addr()}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range []string{"to", "be", "or"} {
		out.Emit(ctx, operator.Record{Key: []byte(w), Value: []byte("1")})
	}
	if err := out.Close(ctx); err != nil { // end of stream, acknowledged
		fmt.Println(err)
		return
	}
	for {
		r, err := gate.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s=%s\n", r.Key, r.Value)
	}
	// Output:
	// to=1
	// be=1
	// or=1
}
