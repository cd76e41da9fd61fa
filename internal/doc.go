// Package internal holds Spindle's wire codecs: Hadoop IPC framing, SASL
// (SIMPLE, GSSAPI, DIGEST-MD5), token encodings and the protobuf messages
// generated from the .proto files under internal/proto; and what both the
// deployment modes and examples/dshell share of keeping an application's
// HDFS delegation tokens alive (internal/tokens). Nothing here is part
// of the public API; public packages translate to and from these types.
package internal
