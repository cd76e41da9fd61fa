package ipc

import "context"

// What the HTTP clients of Hadoop services (the ResourceManager's REST API)
// share with the IPC client: the Java exception classes that map to the
// sentinels, and what _HOST in a service principal stands for.

// SentinelForClass returns the sentinel error a Hadoop service's Java
// exception class maps to (ErrStandby for
// org.apache.hadoop.ipc.StandbyException, ...), or nil for a class without
// one.
func SentinelForClass(class string) error { return javaClasses[class] }

// CanonicalHost is the host name _HOST in a service principal stands for
// when host is dialed: host in lower case, or for an IP address its first
// reverse-lookup name (as Java's InetAddress.getCanonicalHostName gives).
func CanonicalHost(ctx context.Context, host string) string { return canonicalHost(ctx, host) }
