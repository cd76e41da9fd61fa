package jobgraph

import "hash/fnv"

// KeyGroups is the number of key groups a hash edge divides keys into, as
// Flink's maximum parallelism does: a key always falls into the same key
// group, and each target subtask owns a contiguous range of groups. Keyed
// state kept per key group could thus be moved to another parallelism
// without rehashing any key.
const KeyGroups = MaxParallelism

// KeyGroup returns the key group of key, in [0, KeyGroups). It depends
// only on the key's bytes, so every producer of every binary version that
// speaks this format agrees on it.
func KeyGroup(key []byte) int {
	h := fnv.New64a()
	h.Write(key)
	// FNV's low bits mix poorly for short keys; a 64-bit finalizer spreads
	// every input bit over the bits the modulus keeps.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return int(x % KeyGroups)
}

// SubtaskForKey returns the target subtask of a hash edge that receives
// records with key, for a target of the given parallelism (1 to
// MaxParallelism): the owner of the key's group.
func SubtaskForKey(key []byte, parallelism int) int {
	return KeyGroup(key) * parallelism / KeyGroups
}
