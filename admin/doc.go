// Package admin is what the operator's CLI does to etcd: it writes and removes
// the pause and switchover overrides, and reads the registry, the election,
// the journal and the history into a status snapshot or a history listing,
// rendered as tables for humans or JSON for scripts.
//
// It talks to etcd only, never to a running volfailover, so it works while no
// leader is up. Every value it writes is checked with the same parser the
// leader applies (state.ParsePause, state.ParseSwitchover) before it
// is written.
package admin
