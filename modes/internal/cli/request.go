package cli

import (
	"log/slog"
	"os"

	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// Request is the deployment the flags describe, for a program whose
// arguments after the run subcommand are args (passed to main in the
// JobManager in Application mode). Identity, User, Graph and Binary are
// the caller's to fill. Progress is a staging progress bar on stderr when
// it is a terminal. Call it after Validate.
func (f *RunFlags) Request(args []string) deploy.Request {
	req := deploy.Request{
		Mode:        f.Mode(),
		Name:        f.Name,
		Queue:       f.Queue,
		NodeLabel:   f.NodeLabel,
		Tags:        f.Tags,
		AMResource:  yarn.Resource{MemoryMB: f.JobManagerMemoryMB, VCores: 1},
		TaskManager: launch.TaskManagerSpec{MemoryMB: f.TaskManagerMemoryMB, VCores: int32(f.TaskManagerVCores), Slots: f.Slots, NodeLabel: f.NodeLabel},
		Parallelism: f.Parallelism,
		Args:        args,
		Ship:        f.Ship,
		KeepStaging: f.KeepStaging,
		ProxyUser:   f.ProxyUser,
		ACLs:        f.ACLs(),
		RMToken:     f.RMToken,
		AccessFS:    f.AccessFS,
		Progress:    StagingProgress(os.Stderr),
	}
	if len(f.Config) > 0 {
		req.Config = f.Config
	}
	if f.Verbose {
		req.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return req
}
