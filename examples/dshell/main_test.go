package main

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/yarn"
	"github.com/spindle-yarn/spindle/yarn/engine"
)

func TestParseOptionsProfileFlags(t *testing.T) {
	o, err := parseOptions([]string{"-n", "3", "-priority", "0", "-racks", "/r1,/r2", "-nodes", "h1", "-nodes", "h2,h3",
		"-strict-locality", "-opportunistic", "-resource", "yarn.io/gpu=2", "-resource", "example.com/fpga=1",
		"-max-failures", "5", "--", "/bin/true"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	spec := jobSpec{Containers: o.n, MemoryMB: o.memoryMB, VCores: int32(o.vcores), Priority: int32(o.priority),
		MaxFailures: o.maxFailures, Custom: o.resources, Nodes: o.nodes, RackNames: o.racks,
		StrictLocality: o.strict, Opportunistic: o.opportunistic}
	want := engine.Profile{
		Name: shellProfile, Priority: 0, Target: 3, RunOnce: true, StrictLocality: true,
		Resource:      yarn.Resource{MemoryMB: 128, VCores: 1, Custom: map[string]int64{"yarn.io/gpu": 2, "example.com/fpga": 1}},
		Nodes:         []string{"h1", "h2", "h3"},
		Racks:         []string{"/r1", "/r2"},
		ExecutionType: yarn.ExecutionOpportunistic,
	}
	if diff := cmp.Diff(want, spec.profile()); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	if spec.engineMaxFailures() != 5 || spec.nodeFailures() != 0 {
		t.Errorf("-max-failures 5: engine budget %d, node failures %d; want 5 and the engine's default (0)", spec.engineMaxFailures(), spec.nodeFailures())
	}
	o, err = parseOptions([]string{"-n", "4", "-anti-affinity", "--", "/bin/true"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	aa := (&jobSpec{Containers: o.n, MemoryMB: 64, VCores: 1, AntiAffinity: o.antiAffinity}).profile()
	if !aa.AntiAffinity || aa.Target != 4 {
		t.Errorf("-anti-affinity gives profile %+v", aa)
	}
	spec.MaxFailures = 0
	if spec.engineMaxFailures() != -1 || spec.nodeFailures() != -1 {
		t.Errorf("-max-failures 0: engine budget %d, node failures %d; want no budget and no exclusion (-1)", spec.engineMaxFailures(), spec.nodeFailures())
	}
}

func TestParseOptionsRefuses(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-node-label", "gpu", "-nodes", "h1", "--", "x"}, "-node-label cannot be combined"},
		{[]string{"-strict-locality", "--", "x"}, "needs -nodes or -racks"},
		{[]string{"-anti-affinity", "-nodes", "h1", "--", "x"}, "-anti-affinity cannot be combined"},
		{[]string{"-anti-affinity", "-opportunistic", "--", "x"}, "-anti-affinity cannot be combined"},
		{[]string{"-max-failures", "-1", "--", "x"}, "must be 0 or more"},
		{[]string{"-priority", "-2", "--", "x"}, "must be 0 or more"},
		{[]string{"-ship-keytab", "--", "x"}, "-ship-keytab ships the keytab you log in with"},
		{[]string{"-resource", "yarn.io/gpu", "--", "x"}, "want NAME=N"},
		{[]string{"-resource", "yarn.io/gpu=0", "--", "x"}, "want NAME=N"},
		{[]string{"-resource", "memory-mb=5", "--", "x"}, "use -memory and -vcores"},
	} {
		var stderr strings.Builder
		_, err := parseOptions(tt.args, &stderr)
		if err == nil {
			t.Errorf("%v: accepted", tt.args)
			continue
		}
		if got := err.Error() + stderr.String(); !strings.Contains(got, tt.want) {
			t.Errorf("%v: %q, want it to contain %q", tt.args, got, tt.want)
		}
	}
}
