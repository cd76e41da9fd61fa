package yarn_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

// The ApplicationMaster loop, as the program YARN started in the AM
// container runs it: read the AMRMToken from the container's token file,
// register, ask for containers, start each on its NodeManager with
// NMClient, wait for them to end, and finish. (A library user rarely
// writes this loop: package yarn/engine keeps asks, launches and failures
// in order. examples/dshell's AM is built on it.)
//
// It needs a cluster and the environment of an AM container, so it is
// compiled, not run; TestAMClientUnmanaged and TestNMClient* run the same
// calls on the test bed.
func ExampleAMClient() {
	ctx := context.Background()
	cfg, err := yarn.LoadConfig("") // the cluster's site XML, shipped with the AM
	if err != nil {
		log.Fatal(err)
	}
	creds, err := yarn.ReadCredentialsFile(os.Getenv(yarn.TokenFileEnv))
	if err != nil {
		log.Fatal(err)
	}
	amrm, err := yarn.AMRMTokenFromCredentials(creds)
	if err != nil {
		log.Fatal(err)
	}
	am, err := yarn.NewAMClient(yarn.AMConfig{ResourceManagers: cfg.ResourceManagers, Token: amrm, RPCProtection: cfg.RPCProtection})
	if err != nil {
		log.Fatal(err)
	}
	defer am.Close()
	nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: am.NMToken, RPCProtection: cfg.RPCProtection})
	if err != nil {
		log.Fatal(err)
	}
	defer nm.Close()

	if _, err := am.Register(ctx, yarn.AMRegistration{}); err != nil {
		log.Fatal(err)
	}
	line, err := yarn.Command{Args: yarn.LiteralArgs("echo", "hello from a worker"), Stdout: yarn.LogFile("stdout")}.Line()
	if err != nil {
		log.Fatal(err)
	}
	const want = 4
	req := yarn.AllocateRequest{Asks: []yarn.ResourceRequest{{
		Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 128, VCores: 1}, NumContainers: want,
	}}}
	started, ended, failed := 0, 0, 0
	for ended < want {
		resp, err := am.Allocate(ctx, req)
		if err != nil {
			log.Fatal(err)
		}
		// The asks are totals: once sent, send them again only to change
		// them, or the RM counts them anew.
		req = yarn.AllocateRequest{Progress: float32(ended) / want}
		for _, c := range resp.Allocated {
			if started == want { // more than asked: give it back
				req.Release = append(req.Release, c.ID)
				continue
			}
			if err := nm.Start(ctx, c, yarn.ContainerLaunchContext{Commands: []string{line}}); err != nil {
				log.Fatal(err)
			}
			started++
		}
		for _, st := range resp.Completed {
			ended++
			if st.ExitStatus != 0 {
				failed++
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	final := yarn.FinalSucceeded
	if failed > 0 {
		final = yarn.FinalFailed
	}
	if err := am.Finish(ctx, yarn.AMUnregistration{FinalStatus: final, Diagnostics: fmt.Sprintf("%d of %d containers failed", failed, want)}); err != nil {
		log.Fatal(err)
	}
}
