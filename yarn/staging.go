package yarn

import (
	"context"
	"errors"

	"github.com/spindle-yarn/spindle/hdfs"
)

// LocalResourceFromStaged is the LocalResource of a dependency package
// hdfs staged: its URL, size and timestamp as the NameNode reported them,
// FILE or ARCHIVE, and PUBLIC, PRIVATE or APPLICATION visibility.
func LocalResourceFromStaged(s hdfs.Staged) LocalResource {
	lr := LocalResource{URL: s.URL, Size: s.Size, Timestamp: s.Timestamp, Type: LocalResourceFile}
	if s.Type == hdfs.TypeArchive {
		lr.Type = LocalResourceArchive
	}
	switch s.Visibility {
	case hdfs.VisibilityPublic:
		lr.Visibility = VisibilityPublic
	case hdfs.VisibilityPrivate:
		lr.Visibility = VisibilityPrivate
	default:
		lr.Visibility = VisibilityApplication
	}
	return lr
}

// LocalResourcesFromStaging gives the LocalResources of everything one
// Stage call staged, by name in the containers' working directories: the
// map a ContainerLaunchContext takes.
func LocalResourcesFromStaging(st *hdfs.Staging) map[string]LocalResource {
	out := make(map[string]LocalResource, len(st.Resources))
	for _, s := range st.Resources {
		out[s.Name] = LocalResourceFromStaged(s)
	}
	return out
}

// HDFSTokens returns the HDFS delegation tokens among c's, for
// hdfs.Config.Tokens: how a container (an ApplicationMaster cleaning up
// its staging directory) reaches HDFS without a keytab.
func HDFSTokens(c *Credentials) []hdfs.Token {
	var out []hdfs.Token
	for _, t := range c.TokensByKind(KindHDFSDelegationToken) {
		out = append(out, hdfs.Token(t))
	}
	return out
}

// ApplicationRunning reports whether the RM still runs an application:
// false once it reached a final state, and false for an id the RM does
// not know (never submitted, or forgotten).
func (c *RMClient) ApplicationRunning(ctx context.Context, id ApplicationID) (bool, error) {
	return applicationRunning(ctx, c.ApplicationReport, id)
}

// ApplicationRunning reports whether the RM still runs an application, as
// RMClient.ApplicationRunning does.
func (c *RESTClient) ApplicationRunning(ctx context.Context, id ApplicationID) (bool, error) {
	return applicationRunning(ctx, c.ApplicationReport, id)
}

func applicationRunning(ctx context.Context, report func(context.Context, ApplicationID) (ApplicationReport, error), id ApplicationID) (bool, error) {
	r, err := report(ctx, id)
	if errors.Is(err, ErrApplicationNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !r.State.IsFinal(), nil
}

// RunningCheck adapts either RM client's ApplicationRunning to the
// isRunning function hdfs.Client.Sweep and hdfs.EvictOptions take, which
// name applications by their id's string form. A string that is not an
// application id is an error.
func RunningCheck(rm interface {
	ApplicationRunning(context.Context, ApplicationID) (bool, error)
}) func(ctx context.Context, appID string) (bool, error) {
	return func(ctx context.Context, appID string) (bool, error) {
		id, err := ParseApplicationID(appID)
		if err != nil {
			return false, err
		}
		return rm.ApplicationRunning(ctx, id)
	}
}
