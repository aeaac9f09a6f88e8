package controller

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
)

// rendezvousScore is the highest-random-weight score of candidate for key: every
// instance computes the same ranking without talking to the others, and removing
// one candidate moves only the keys it ranked first.
func rendezvousScore(key, candidate string) uint64 {
	h := sha256.New()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(candidate))
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// rendezvousTop returns the k candidates ranked highest for key, best first.
func rendezvousTop(key string, candidates []string, k int) []string {
	type scored struct {
		id    string
		score uint64
	}
	s := make([]scored, 0, len(candidates))
	for _, c := range candidates {
		s = append(s, scored{c, rendezvousScore(key, c)})
	}
	sort.Slice(s, func(i, j int) bool {
		if s[i].score != s[j].score {
			return s[i].score > s[j].score
		}
		return s[i].id < s[j].id
	})
	if k > len(s) {
		k = len(s)
	}
	out := make([]string, 0, k)
	for _, x := range s[:k] {
		out = append(out, x.id)
	}
	return out
}

// chooseWitnesses picks the witnesses of owner: the top k live registered
// instances of the owner's AZ, the owner itself excluded.
func chooseWitnesses(owner Owner, hosts map[string]Host, k int) []string {
	var cands []string
	for id, h := range hosts {
		if id != owner.Instance && h.AZ == owner.AZ {
			cands = append(cands, id)
		}
	}
	return rendezvousTop("witness/"+owner.Instance, cands, k)
}
