package controller

import (
	"slices"
	"sync"

	"github.com/volfailover/volfailover/state"
)

// FNV-1a 64-bit parameters (hash/fnv), inlined so that scoring allocates nothing.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// mix64 is the splitmix64 finalizer: FNV alone leaves candidates that differ
// only in their last characters (instance IDs) with correlated high bits, and
// rendezvous hashing needs every bit of the score to depend on all of the input.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// rendezvousScore is the highest-random-weight score of candidate for key: every
// instance computes the same ranking without talking to the others, and removing
// one candidate moves only the keys it ranked first. It needs good mixing, not
// collision resistance, so it is a cheap non-cryptographic hash.
func rendezvousScore(key, candidate string) uint64 {
	return scoreFrom(fnvAdd(fnvAdd(fnvOffset64, key), "\x00"), candidate)
}

// scoreFrom finishes a score from the hash state of key and its separator.
func scoreFrom(keyState uint64, candidate string) uint64 {
	return mix64(fnvAdd(keyState, candidate))
}

// rendezvousTop returns the k candidates ranked highest for key, best first
// (ties broken by ID), skipping exclude. It keeps only the best k while it
// scans: O(n·k) with k the handful of witnesses, instead of sorting all n.
func rendezvousTop(key string, candidates []string, k int, exclude string) []string {
	type scored struct {
		id    string
		score uint64
	}
	better := func(a, b scored) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		return a.id < b.id
	}
	if k <= 0 {
		return []string{}
	}
	state := fnvAdd(fnvAdd(fnvOffset64, key), "\x00")
	top := make([]scored, 0, k+1)
	for _, c := range candidates {
		if c == exclude {
			continue
		}
		s := scored{c, scoreFrom(state, c)}
		if len(top) == k && !better(s, top[k-1]) {
			continue
		}
		i := len(top)
		for i > 0 && better(s, top[i-1]) {
			i--
		}
		top = slices.Insert(top, i, s)
		if len(top) > k {
			top = top[:k]
		}
	}
	out := make([]string, len(top))
	for i, s := range top {
		out[i] = s.id
	}
	return out
}

// chooseWitnesses picks the witnesses of owner: the top k live registered
// instances of the owner's AZ, the owner itself excluded.
func chooseWitnesses(owner state.Owner, hosts map[string]state.Host, k int) []string {
	var cands []string
	for id, h := range hosts {
		if h.AZ == owner.AZ {
			cands = append(cands, id)
		}
	}
	return rendezvousTop("witness/"+owner.Instance, cands, k, owner.Instance)
}

// witnessCache remembers each owner's witnesses between rounds. An owner's
// witnesses depend only on its ID, its AZ and the set of live hosts in that
// AZ, so an entry stays valid until that set changes; owners that left the
// list are dropped at the next call. Each user (the witness loop, a leader
// term) keeps its own cache.
type witnessCache struct {
	mu      sync.Mutex
	k       int
	azHosts map[string][]string // AZ → sorted live host IDs the entries were computed from
	byOwner map[string]cachedWitnesses
}

type cachedWitnesses struct {
	az        string
	witnesses []string
}

func newWitnessCache(k int) *witnessCache {
	return &witnessCache{k: k, azHosts: map[string][]string{}, byOwner: map[string]cachedWitnesses{}}
}

// assign returns owner instance → its witnesses for every owner; the slices
// are shared with the cache and must not be modified.
func (c *witnessCache) assign(owners []state.Owner, hosts map[string]state.Host) map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	azHosts := map[string][]string{}
	for id, h := range hosts {
		azHosts[h.AZ] = append(azHosts[h.AZ], id)
	}
	changed := map[string]bool{}
	for az, ids := range azHosts {
		slices.Sort(ids)
		if !slices.Equal(ids, c.azHosts[az]) {
			changed[az] = true
		}
	}
	for az := range c.azHosts {
		if _, ok := azHosts[az]; !ok {
			changed[az] = true
		}
	}
	c.azHosts = azHosts
	out := make(map[string][]string, len(owners))
	next := make(map[string]cachedWitnesses, len(owners))
	for _, o := range owners {
		e, ok := c.byOwner[o.Instance]
		if !ok || e.az != o.AZ || changed[o.AZ] {
			e = cachedWitnesses{az: o.AZ, witnesses: rendezvousTop("witness/"+o.Instance, azHosts[o.AZ], c.k, o.Instance)}
		}
		next[o.Instance] = e
		out[o.Instance] = e.witnesses
	}
	c.byOwner = next
	return out
}
