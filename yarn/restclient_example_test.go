package yarn_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

// A RESTClient takes the same Config as an RMClient, and the same
// ApplicationSubmission: the ResourceManagers' Web addresses are used, the
// active one found among them.
func ExampleRESTClient() {
	cfg := yarn.Config{
		ResourceManagers: []yarn.RMAddress{
			{ID: "rm1", Web: "http://rm1.example.com:8088"},
			{ID: "rm2", Web: "http://rm2.example.com:8088"},
		},
		User:            "alice", // simple authentication: ?user.name=alice
		FailoverTimeout: 30 * time.Second,
	}
	rm, err := yarn.NewRESTClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer rm.Close()

	ctx := context.Background()
	id, _, err := rm.NewApplication(ctx)
	if err != nil {
		log.Fatal(err)
	}
	err = rm.Submit(ctx, &yarn.ApplicationSubmission{
		ID:         id,
		Name:       "hello",
		AMResource: yarn.Resource{MemoryMB: 256, VCores: 1},
		AM:         yarn.ContainerLaunchContext{Commands: []string{"echo hello 1><LOG_DIR>/stdout"}},
	})
	if errors.Is(err, yarn.ErrNoActiveResourceManager) {
		log.Fatalf("no RM is active (on %s): %v", rm.CurrentRM(), err)
	}
	if err != nil {
		log.Fatal(err)
	}
	r, err := rm.WaitForState(ctx, id, time.Second, func(r yarn.ApplicationReport) bool { return r.State.IsFinal() })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.State, r.FinalStatus)
}
