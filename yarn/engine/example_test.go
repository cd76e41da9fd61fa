package engine_test

import (
	"context"
	"errors"
	"log"
	"os"

	"github.com/spindle-yarn/spindle/yarn"
	"github.com/spindle-yarn/spindle/yarn/engine"
)

// An ApplicationMaster that keeps eight workers of 1 GB running, replacing
// any that fail, until the budget of failures is used up or it is told to
// stop, then unregisters with the outcome.
func Example() {
	ctx := context.Background()
	creds, err := yarn.ReadCredentialsFile(os.Getenv("HADOOP_TOKEN_FILE_LOCATION"))
	if err != nil {
		log.Fatal(err)
	}
	token, err := yarn.AMRMTokenFromCredentials(creds)
	if err != nil {
		log.Fatal(err)
	}
	rms := []yarn.RMAddress{{ID: "rm1", Scheduler: "rm.example.com:8030"}}
	am, err := yarn.NewAMClient(yarn.AMConfig{ResourceManagers: rms, Token: token})
	if err != nil {
		log.Fatal(err)
	}
	defer am.Close()
	nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: am.NMToken})
	if err != nil {
		log.Fatal(err)
	}
	defer nm.Close()
	reg, err := am.Register(ctx, yarn.AMRegistration{Host: "am.example.com"})
	if err != nil {
		log.Fatal(err)
	}

	e, err := engine.New(engine.Config{
		AM: am, NM: nm,
		Profiles: []engine.Profile{{
			Name: "worker", Resource: yarn.Resource{MemoryMB: 1024, VCores: 1}, Priority: 1, Target: 8,
		}},
		LaunchContext: func(ctx context.Context, c yarn.Container, profile string) (yarn.ContainerLaunchContext, error) {
			return yarn.ContainerLaunchContext{Commands: []string{"./worker", "1><LOG_DIR>/stdout", "2><LOG_DIR>/stderr"}}, nil
		},
		MaxFailures: 5,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Workers surviving an earlier attempt count toward the target.
	e.Adopt(reg.ContainersFromPreviousAttempts)

	err = e.Run(ctx, engine.Callbacks{
		OnCompleted: func(c engine.Completion) {
			log.Printf("%s of %s ended: %s", c.Container.ID, c.Profile, c.Cause)
		},
	})
	final := yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded}
	if errors.Is(err, engine.ErrBudgetExhausted) {
		final = yarn.AMUnregistration{FinalStatus: yarn.FinalFailed, Diagnostics: err.Error()}
	}
	if err := am.Finish(ctx, final); err != nil {
		log.Fatal(err)
	}
}
