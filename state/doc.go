// Package state is the one place the etcd schema of volfailover lives: the key
// layout under the prefix, and every value stored there (journal records and
// their steps, host registrations, the owners list, witness reports, the
// operator's overrides, the damping record), each with one strict parser and
// validator.
//
// The leader, the operator's CLI (package admin), the sandbox and the
// end-to-end monitor all read the same keys. If each kept its own copy of the
// layout or of the rules, a value one of them accepts could be one another
// rejects, and an operator would see a status the leader does not act on.
// Keeping the schema here, in a package that imports no other package of this
// project, lets every reader and writer share it without importing the
// controller.
package state
