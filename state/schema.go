package state

import "sort"

// KeyRange is the half-open range of keys [Start, End).
type KeyRange struct{ Start, End string }

// schemaEntry is one place of the schema under the prefix: an exact key, or
// a subtree when subtree is set.
type schemaEntry struct {
	key     string
	subtree bool
}

// schema lists every key and subtree volfailover reads or writes under the
// prefix, the alert outbox's included. Whatever else is there was written by
// a human or a tool that got the layout wrong.
func (k Keys) schema() []schemaEntry {
	return []schemaEntry{
		{k.Armed(), true},
		{k.Damping(), true},
		{k.Departed(), true},
		{k.Election() + "/", true},
		{k.History(), true},
		{k.Hosts(), true},
		{k.Journal(), true},
		{k.Outbox(), true},
		{k.Prefix + "/outbox-failed/", true},
		{k.Owners(), false},
		{k.Pause(), false},
		{k.Volumes(), true},
		{k.Witness(), true},
	}
}

// Unknown lists the key ranges under the prefix where the schema has no key.
// A key found in one of them is a typo or a stray (<prefix>/Pause,
// <prefix>/pause/, <prefix>/volume/…): nothing reads it, so an operator who
// wrote it believes in an override that is not in force. The leader reads
// these ranges every round (keys only, all of them empty in a healthy
// cluster) and reports what it finds; it never guesses what the key meant.
func (k Keys) Unknown() []KeyRange {
	entries := k.schema()
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	var out []KeyRange
	start := k.Prefix + "/"
	for _, e := range entries {
		if start < e.key {
			out = append(out, KeyRange{Start: start, End: e.key})
		}
		start = e.key + "\x00"
		if e.subtree {
			start = prefixEnd(e.key)
		}
	}
	if end := prefixEnd(k.Prefix + "/"); start < end {
		out = append(out, KeyRange{Start: start, End: end})
	}
	return out
}

// prefixEnd is the first key after every key that starts with p.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00"
}
