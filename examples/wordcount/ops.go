package main

import (
	"github.com/spindle-yarn/spindle/examples/wordcount/wc"
	"github.com/spindle-yarn/spindle/jobgraph"
)

// The job's operators and graph live in package wc, which builds and
// tests without this command; importing it registers the operators.

// configFail is the job config key of the failure injection -fail-once
// and -fail-always set.
const configFail = wc.ConfigFail

// configHogMemory is the job config key of -hog-memory.
const configHogMemory = wc.ConfigHogMemory

// configPause is the job config key of -pause-ms.
const configPause = wc.ConfigPause

// Graph is the wordcount job of input into output (wc.Graph).
func Graph(input, output string, parallelism int) *jobgraph.JobGraph {
	return wc.Graph(input, output, parallelism)
}
