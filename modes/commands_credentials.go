package modes

import (
	"context"
	"fmt"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/deploy"
)

// credentialsArgs takes `credentials push [flags]` apart: push is the
// only sub-command so far. It returns the command line parseCommand reads
// (cmdCredentials and the flags).
func credentialsArgs(prog string, args []string) ([]string, error) {
	if len(args) < 2 || args[1] != "push" {
		return nil, usagef("the credentials command is `%s credentials push -id APPID [-job JOB]`: it pushes fresh HDFS delegation tokens to an application deployed without -ship-keytab, or to one job of a session", prog)
	}
	return append([]string{cmdCredentials}, args[2:]...), nil
}

// pushCredentials obtains fresh HDFS delegation tokens as the logged-in
// user (or -proxy-user) and pushes them to -id's JobManager, which
// switches itself and its TaskManagers to them: for an application
// deployed without -ship-keytab whose client is not attached (-d, or an
// attached client that ended). The tokens name the user as renewer and
// nobody renews them after this command, so they live one renewal
// interval (a day by default, printed): push again before then, e.g.
// from cron. With -job, the tokens go to that job of a session alone
// (POST /v1/jobs/{id}/credentials): a session job carries its user's own
// tokens, which its client keeps alive only while it follows the job.
func (r *commandRun) pushCredentials(ctx context.Context) (int, error) {
	defer r.close()
	d, rep, jm, err := r.liveJobManager(ctx, func(string) string { return ": there is no JobManager to push credentials to" })
	if err != nil {
		return 1, err
	}
	defer d.Close()
	defer jm.Close()
	toks, expiry, err := d.FreshTokens(ctx, r.c.accessFS...)
	if err != nil {
		return 1, err
	}
	to := rep.ID.String()
	var n int
	if r.c.job != "" {
		to = "job " + r.c.job + " of " + to
		n, err = pushJobCredentials(ctx, jm.Client, r.c.job, toks)
	} else {
		n, err = deploy.PushCredentials(ctx, jm.Client, toks)
	}
	if err != nil {
		return 1, jm.explain(err, "pushing credentials to "+to)
	}
	fmt.Fprintf(r.p.Stdout, "pushed %d fresh HDFS delegation tokens to %s; they expire at %s unless pushed again before (in %s)\n",
		n, to, expiry.UTC().Format(time.RFC3339), time.Until(expiry).Round(time.Second))
	return 0, nil
}
