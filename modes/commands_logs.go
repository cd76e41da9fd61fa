package modes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spindle-yarn/spindle/yarn"
)

// logs prints the logs of -id's containers from their NodeManagers: the
// JobManager's first, then the TaskManagers' (those running, and those
// the JobManager's log names).
func (r *commandRun) logs(ctx context.Context) (int, error) {
	defer r.close()
	if err := r.login(ctx); err != nil {
		return 1, err
	}
	cfg, err := r.yarnConfig()
	if err != nil {
		return 1, err
	}
	rc, err := yarn.NewRESTClient(cfg)
	if err != nil {
		return 1, err
	}
	defer rc.Close()
	if _, err := rc.ApplicationReport(ctx, r.c.id); err != nil {
		if errors.Is(err, yarn.ErrApplicationNotFound) {
			return 1, fmt.Errorf("-id %s: the ResourceManager does not know this application (%s list -all shows those it knows)", r.c.id, r.p.Name)
		}
		return 1, err
	}
	attempts, err := rc.ApplicationAttempts(ctx, r.c.id)
	if err != nil {
		return 1, fmt.Errorf("listing the attempts of %s: %w", r.c.id, err)
	}
	nodes, err := rc.Nodes(ctx)
	if err != nil {
		return 1, fmt.Errorf("listing the NodeManagers: %w", err)
	}
	lr := &logReader{rc: rc, out: r.p.Stdout, nodes: nodes, where: map[string]string{}, seen: map[string]bool{}}
	var ams, others []string
	for _, a := range attempts {
		if !a.AMContainer.IsZero() {
			ams = append(ams, a.AMContainer.String())
		}
		cs, err := rc.Containers(ctx, a.ID)
		if err != nil {
			continue // an ended attempt lists none
		}
		for _, c := range cs {
			lr.where[c.ID.String()] = c.NodeHTTPAddress
			if c.ID != a.AMContainer {
				others = append(others, c.ID.String())
			}
		}
	}
	if len(ams) == 0 {
		return 1, fmt.Errorf("%s has no ApplicationMaster container yet: no logs", r.c.id)
	}
	for _, id := range ams {
		text := lr.container(ctx, id, "JobManager")
		others = append(others, containerIDPattern.FindAllString(text, -1)...)
	}
	slices.Sort(others)
	for _, id := range slices.Compact(others) {
		if !strings.Contains(id, appSuffix(r.c.id)) {
			continue
		}
		lr.container(ctx, id, "TaskManager")
	}
	if lr.failed > 0 {
		return 1, fmt.Errorf("%d log file(s) of %s could not be read (see above)", lr.failed, r.c.id)
	}
	if lr.printed == 0 {
		return 1, fmt.Errorf("no NodeManager holds logs of %s any more (they keep them for yarn.nodemanager.log.retain-seconds, or until log aggregation moves them; reading aggregated logs is not supported yet)", r.c.id)
	}
	return 0, nil
}

// appSuffix is the part of a container id that names its application:
// _<cluster timestamp>_<app number>_ (zero-padded as container ids are).
func appSuffix(id yarn.ApplicationID) string {
	s := strings.TrimPrefix(id.String(), "application")
	return s + "_"
}

// logReader prints containers' log files.
type logReader struct {
	rc    *yarn.RESTClient
	out   io.Writer
	nodes []yarn.NodeReport
	// where maps a container to its NodeManager's web address, once known.
	where   map[string]string
	seen    map[string]bool
	printed int
	failed  int
}

// container prints one container's non-empty log files under headers and
// returns their text; role names it in the headers.
func (l *logReader) container(ctx context.Context, idText, role string) string {
	if l.seen[idText] {
		return ""
	}
	l.seen[idText] = true
	id, err := yarn.ParseContainerID(idText)
	if err != nil {
		return ""
	}
	node, files := l.locate(ctx, id)
	if node == "" {
		fmt.Fprintf(l.out, "==> %s %s: no NodeManager holds its logs <==\n", role, id)
		return ""
	}
	var all strings.Builder
	for _, f := range files {
		if logFileSkipped[f.Name] || f.Size == 0 {
			continue
		}
		b, err := l.rc.ContainerLog(ctx, node, id, f.Name)
		if err != nil {
			fmt.Fprintf(l.out, "==> %s %s on %s, %s: not readable: %v <==\n", role, id, node, f.Name, err)
			l.failed++
			continue
		}
		fmt.Fprintf(l.out, "==> %s %s on %s, %s (%d bytes) <==\n", role, id, node, f.Name, len(b))
		l.out.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			fmt.Fprintln(l.out)
		}
		l.printed++
		all.Write(b)
	}
	return all.String()
}

// locate finds the NodeManager that holds id's logs and lists them.
func (l *logReader) locate(ctx context.Context, id yarn.ContainerID) (string, []yarn.ContainerLogFile) {
	if node := l.where[id.String()]; node != "" {
		if files, err := l.rc.ContainerLogFiles(ctx, node, id); err == nil && len(files) > 0 {
			return node, files
		}
	}
	for _, n := range l.nodes {
		if n.HTTPAddress == "" {
			continue
		}
		files, err := l.rc.ContainerLogFiles(ctx, n.HTTPAddress, id)
		if err == nil && len(files) > 0 {
			l.where[id.String()] = n.HTTPAddress
			return n.HTTPAddress, files
		}
	}
	return "", nil
}

// printableText replaces control characters of what the cluster reports.
func printableText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
