// Package yarn is Spindle's public YARN API: the ResourceManager client
// (Hadoop RPC and REST, with ResourceManager high availability), the
// ApplicationMaster client that negotiates containers, the NodeManager client
// that starts and stops them, and the tokens and credentials files that carry
// a deployment's identity between them.
//
// Every call that can reach the network takes a context.Context first and
// honours its deadline. Clients are safe for concurrent use and are released
// with Close; calls after Close fail with ErrClosed. Errors returned by a remote Hadoop service are *RemoteError
// values that match this package's sentinels through errors.Is.
//
// Identity: on a Kerberos cluster, log in once with LoginKeytab or
// LoginTicketCache (or wrap a gokrb5 client with IdentityFromClient),
// optionally act for an end user with WithProxyUser, and give the login to
// each client with Config.WithIdentity (hdfs.Config.WithIdentity takes the
// same Identity). Nothing is process-wide: one program can hold logins for
// several principals at once. Login errors match ErrLogin and say what to
// do (run kinit, a principal the keytab lacks, clock skew).
//
// Secrets never show in formatted values: a Token, Credentials, a report
// or config holding them, and the clients print, log through log/slog and
// encode as JSON with kinds, services and identifier digests, and each
// password or secret key only by its length. Tokens travel through the
// encoders meant for them: Token.URLString, Credentials.WriteTo and the
// submissions the clients send.
//
// No generated protobuf type appears in this package's API; the wire codecs
// live under internal/.
package yarn
