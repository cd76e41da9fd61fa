package modes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// While a client stages and submits a deployment, a small process of its
// own binary watches it: the guard. The client tells it the application's
// id before anything is staged and releases it once Deploy returned
// (having cleaned up after itself on an error); if the client dies in
// between (SIGKILL, a crash), the guard's stdin ends without the release,
// and it kills the application, if it was submitted, and removes its
// staging directory. After the release an attached application is tied
// to its client by the JobManager's lease instead (Request.ClientLease);
// a detached one is the user's.
//
// The guard runs in its own process group, so a Ctrl-C at the terminal
// reaches the client only (which cleans up itself), and it logs in as the
// client did: its keytab and principal (paths and names, never secrets)
// come in its environment, its ticket cache and Hadoop configuration too.

// Environment of the guard.
const (
	envGuardKeytab     = "SPINDLE_GUARD_KEYTAB"
	envGuardPrincipal  = "SPINDLE_GUARD_PRINCIPAL"
	envGuardProxyUser  = "SPINDLE_GUARD_PROXY_USER"
	envGuardUser       = "SPINDLE_GUARD_USER"
	envGuardProtection = "SPINDLE_GUARD_RPC_PROTECTION"
)

// deployGuard is the client's handle on its guard process.
type deployGuard struct {
	cmd  *exec.Cmd
	w    io.WriteCloser
	done chan struct{}
}

// startGuard starts the guard of a deployment req, logged in with keytab
// and principal (empty: the ticket cache), or returns nil, having said
// why on stderr, when it cannot: the deployment then goes on unguarded.
func startGuard(p Program, req deploy.Request, keytab, principal string) *deployGuard {
	if !p.guarded {
		return nil
	}
	fail := func(err error) *deployGuard {
		fmt.Fprintf(p.Stderr, "%s: no guard for this deployment (%v): a client killed while staging would leave its staging directory\n", p.Name, err)
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), launch.EnvRole+"="+launch.RoleGuard,
		envGuardKeytab+"="+keytab, envGuardPrincipal+"="+principal, envGuardProxyUser+"="+req.ProxyUser,
		envGuardUser+"="+req.User, envGuardProtection+"="+req.Config["hadoop.rpc.protection"])
	cmd.Stdout, cmd.Stderr = p.Stderr, p.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return fail(err)
	}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	g := &deployGuard{cmd: cmd, w: w, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(g.done)
	}()
	return g
}

// staging tells the guard the application being deployed.
func (g *deployGuard) staging(id yarn.ApplicationID) {
	if g != nil {
		fmt.Fprintf(g.w, "staging %s\n", id)
	}
}

// release tells the guard the deployment is the client's own again and
// waits (briefly) for it to exit.
func (g *deployGuard) release() {
	if g == nil {
		return
	}
	io.WriteString(g.w, "done\n")
	g.w.Close()
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		g.cmd.Process.Kill()
	}
}

// deployGuarded is deploy.Deploy under a guard.
func deployGuarded(ctx context.Context, p Program, req deploy.Request, keytab, principal string) (*deploy.Deployment, error) {
	g := startGuard(p, req, keytab, principal)
	defer g.release()
	req.OnStaging = g.staging
	return deploy.Deploy(ctx, req)
}

// runGuard is the guard process: it reads the client's lines until its
// stdin ends and cleans up when the client died mid-deployment.
func runGuard(p Program) int {
	signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	var app string
	released := false
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch f := strings.Fields(sc.Text()); {
		case len(f) == 2 && f[0] == "staging":
			app = f[1]
		case len(f) == 1 && f[0] == "done":
			released = true
		}
	}
	if released || app == "" {
		return 0
	}
	id, err := yarn.ParseApplicationID(app)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s guard: %v\n", p.Name, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cleanUpAfterDeadClient(ctx, id); err != nil {
		fmt.Fprintf(os.Stderr, "%s: the client died while deploying %s, and cleaning up after it failed: %v; stop it with `%s stop -id %s`\n", p.Name, id, err, p.Name, id)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: the client died while deploying %s; its guard killed the application if it was submitted and removed its staging directory\n", p.Name, id)
	return 0
}

// cleanUpAfterDeadClient kills id (if the ResourceManager knows it) and
// removes its staging directory, logged in as the client was.
func cleanUpAfterDeadClient(ctx context.Context, id yarn.ApplicationID) error {
	user, ident, err := deploy.Login(ctx, "", os.Getenv(envGuardKeytab), os.Getenv(envGuardPrincipal))
	if err != nil {
		return err
	}
	if ident != nil {
		defer ident.Close()
	}
	if u := os.Getenv(envGuardUser); u != "" && ident == nil {
		user = u
	}
	req := deploy.Request{User: user, Identity: ident, ProxyUser: os.Getenv(envGuardProxyUser)}
	if prot := os.Getenv(envGuardProtection); prot != "" {
		req.Config = map[string]string{"hadoop.rpc.protection": prot}
	}
	ycfg, hcfg, err := deploy.ClientConfigs(req)
	if err != nil {
		return err
	}
	rm, err := yarn.NewRMClient(ycfg)
	if err != nil {
		return err
	}
	defer rm.Close()
	var errs []error
	if _, err := rm.Kill(ctx, id, "the Spindle client died while deploying it"); err != nil && !errors.Is(err, yarn.ErrApplicationNotFound) {
		errs = append(errs, fmt.Errorf("killing it: %w", err))
	}
	fs, err := hdfs.NewClient(hcfg)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer fs.Close()
	if err := fs.RemoveStaging(ctx, id.String()); err != nil {
		errs = append(errs, fmt.Errorf("removing its staging directory: %w", err))
	}
	return errors.Join(errs...)
}
