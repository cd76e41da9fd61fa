package deploy

import (
	"context"
	"fmt"
	"os"
	"os/user"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/yarn"
)

// Login is who a client deploys as. On a Kerberos cluster (as the site XML
// in hadoopConfDir, or $HADOOP_CONF_DIR when empty, says) it logs in from
// keytab and principal, or else from the ticket cache (KRB5CCNAME, or
// /tmp/krb5cc_<uid>), and returns the login, which the caller closes; its
// errors say what to do (kinit, a principal the keytab lacks, clock skew).
// Without Kerberos it returns no login and the user: principal's short
// name, else HADOOP_USER_NAME, else the user running this process.
func Login(ctx context.Context, hadoopConfDir, keytab, principal string) (string, *yarn.Identity, error) {
	cfg, err := yarn.LoadConfig(hadoopConfDir)
	if err != nil {
		return "", nil, err
	}
	if cfg.Kerberos == nil {
		if principal != "" {
			return hdfs.ShortName(principal), nil, nil
		}
		u, err := localUser()
		return u, nil, err
	}
	var id *yarn.Identity
	if keytab != "" {
		id, err = yarn.LoginKeytab(ctx, principal, keytab, "")
	} else {
		id, err = yarn.LoginTicketCache("", "")
	}
	if err != nil {
		return "", nil, fmt.Errorf("the cluster uses Kerberos: %w", err)
	}
	return id.ShortName(), id, nil
}

// localUser is the simple-authentication user: HADOOP_USER_NAME, else the
// user running this process.
func localUser() (string, error) {
	if u := os.Getenv("HADOOP_USER_NAME"); u != "" {
		return u, nil
	}
	u, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("deploy: who is running this process: %w", err)
	}
	return u.Username, nil
}
