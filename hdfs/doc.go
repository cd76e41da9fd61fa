// Package hdfs stages an application's dependencies in HDFS for YARN to
// localize: content-addressed uploads that skip files already on the
// cluster, LocalResources whose size and timestamp come from the NameNode,
// cleanup of staging directories, and HDFS delegation tokens for containers
// that hold no keytab.
//
// Data transfer is done by github.com/colinmarc/hdfs/v2; this package wraps
// it so that every call takes a context.Context first.
package hdfs
