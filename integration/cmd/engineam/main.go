// Command engineam is an ApplicationMaster on yarn/engine for the
// integration tests (TestEngineAttemptAdoption): it keeps
// $ENGINEAM_CONTAINERS containers of `sleep 600` running. In its first
// attempt, once they all run, it writes its process id to
// $ENGINEAM_PID_FILE and heartbeats until the test ends it: SIGUSR1 makes
// it exit with status 3 without unregistering, which YARN takes for a
// crash (TestEngineAttemptAdoption); SIGKILL is a crash it cannot see
// (TestEngineAttemptAdoptionAfterKill). The test first waits until the
// RM holds every container RUNNING (its log says so): the RM keeps only
// those across a failed attempt and kills the ones a NodeManager has not
// yet reported running. A later attempt adopts the containers that survived,
// heartbeats for two seconds, and unregisters with a summary the test
// reads from the application's diagnostics:
//
//	attempt 2: adopted 8, allocated 0, running 8; adopted container_..., ...
//
// With ENGINEAM_ADOPT_CALLBACK=1 every attempt decides adoption through
// Config.Adopt, and the summary counts its calls ("adopt calls 8").
//
// It reads the cluster's configuration from $ENGINEAM_CONF_DIR.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
	"github.com/spindle-yarn/spindle/yarn/engine"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("engineam failed", "err", err)
		os.Exit(2)
	}
}

func run(log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n, err := strconv.Atoi(os.Getenv("ENGINEAM_CONTAINERS"))
	if err != nil {
		return fmt.Errorf("ENGINEAM_CONTAINERS: %w", err)
	}
	cfg, err := yarn.LoadConfig(os.Getenv("ENGINEAM_CONF_DIR"))
	if err != nil {
		return err
	}
	creds, err := yarn.ReadCredentialsFile(os.Getenv("HADOOP_TOKEN_FILE_LOCATION"))
	if err != nil {
		return err
	}
	token, err := yarn.AMRMTokenFromCredentials(creds)
	if err != nil {
		return err
	}
	self, err := yarn.ParseContainerID(os.Getenv("CONTAINER_ID"))
	if err != nil {
		return err
	}
	attempt := self.Attempt.Attempt
	am, err := yarn.NewAMClient(yarn.AMConfig{ResourceManagers: cfg.ResourceManagers, Token: token,
		RPCProtection: cfg.RPCProtection, Logger: log})
	if err != nil {
		return err
	}
	defer am.Close()
	nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: am.NMToken, RPCProtection: cfg.RPCProtection, Logger: log})
	if err != nil {
		return err
	}
	defer nm.Close()
	reg, err := am.Register(ctx, yarn.AMRegistration{Host: os.Getenv("NM_HOST")})
	if err != nil {
		return err
	}
	pidFile := os.Getenv("ENGINEAM_PID_FILE")
	if attempt == 1 && pidFile == "" {
		return errors.New("ENGINEAM_PID_FILE is not set: the first attempt hands its process id to the test there")
	}
	callback := os.Getenv("ENGINEAM_ADOPT_CALLBACK") == "1"
	var adoptCalls atomic.Int32
	var adopt func(yarn.Container) (string, bool)
	if callback {
		adopt = func(c yarn.Container) (string, bool) {
			adoptCalls.Add(1)
			return "sleep", c.ID.Attempt.Attempt < attempt
		}
	}
	e, err := engine.New(engine.Config{
		AM: am, NM: nm, Logger: log, Adopt: adopt,
		Profiles: []engine.Profile{{Name: "sleep", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, Priority: 1, Target: n}},
		LaunchContext: func(context.Context, yarn.Container, string) (yarn.ContainerLaunchContext, error) {
			return yarn.ContainerLaunchContext{Commands: []string{"sleep 600 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"}}, nil
		},
	})
	if err != nil {
		return err
	}
	adopted := e.Adopt(reg.ContainersFromPreviousAttempts)
	var ids []string
	for _, c := range reg.ContainersFromPreviousAttempts {
		ids = append(ids, c.ID.String())
	}
	slices.Sort(ids)
	log.Info("registered", "attempt", attempt, "from_previous_attempts", len(ids), "adopted", adopted)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx, engine.Callbacks{}) }()
	for e.Status().Profiles[0].Running < n {
		select {
		case err := <-done:
			return fmt.Errorf("the engine stopped before %d containers ran: %w", n, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if attempt == 1 {
		crash := make(chan os.Signal, 1)
		signal.Notify(crash, syscall.SIGUSR1)
		// Written whole under another name first, so the test never reads
		// half a number.
		tmp := pidFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, pidFile); err != nil {
			return err
		}
		log.Info("attempt 1: all containers run; heartbeating until the test ends this attempt", "pid", os.Getpid())
		select {
		case <-crash:
			log.Info("attempt 1: exiting without unregistering")
			os.Exit(3)
		case err := <-done:
			return fmt.Errorf("attempt 1 was not ended by the test: %w", err)
		}
	}
	time.Sleep(2 * time.Second) // heartbeats in which nothing more may come
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		return err
	}
	s := e.Status()
	p := s.Profiles[0]
	diag := fmt.Sprintf("attempt %d: adopted %d, allocated %d, running %d; adopted %s",
		attempt, p.Adopted, s.Allocated, p.Running, strings.Join(ids, ","))
	if callback {
		diag += fmt.Sprintf(" adopt calls %d", adoptCalls.Load())
	}
	log.Info("finishing", "diagnostics", diag)
	return am.Finish(ctx, yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded, Diagnostics: diag})
}
