//go:build integration

// Package integration holds Spindle's end-to-end tests. They run against
// the real Hadoop test bed (package testbed), one per test binary, in the
// mode SPINDLE_TESTBED_MODE names; `make test` runs them in every mode.
package integration

import (
	"testing"

	"github.com/spindle-yarn/spindle/integration/testbed"
)

func TestMain(m *testing.M) { testbed.Main(m) }
