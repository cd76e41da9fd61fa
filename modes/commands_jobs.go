package modes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/record"
)

// jobs prints the jobs of -id (or of the session -session names) as its
// JobManager reports them, in the order they were submitted.
func (r *commandRun) jobs(ctx context.Context) (int, error) {
	defer r.close()
	d, rep, jm, err := r.liveJobManager(ctx, func(id string) string {
		return fmt.Sprintf(" and its JobManager with it, so no one can list its jobs any more; `%s attach -id %s` prints how it ended and the jobs' results it reported", r.p.Name, id)
	})
	if errors.Is(err, errNoRecord) {
		dir, _ := record.Dir()
		return 1, fmt.Errorf("listing the jobs of %s needs its JobManager, which this client can reach neither with the deployment's secret "+
			"(no record of %s in %s: only the machine and SPINDLE_HOME that started it keep one) nor with a ClientToAMToken "+
			"(the ResourceManager gives one only on a Kerberos cluster, to users with VIEW access to the application); "+
			"run `%s jobs` where it was started, or on a Kerberos cluster as its owner (%s) or a user its ACLs let view it",
			rep.ID, rep.ID, cmp.Or(dir, "$SPINDLE_HOME/applications"), r.p.Name, rep.User)
	}
	if err != nil {
		return 1, err
	}
	defer d.Close()
	defer jm.Close()
	jobs, err := jm.Jobs(ctx)
	if err != nil {
		return 1, jm.explain(err, "listing the jobs of "+rep.ID.String())
	}
	return 0, writeJobs(r.p.Stdout, jobs, time.Now())
}

// rootCauseWidth is how much of a failed job's root cause jobs shows: the
// whole is in the job's result (attach, run) and the JobManager's log.
const rootCauseWidth = 72

// writeJobs writes jobs as a table, one line each: attempt counts from 1;
// subtasks are running/finished/total; the duration of a job that has not
// ended runs up to now.
func writeJobs(w io.Writer, jobs []control.JobStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tNAME\tSTATE\tATTEMPT\tSUBTASKS RUN/DONE/ALL\tSTARTED\tDURATION\tROOT CAUSE")
	for _, j := range jobs {
		started, took := "-", "-"
		if !j.Started.IsZero() {
			started = j.Started.UTC().Format(time.RFC3339)
			end := now
			if !j.Ended.IsZero() {
				end = j.Ended
			}
			took = roundDuration(end.Sub(j.Started)).String()
		}
		cause := "-"
		if j.State == jobmanager.StateFailed && j.RootCause != "" {
			cause = shortText(j.RootCause, rootCauseWidth)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d/%d/%d\t%s\t%s\t%s\n", cmp.Or(shortText(j.ID, 64), "-"), cmp.Or(shortText(j.Name, 40), "-"),
			cmp.Or(shortText(j.State, 16), "-"), j.Attempt+1, j.Subtasks.Running, j.Subtasks.Finished, j.Subtasks.Total, started, took, cause)
	}
	return tw.Flush()
}

// roundDuration rounds d to what a table needs: tenths of a second under
// a minute, seconds above; a negative d (clocks apart) is 0.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// shortText is s on one line of printable text (white space folded, so
// a tab cannot break the table) cut to at most n runes, an ellipsis
// marking the cut.
func shortText(s string, n int) string {
	s = printableText(strings.Join(strings.Fields(s), " "))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
