// Package hdfs stages an application's dependencies in HDFS for YARN to
// localize: content-addressed uploads that skip files already on the
// cluster, LocalResources whose size and timestamp come from the NameNode,
// cleanup of staging directories, and HDFS delegation tokens for containers
// that hold no keytab.
//
// # Use
//
//	cfg, _ := hdfs.ConfigFromHadoopConf(conf) // core-site.xml, hdfs-site.xml
//	cfg.Kerberos.Client = kc                  // on a Kerberos cluster
//	c, err := hdfs.NewClient(cfg)
//	...
//	defer c.Close()
//	st, err := c.Stage(ctx, appID, []hdfs.Dependency{
//		{Local: "./app"},                                         // private cache, FILE
//		{Local: "./conf"},                                        // a directory: ARCHIVE, unpacked as conf/
//		{Local: "flink.tgz", Visibility: hdfs.VisibilityPublic},  // public cache, ARCHIVE
//		{Remote: "hdfs:///shared/lib.jar", Type: hdfs.TypeFile}, // referenced, not copied
//	}, hdfs.StageOptions{Progress: bar})
//	resources := yarn.LocalResourcesFromStaging(st)
//
// and once the application has ended (or could not be submitted):
//
//	c.RemoveStaging(ctx, appID)
//
// # Where files go
//
// Each application has a staging directory, <StagingRoot>/<application id>
// (by default /user/<user>/.spindle/<application id>, mode 0700). Local
// files are stored by the sha256 of their content ("<hex>" or, for
// archives, "<hex>.tar.gz" etc., since NodeManagers unpack by name):
// private ones in the user's private cache (/user/<user>/.spindle/cache,
// PRIVATE visibility), public ones in <PublicCacheRoot>/<user> (by default
// /tmp/spindle-cache/<user>, world-readable, PUBLIC visibility; see
// DefaultPublicCacheRoot for why /tmp), application ones in the staging
// directory (APPLICATION visibility). A redeployment with unchanged
// dependencies uploads nothing: one listing of each cache directory (in
// pages of the NameNode's dfs.ls.limit, 1000 by default) finds them all,
// so the NameNode calls do not grow with the number of files. Directories
// are shipped as tar archives built the same way every time.
//
// Only the user writes their cache directories, and only entries the
// user owns, of the right size, are reused. Before publishing anything
// PUBLIC, Stage checks that no other user can swap what it publishes:
// <PublicCacheRoot>/<user> must be the user's and not writable by group
// or others, the root sticky (or the superuser's, the owner of "/"), and
// no directory above it writable by others without the sticky bit. If
// not, it fails with ErrUnsafeCache naming the directory and what an
// administrator should do; nothing is published. The owner of a sticky
// root can still move users' directories, so create the root as the
// superuser: hdfs dfs -mkdir /tmp/spindle-cache && hdfs dfs -chmod 1777
// /tmp/spindle-cache. Uploads are written under a
// temporary name and renamed into place once complete and verified
// against the hash; when two deployments race, the rename of the second
// finds the name taken and it uses the first one's file. A cancelled or
// failed upload leaves no partial file.
//
// # Cleanup
//
// RemoveStaging deletes a staging directory; an ApplicationMaster calls it
// after unregistering, a client when submission failed or when it saw the
// application end (killed applications get no say). Sweep removes the
// staging directories of applications no longer running (a crashed
// client's); Evict trims the caches by age and size, never removing an
// entry named in the manifest Stage writes into each staging directory,
// so entries a live application uses survive.
//
// RemoveStaging removes only what is APPLICATION-visible. PRIVATE and
// PUBLIC cache entries outlive it, by design, so the next deployment
// reuses them: in HDFS until Evict removes them (run it from a periodic
// job), and on each NodeManager until its localizer cache cleanup trims
// the node's copies (yarn.nodemanager.localizer.cache.target-size-mb).
// Stage one-off files, such as an input or a generated configuration,
// with VisibilityApplication: they go with the staging directory, and
// NodeManagers delete their copies when the application finishes.
//
// # Authentication
//
// Every NameNode call (Stat, ReadDir, MkdirAll, Rename, Remove,
// RemoveStaging, DelegationTokens, the cache listings, and the block calls
// of Open and Create) uses Spindle's own Hadoop IPC client with simple
// authentication, Kerberos, or delegation tokens (Config.Tokens, as inside
// a YARN container). File data goes to and from the DataNodes through
// this package's own DataTransferProtocol client, which DataNodes admit
// on the block tokens the NameNode hands out with each block: so a
// Client holding only delegation tokens reads and writes files as well as
// one logged in with Kerberos.
//
// Delegation tokens expire: after a renew interval unless renewed (a day by
// default) and for good at their max date (a week). A Kerberos Client
// renews the tokens naming it as renewer (RenewDelegationToken) and obtains
// new ones (DelegationTokens); a token-only Client switches to new ones
// with SetTokens, without restarting: its NameNode connections are
// reopened with them. A refused token's error names it (kind, sequence
// number, owner, dates) and matches ErrInvalidToken.
//
// A Token, a Config holding tokens or Kerberos credentials, and a Client
// print, log through log/slog and encode as JSON without the token's
// password (only its length) or anything of the Kerberos credentials.
//
// # Reading and writing files
//
// Open returns a FileReader (io.Reader, io.ReaderAt, io.Seeker) and
// Create a FileWriter; ReadFile reads a whole file. Staging writes
// through the same FileWriter.
//
//	w, err := c.Create(ctx, "/out/part-0", hdfs.CreateOptions{BlockSize: 128 << 20})
//	...
//	if _, err := w.Write(data); err != nil { w.Abort(); ... }
//	err = w.Close() // completes the file
//
//	r, err := c.Open(ctx, "/out/part-0")
//	...
//	defer r.Close()
//	io.Copy(dst, r)
//
// A reader asks the NameNode where the file's blocks are
// (getBlockLocations) and reads each from one of its DataNodes, checking
// every packet against its CRC32C (or CRC32) checksums. A replica that
// cannot be reached, refuses, or sends bad data is left for the next one;
// a refused block token makes the reader ask the NameNode once more for
// fresh locations and tokens. When no replica serves a block the error
// matches ErrDataNode and names each DataNode with its failure.
//
// A writer creates the file, then for each block asks the NameNode for
// it (addBlock), sends it down the pipeline of DataNodes the NameNode
// chose in 64 KiB packets of 512-byte CRC32C chunks, and waits for every
// DataNode's ack; Close ends the last block and completes the file,
// asking again for about 20 s while the NameNode has not yet counted the
// last block's replicas, and then failing with ErrLastBlockNotReplicated.
// The writer renews its lease while open and sends heartbeat packets
// when idle, so a slow writer keeps its pipeline. A DataNode refusing a
// new block's pipeline is excluded and the block asked for again; a
// DataNode failing in the middle of a block fails the write (there is no
// pipeline recovery yet): Abort then deletes the partial file. A reader
// sees a file's complete blocks only, until the writer closes it.
//
// The ctx given to Open and Create bounds the reader's or writer's whole
// life (their io methods take none). Each uses one goroutine at a time;
// ReadAt may be called concurrently with itself.
//
// With Config.DataTransferProtection set (dfs.data.transfer.protection)
// and DataNodes on unprivileged ports, each DataNode connection first
// authenticates with SASL DIGEST-MD5 on the block token and, at integrity
// or privacy, wraps the rest of the connection in the negotiated security
// layer. Encrypted transfer with the NameNode's data encryption keys
// (dfs.encrypt.data.transfer with its own key handshake), erasure-coded
// files and encryption zones are not supported: the NameNode refuses to
// create files in an encryption zone for a client that, like this one,
// names no crypto protocol version.
//
// # Concurrency and errors
//
// A Client is safe for concurrent use; Close releases its connections.
// Every call that can reach the network takes a context first. Errors are
// *PathError values naming the operation and path, wrapping the NameNode's
// exception as a *RemoteError; both match the io/fs sentinels
// (fs.ErrNotExist, fs.ErrExist, fs.ErrPermission) and this package's
// (ErrAccessControl, ErrUnauthorized, ErrInvalidToken, ErrChanged, ...)
// with errors.Is. Stage and RemoveStaging refuse anything but an
// application id in the ResourceManager's form (ErrApplicationID), and
// Stage a public cache others could tamper with (ErrUnsafeCache).
//
// # NameNode failover
//
// With several NameNodes (an HA nameservice) namespace calls go to the
// active one: a standby's answer or an unreachable NameNode moves the
// client on to the next, for at most Config.FailoverTimeout, after which
// the call fails with ErrNoActiveNameNode. The NameNodes know the client by
// one client id, and a call sent again keeps its call id, so rename2 and
// delete repeated after a failover meet the NameNode's retry cache rather
// than running twice. Failovers and CurrentNameNode tell where the client
// is; a call without a context deadline waits at most 120 s for an
// answer.
package hdfs
