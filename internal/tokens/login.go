package tokens

import (
	"context"
	"fmt"
	"os"

	"github.com/spindle-yarn/spindle/hdfs"
)

// LoginShipped logs in with a keytab shipped to this container
// (keytabPath, as localized) as principal; krb5.conf is $KRB5_CONFIG's
// when set, else krb5Shipped when localized, else the system's.
func LoginShipped(ctx context.Context, principal, keytabPath, krb5Shipped string) (*hdfs.Identity, error) {
	krb5 := ""
	if os.Getenv("KRB5_CONFIG") == "" {
		if _, err := os.Stat(krb5Shipped); err == nil {
			krb5 = krb5Shipped
		}
	}
	id, err := hdfs.LoginKeytab(ctx, principal, keytabPath, krb5)
	if err != nil {
		return nil, fmt.Errorf("logging in with the shipped keytab: %w", err)
	}
	return id, nil
}

// ObtainingClient is the Kerberos HDFS client of base's file system that
// obtains and renews user's tokens through login: as the login itself, or
// impersonating user when the login is a proxy-user service. The tokens it
// obtains name user as renewer, so that it can renew them (the
// ResourceManager renews only the tokens of a submission).
func ObtainingClient(login *hdfs.Identity, user string, base hdfs.Config) (*hdfs.Client, error) {
	as := login
	if user != "" && user != login.ShortName() {
		as = login.WithProxyUser(user)
	}
	cfg := base.WithIdentity(as)
	cfg.TokenRenewer = user
	return hdfs.NewClient(cfg)
}
