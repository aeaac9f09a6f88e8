// Package history judges a recorded run of volfailover controllers against the
// design's safety invariants, the way a Jepsen checker judges a history: after
// the fact, from what was sent and what happened, without a live system.
//
// A History holds every request that reached the EC2 and fleet emulators
// (when it arrived, when it was applied, its arguments and outcome, and which
// controller sent it), ec2sim's own record of state transitions, every
// leadership and etcd session span, the fault windows the harness injected,
// the pause spans, the moments the volume was served, the pages received and
// the controllers' move records. Check is a pure function of a History and
// Options: the end-to-end tests build one from a sandbox and call it at the
// end of each scenario (and after each chaos round); the package's own tests
// feed it crafted histories that break one rule each, which is the proof that
// every check can fail. FalseFailovers, on the same History, lists the
// automatic failovers the truth does not justify (a healthy owner, or one
// down only through a blip); the chaos run prints their rate.
//
// The checks judge what a controller *sent* and when, not what the world
// allowed: ec2sim refuses a second attachment and the sandbox kills a
// Postgres whose volume is gone, but an attach sent while the volume was
// still attached elsewhere is a violation all the same.
package history
