// Package engine negotiates an ApplicationMaster's containers with YARN:
// the caller says what containers it wants, the engine gets them
// allocated, started and kept running.
//
// It is built on the public yarn.AMClient and yarn.NMClient only, through
// the small AMClient and NMClient interfaces it declares (so tests script
// them).
//
// # Use
//
// Register the ApplicationMaster with the AMClient, build an Engine with
// New from a Config naming the clients, the profiles (kinds of container:
// resource including custom types such as yarn.io/gpu, priority, node
// label, locality, execution type, node anti-affinity, and a target count
// each) and a LaunchContext callback, then call Run, which blocks and
// heartbeats until ctx ends or the engine gives up. SetTarget changes a
// profile's count at any time, from any goroutine, and AddTarget by a
// delta in one step; Status reports counts. After Run returns,
// unregister with AMClient.Finish.
//
// # Asks
//
// Each profile has its own allocation request id, so every allocated
// container is matched to its profile exactly (when the RM sends no id the
// engine matches by priority, execution type and capability, preferring a
// profile that named the container's node, then its rack). The engine
// sends the RM, per profile, the total still missing (target − containers
// held), and sends it only when that number differs from what the RM still
// holds by the engine's count (the last total sent, less the containers
// received since). A heartbeat therefore never raises a satisfied ask
// again, the over-allocation of YARN-1902. A total that must grow (a
// higher target, a failed container to replace) grows only once nothing
// is outstanding, since the RM may have allocated outstanding containers
// it has not yet handed over, and a new total would ask for them twice;
// the RM serves one profile's row in order, so this costs at most a
// heartbeat (when nothing arrives for ten slow heartbeats, the counts are
// taken to have drifted apart and the raise goes out anyway). A total that shrinks is sent at once; containers the RM
// allocated before it learned of the lower total arrive all the same, and
// the engine releases any container beyond a target at once and counts
// it (Status.Excess, spindle_engine_containers_excess_total).
//
// A profile with AntiAffinity (at most one of its containers per node)
// is asked for with a SchedulingRequest carrying the profile's allocation
// tag and a node anti-affinity constraint to that tag, instead of
// ResourceRequest rows. The ResourceManager's "scheduler"
// placement-constraint handler keeps a SchedulingRequest's count as a
// total too, so the rules above hold for it unchanged.
//
// Lowering a target releases containers beyond it: first those allocated
// and not yet being started, then those being started, then running ones,
// the most recently allocated first within each group. A caller that
// knows better (which containers are idle) releases them itself with
// Release, which lowers the target with each.
//
// # Attempts
//
// When the submission keeps containers across attempts, a later attempt
// passes the containers its registration returned to Adopt (Run adopts
// those the RM reports later): Config.Adopt decides each one's profile or
// refuses it, adopted containers count toward their targets, and none is
// counted twice. The RM keeps across a failed attempt only the containers
// it holds as RUNNING, those a NodeManager's heartbeat has reported
// started: a container whose start an attempt made just before it failed
// is killed with the attempt, and the next attempt, finding its profile
// short, asks for another.
//
// # Launch and failures
//
// Allocated containers are started with the caller's launch context, at
// most Config.MaxConcurrentStarts at a time and Config.MaxStartsPerNode on
// one NodeManager, round robin over the nodes. A failed start releases the
// container and asks for another. Ended containers are classified by exit
// status (Cause); only the application's own failures (non-zero exit,
// memory limits, failed starts) count against the failure budget,
// Config.MaxFailures within Config.FailureValidity, and exhausting it ends
// Run with a *BudgetError. A host where containers fail repeatedly is
// excluded through the RM's blacklist and readmitted after a timeout,
// never more than a set share of the cluster at once. A profile marked
// RunOnce is a batch: a container that exits 0 lowers its target instead
// of being replaced.
//
// # Heartbeats
//
// Heartbeats come every Config.FastHeartbeat while containers are asked
// for and not yet allocated or released and not yet reported ended, else
// every Config.SlowHeartbeat, and at once
// when a target changes or a start fails. When the RM forgot the attempt
// (after a restart or failover: even with work-preserving recovery the new
// RM wants the ApplicationMaster to register again) the AMClient
// registers again and the engine resends its whole state: asks, blacklist
// and pending releases.
//
// # Concurrency and errors
//
// An Engine's methods are safe for concurrent use. Run runs once;
// Callbacks are called one at a time, in order, on a goroutine of their
// own, never on the heartbeat's, and Run returns only after the last.
// Run's errors: ctx's error, *BudgetError (errors.Is ErrBudgetExhausted),
// ErrShutdown, or a heartbeat error wrapping the AMClient's.
package engine
