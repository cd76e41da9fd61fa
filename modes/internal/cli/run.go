// Package cli holds the command line every Spindle program gets, the way
// every Flink job gets `flink run -t ...`: the flags of the run command,
// their checks, and the deploy.Request they describe.
//
// The flags register on a flag.FlagSet the program adds its own flags to,
// so that one pass parses both:
//
//	wordcount run -t yarn-application -d -input hdfs:///in -output hdfs:///out -parallelism 4
//
// Errors name the flag and say how to fix it.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// Targets of -t.
const (
	TargetApplication = "yarn-application"
	TargetPerJob      = "yarn-per-job"
	TargetSession     = "yarn-session"
)

// RunFlags are the flags of the run command. NewRunFlags registers them and
// sets their defaults; read them after the FlagSet has parsed.
type RunFlags struct {
	// Target is -t: TargetApplication, TargetPerJob or TargetSession.
	Target string
	// Session is -session: the name or application id of the session a
	// yarn-session run submits to.
	Session string
	// Detached is -d: print the application id and exit once submitted.
	Detached bool
	Queue    string
	Name     string
	// Tags is -tags, a comma-separated list.
	Tags      []string
	NodeLabel string
	// JobManagerMemoryMB, TaskManagerMemoryMB and TaskManagerVCores size
	// the containers.
	JobManagerMemoryMB  int64
	TaskManagerMemoryMB int64
	TaskManagerVCores   int
	// Slots per TaskManager.
	Slots int
	// Parallelism is the default parallelism of vertices that set none.
	Parallelism int
	// Ship are local files or directories every container gets, -ship
	// repeated.
	Ship []string
	// Keytab and Principal log in with a keytab; without them the ticket
	// cache is used (Kerberos clusters only).
	Keytab, Principal string
	// ShipKeytab ships -keytab to the JobManager, which obtains fresh
	// delegation tokens with it for a long-running application.
	ShipKeytab bool
	// RMToken adds a ResourceManager delegation token to the
	// application's credentials (for jobs that submit applications).
	RMToken bool
	// AccessFS are other HDFS file systems (hdfs://host:port, or a
	// nameservice the configuration defines) whose delegation tokens the
	// application gets too, as Flink's security.kerberos.access.hadoopFileSystems.
	AccessFS []string
	// ProxyUser is the user the application runs as, impersonated by the
	// logged-in one.
	ProxyUser string
	// ViewACL and ModifyACL are the application's VIEW_APP and MODIFY_APP
	// ACLs, Hadoop's "user1,user2 group1,group2" form ("*": everyone).
	// Empty leaves the cluster's default: the owner and YARN's admins.
	ViewACL, ModifyACL string
	// Config holds the -D key=value overrides.
	Config map[string]string
	// KeepStaging keeps the staging directory after the application ends.
	KeepStaging bool
	// Timeout bounds the whole run, submission and following; zero means
	// none.
	Timeout time.Duration
	// Verbose logs the client's calls to stderr.
	Verbose bool
}

// AccessFSFlag defines -access-fs on fs, appending each file system named
// (hdfs://host:port or hdfs://NAMESERVICE; repeatable, or comma-separated)
// to list.
func AccessFSFlag(fs *flag.FlagSet, list *[]string, usage string) {
	fs.Func("access-fs", usage, func(s string) error {
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u == "" {
				continue
			}
			if !strings.HasPrefix(u, "hdfs://") || len(u) == len("hdfs://") || strings.Contains(strings.TrimPrefix(u, "hdfs://"), "/") {
				return fmt.Errorf("%q is not a file system: write hdfs://host:port or hdfs://NAMESERVICE, without a path", u)
			}
			*list = append(*list, u)
		}
		return nil
	})
}

// NewRunFlags registers the run command's flags on fs and returns where
// their values land.
func NewRunFlags(fs *flag.FlagSet) *RunFlags {
	f := &RunFlags{Config: map[string]string{}}
	fs.StringVar(&f.Target, "t", "", "deployment target: "+TargetApplication+" (main runs in the ApplicationMaster) or "+TargetPerJob+" (main runs here and ships the job graph)")
	fs.BoolVar(&f.Detached, "d", false, "detached: print the application id once submitted and exit")
	fs.StringVar(&f.Session, "session", "", "with -t "+TargetSession+": the name or application id of the running session to submit to")
	fs.StringVar(&f.Queue, "queue", "default", "YARN queue to submit to")
	fs.StringVar(&f.Name, "name", "", "application name (default: the program's name)")
	fs.Func("tags", "comma-separated application tags", func(s string) error {
		f.Tags = nil
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				f.Tags = append(f.Tags, t)
			}
		}
		return nil
	})
	fs.StringVar(&f.NodeLabel, "node-label", "", "node label expression for the application's containers")
	fs.Int64Var(&f.JobManagerMemoryMB, "jm-memory", 256, "JobManager (ApplicationMaster) container memory, MB")
	fs.Int64Var(&f.TaskManagerMemoryMB, "tm-memory", 512, "TaskManager container memory, MB")
	fs.IntVar(&f.TaskManagerVCores, "tm-vcores", 1, "TaskManager container vcores")
	fs.IntVar(&f.Slots, "slots", 2, "slots per TaskManager")
	fs.IntVar(&f.Parallelism, "parallelism", 2, "default parallelism of the job's vertices")
	fs.Func("ship", "local file or directory, or hdfs:///path already in HDFS, every container gets in its working directory (repeatable)", func(s string) error {
		if s == "" {
			return errors.New("empty path")
		}
		f.Ship = append(f.Ship, s)
		return nil
	})
	fs.StringVar(&f.Keytab, "keytab", "", "Kerberos keytab to log in with (with -principal); default: the ticket cache")
	fs.StringVar(&f.Principal, "principal", "", "Kerberos principal of -keytab")
	fs.BoolVar(&f.ShipKeytab, "ship-keytab", false, "ship -keytab to the JobManager (only), which then obtains fresh HDFS delegation tokens before they expire: for applications running longer than the tokens' lifetime")
	fs.StringVar(&f.ProxyUser, "proxy-user", "", "run the application as this user, impersonated by the logged-in one")
	fs.BoolVar(&f.RMToken, "rm-token", false, "give the application a ResourceManager delegation token too (Kerberos), for jobs that submit applications")
	AccessFSFlag(fs, &f.AccessFS, "another HDFS the application's jobs read or write, hdfs://host:port or hdfs://NAMESERVICE (repeatable, or comma-separated): its delegation tokens join the application's (Kerberos)")
	fs.StringVar(&f.ViewACL, "view-acl", "", `users and groups who may see the application and its jobs, as "alice,bob analysts" (users, a space, groups; "*" is everyone); default: its owner and YARN's admins`)
	fs.StringVar(&f.ModifyACL, "modify-acl", "", `users and groups who may also kill the application through YARN, as "alice,bob analysts"; the users listed (not the groups: the JobManager cannot see the cluster's group mapping) may also submit, cancel and stop through the JobManager; default: its owner and YARN's admins`)
	fs.Func("D", "configuration override key=value (repeatable)", func(s string) error {
		k, v, err := parseKeyValue(s)
		if err != nil {
			return err
		}
		f.Config[k] = v
		return nil
	})
	fs.BoolVar(&f.KeepStaging, "keep-staging", false, "keep the application's staging directory in HDFS after it ends")
	fs.DurationVar(&f.Timeout, "timeout", 0, "give up (and kill the application) after this long; 0 means never")
	fs.BoolVar(&f.Verbose, "v", false, "log the client's calls to stderr")
	return f
}

// parseKeyValue splits one -D value. The flag package prefixes the error
// with the flag's name and value.
func parseKeyValue(s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	switch {
	case !ok:
		return "", "", fmt.Errorf("not key=value; write -D %s=VALUE", strings.TrimSpace(s))
	case k == "":
		return "", "", errors.New("the key before '=' is empty; write -D key=value")
	}
	return k, v, nil
}

// Mode is the launch mode -t names: launch.ModeApplication or
// launch.ModePerJob; "" until Validate passed.
func (f *RunFlags) Mode() string {
	switch f.Target {
	case TargetApplication:
		return launch.ModeApplication
	case TargetPerJob:
		return launch.ModePerJob
	case TargetSession:
		return launch.ModeSession
	}
	return ""
}

// Validate checks the flags together, after parsing. Its error names the
// flag and the fix.
func (f *RunFlags) Validate() error {
	switch f.Target {
	case TargetApplication, TargetPerJob:
		if f.Session != "" {
			return fmt.Errorf("-session is for -t %s; drop it, or use -t %s", TargetSession, TargetSession)
		}
	case "":
		return fmt.Errorf("-t is required: -t %s, -t %s or -t %s -session NAME", TargetApplication, TargetPerJob, TargetSession)
	case TargetSession:
		if strings.TrimSpace(f.Session) == "" {
			return fmt.Errorf("-t %s needs -session NAME (or an application id) naming a running session; start one with `session start -name NAME`", TargetSession)
		}
	default:
		return fmt.Errorf("-t %q is not a deployment target; use -t %s or -t %s", f.Target, TargetApplication, TargetPerJob)
	}
	if strings.TrimSpace(f.Queue) == "" {
		return errors.New("-queue is empty; name a queue, e.g. -queue default")
	}
	if f.JobManagerMemoryMB < 1 {
		return fmt.Errorf("-jm-memory must be at least 1 (MB), got %d", f.JobManagerMemoryMB)
	}
	if f.TaskManagerMemoryMB < 1 {
		return fmt.Errorf("-tm-memory must be at least 1 (MB), got %d", f.TaskManagerMemoryMB)
	}
	if f.TaskManagerVCores < 1 {
		return fmt.Errorf("-tm-vcores must be at least 1, got %d", f.TaskManagerVCores)
	}
	if f.Slots < 1 {
		return fmt.Errorf("-slots must be at least 1, got %d", f.Slots)
	}
	if f.Parallelism < 1 {
		return fmt.Errorf("-parallelism must be at least 1, got %d", f.Parallelism)
	}
	if (f.Keytab == "") != (f.Principal == "") {
		if f.Keytab == "" {
			return errors.New("-principal needs -keytab; give both, or neither to use the ticket cache")
		}
		return errors.New("-keytab needs -principal; give both, or neither to use the ticket cache")
	}
	if f.ShipKeytab && f.Keytab == "" {
		return errors.New("-ship-keytab needs -keytab and -principal: the keytab to ship")
	}
	if f.Timeout < 0 {
		return fmt.Errorf("-timeout must not be negative, got %v", f.Timeout)
	}
	if err := checkACL("-view-acl", f.ViewACL); err != nil {
		return err
	}
	if err := checkACL("-modify-acl", f.ModifyACL); err != nil {
		return err
	}
	for _, t := range f.Tags {
		if len(t) > 100 {
			return fmt.Errorf("-tags: %q is longer than YARN's 100 characters; shorten it", t)
		}
	}
	if len(f.Tags) > 10 {
		return fmt.Errorf("-tags: %d tags, YARN allows 10; give fewer", len(f.Tags))
	}
	return nil
}

// checkACL checks an ACL flag's value against Hadoop's AccessControlList
// form: comma-separated users, optionally a space and comma-separated
// groups, or "*".
func checkACL(flagName, acl string) error {
	a := strings.TrimSpace(acl)
	if a == "" || a == "*" {
		return nil
	}
	if strings.ContainsAny(a, "\t\n\r") {
		return fmt.Errorf("%s %q: an ACL is users, a space, then groups, each list comma-separated, on one line, e.g. %s \"alice,bob analysts\"", flagName, acl, flagName)
	}
	if strings.Count(a, " ") > 1 {
		return fmt.Errorf("%s %q has more than one space: write the users comma-separated, one space, then the groups, e.g. %s \"alice,bob analysts,ops\"", flagName, acl, flagName)
	}
	return nil
}

// ACLs is the application's ACLs the flags set, nil when they set none.
func (f *RunFlags) ACLs() map[yarn.ApplicationAccessType]string {
	var acls map[yarn.ApplicationAccessType]string
	for t, a := range map[yarn.ApplicationAccessType]string{yarn.AccessViewApp: f.ViewACL, yarn.AccessModifyApp: f.ModifyACL} {
		if strings.TrimSpace(a) == "" {
			continue
		}
		if acls == nil {
			acls = map[yarn.ApplicationAccessType]string{}
		}
		acls[t] = a
	}
	return acls
}
