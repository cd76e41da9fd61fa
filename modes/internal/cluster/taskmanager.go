package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/exchange"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/modes/internal/taskmanager"
)

// RunTaskManager runs this worker container's TaskManager until the
// JobManager shuts it down.
func RunTaskManager(ctx context.Context, log *slog.Logger) error {
	spec, err := launch.SpecFromEnv()
	if err != nil {
		return err
	}
	jm := os.Getenv(launch.EnvJobManager)
	if jm == "" {
		return fmt.Errorf("%s is not set", launch.EnvJobManager)
	}
	creds, secret, err := launch.ContainerCredentials()
	if err != nil {
		return err
	}
	id := os.Getenv("CONTAINER_ID")
	if id == "" {
		return fmt.Errorf("CONTAINER_ID is not set: not running in a YARN container")
	}
	_, clientTLS, err := secure.TLSConfigs(secret)
	if err != nil {
		return err
	}
	ln, after, err := exchangeListener(Host())
	if err != nil {
		return err
	}
	ex, err := exchange.NewServer(exchange.Config{Secret: secret, Encrypt: spec.EncryptData, Logger: log, AdvertiseAddr: ln.Addr().String()})
	if err != nil {
		ln.Close()
		return err
	}
	defer ex.Close()
	go ex.Serve(ln)
	cc := control.NewClient(jm, clientTLS)
	defer cc.Close()

	// The HDFS client, made on first use with the newest tokens, which
	// JobManager pushes replace.
	w := &workerHDFS{spec: spec, creds: creds, log: log}
	defer w.close()
	hdfsFn := w.client
	return taskmanager.Run(ctx, taskmanager.Config{
		ID: id, Host: Host(), Slots: max(spec.TaskManager.Slots, 1),
		Control: cc, Exchange: ex, HDFS: hdfsFn, Logger: log,
		Credentials: w.update,
		JobHDFS:     func(b []byte) (*hdfs.Client, error) { return JobHDFSClient(spec, b, log) },
		// A session job's own binary replaces this one (become.go).
		BinarySHA256: ownSHA256, Become: (&becomer{ln: ln, exec: syscall.Exec}).become, After: after,
		// A later ApplicationMaster attempt adopts this container (attempts.go).
		Rediscover: rediscoverer(spec, w),
	})
}
