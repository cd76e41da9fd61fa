// Package modes deploys a Go program onto YARN in one of the three deployment
// modes Apache Flink defines: Application (main runs in the
// ApplicationMaster), Per-Job (main runs in the client, one cluster per job)
// and Session (a long-lived cluster that many jobs share).
//
// A program that imports this package is at once the client, the
// ApplicationMaster and the worker: the client stages its own executable and
// YARN starts it again in the AM and worker containers, where the launch
// context tells it which role to take.
package modes
