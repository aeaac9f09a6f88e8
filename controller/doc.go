// Package controller is the brain of volfailover: it keeps an etcd session per
// process, registers the host it runs on, witnesses the owners it is assigned to,
// elects one leader, and — on the leader only — turns the health verdict of every
// owner host into a resumable, journaled failover of its EBS volume and the
// Postgres unit that runs on it.
//
// Everything the leader does to the outside world (EC2, fleet) is preceded by a
// guarded etcd read that proves it still holds the election key, and every
// journal write is a transaction guarded the same way, so a deposed leader can
// neither act nor advance the record.
package controller
