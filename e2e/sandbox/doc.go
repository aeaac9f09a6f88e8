// Package sandbox runs a small volfailover world on one machine with real
// processes: an embedded etcd, the EC2 emulator (ec2sim), the fleet emulator
// (fleetsim) whose agents start units as child processes, and hosts
// core1..coreN on loopback addresses 127.0.<subnet>.N. Every host runs the
// real volfailover binary as fleet's global unit, and the host that holds the
// managed volume runs a real PostgreSQL 15 whose data directory lives on the
// volume's backing directory.
//
// It exists so that operators can rehearse a failover and so that the
// end-to-end tests can drive one: Start brings the world up, KillHost,
// PartitionHost, HealHost and ReviveHost inject host faults, and the
// emulators' journals are exposed for assertions. Stopping an EC2 instance
// (the controller's fence) kills that host's processes, and detaching a
// volume kills the Postgres that was using it, because on real hardware a
// stopped instance runs nothing and a detached EBS device fails every write.
package sandbox
