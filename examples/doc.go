// Package examples holds launchers that users run against a YARN cluster:
// dshell (a Go DistributedShell), launcher (deploy in any mode) and
// wordcount. Each lives in its own subdirectory as a main package.
package examples
