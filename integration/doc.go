// Package integration holds Spindle's end-to-end tests against the real
// Hadoop test bed. They are built with the "integration" tag; `make test`
// runs them once per test bed mode (plain, kerberos, ha).
package integration
