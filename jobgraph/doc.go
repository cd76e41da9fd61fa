// Package jobgraph models a job as a graph of operators, validates it,
// serializes it for shipping to a cluster, and plans it into containers and
// slots that the negotiation engine in package yarn requests from the
// ResourceManager.
package jobgraph
