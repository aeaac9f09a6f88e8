package bench

import (
	"fmt"
	"strings"
)

// quotedPeer is a peer figure taken from documentation, not measured here.
type quotedPeer struct {
	Tool, Figure, Assumes string
	Sources               []string
}

// quotedPeers are the peers this machine cannot run. Each figure states the
// defaults it assumes and where they are documented.
var quotedPeers = []quotedPeer{
	{
		Tool:   "Kubernetes, Deployment pod with an EBS (ReadWriteOnce) volume",
		Figure: "about 11–12 min (40–50 s + 5 min + 6 min, then the attach)",
		Assumes: "node-monitor-grace-period 40 s (50 s from Kubernetes 1.32); the default NoExecute tolerations for " +
			"node.kubernetes.io/unreachable and not-ready with tolerationSeconds 300, after which the pod is evicted and its " +
			"ReplicaSet creates a replacement; the attach/detach controller then waits its fixed maxWaitForUnmountDuration " +
			"(6 min) before force-detaching the volume from the dead node, and only then attaches it to the new one",
		Sources: []string{
			"https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
			"https://github.com/kubernetes/kubernetes/pull/126287",
			"https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions",
			"https://github.com/kubernetes/kubernetes/blob/954fa57f0ead10b520328e1b936912290ced62ee/pkg/controller/volume/attachdetach/attach_detach_controller.go#L80",
			"https://github.com/kubernetes/kubernetes/issues/105341",
		},
	},
	{
		Tool:   "Kubernetes, StatefulSet pod (how Postgres usually runs)",
		Figure: "never, without intervention",
		Assumes: "a pod on an unreachable node is not deleted (its kubelet cannot confirm it stopped), and a StatefulSet " +
			"creates no second pod of the same identity, so the pod stays Terminating until someone force-deletes it or deletes " +
			"the node; since Kubernetes 1.28 an operator (or automation) that knows the node is down can add the " +
			"node.kubernetes.io/out-of-service taint, and the pod is then deleted and the volume detached at once: the time " +
			"is then whoever adds the taint",
		Sources: []string{
			"https://kubernetes.io/docs/tasks/run-application/force-delete-stateful-set-pod/",
			"https://kubernetes.io/docs/concepts/cluster-administration/node-shutdown/#non-graceful-node-shutdown",
			"https://github.com/kubernetes/kubernetes/issues/54368",
		},
	},
	{
		Tool:   "Stolon",
		Figure: "about 25–30 s",
		Assumes: "cluster specification defaults: failInterval 20 s (a keeper is unhealthy 20 s after its first failed check), " +
			"sleepInterval 5 s between checks, requestTimeout 10 s; the proxy then follows the new master",
		Sources: []string{"https://github.com/sorintlab/stolon/blob/master/doc/cluster_spec.md"},
	},
}

// renderPeers writes the peer section: the measured table, the ratios,
// what each design pays, and the quoted peers with their sources.
func renderPeers(p func(string, ...any), r *Results) {
	p("## 5. Peers, measured on this machine\n\n")
	pr := r.Peers
	if pr == nil {
		p("Not measured yet: `go run ./cmd/volfailover-bench -out docs/benchmarks -only peers`.\n\n")
		renderQuoted(p)
		return
	}
	first := pr.Measured
	for _, row := range pr.Rows {
		if !row.Measured.IsZero() && row.Measured.Before(first) {
			first = row.Measured
		}
	}
	when := pr.Measured.UTC().Format("2006-01-02 15:04 UTC")
	if f := first.UTC().Format("2006-01-02 15:04 UTC"); f != when {
		when = f + " to " + when
	}
	p("Measured %s, last at commit `%s`. Each peer runs on loopback addresses 127.0.3.x with the same\n", when, pr.Commit)
	p("PostgreSQL 15 binaries (`/usr/lib/postgresql/15/bin`, as the `postgres` user) and the same\n")
	p("writer as section 1 (one row per autocommit INSERT, retried every 20 ms). The fault is the\n")
	p("sandbox's: every process of the primary's host (the supervisor, PostgreSQL and its children)\n")
	p("is stopped and then SIGKILLed. Recovery is from the kill to the writer's first acknowledged\n")
	p("commit on the new primary; rows lost are rows acknowledged before the kill and missing on the\n")
	p("new primary. After each kill the dead host is started again and rejoins as the replica, and\n")
	p("the next run waits until a replica streams again.\n\n")
	p("- **Patroni**: two nodes, streaming replication (asynchronous, Patroni's default), DCS = the\n")
	p("  project's embedded etcd through its v3 HTTP gateway (Patroni's `etcd3`). The writer follows\n")
	p("  the leader the way Patroni's HAProxy example does, through the REST API's `/primary` check,\n")
	p("  but asks on every reconnect instead of every few seconds (HAProxy's `inter`), which favours Patroni.\n")
	p("- **pg_auto_failover**: a monitor and two data nodes made by `pg_autoctl create`; with two\n")
	p("  data nodes its default is synchronous replication. The writer uses the multi-host URI\n")
	p("  `pg_autoctl show uri --formation default` prints (`target_session_attrs=read-write`).\n")
	p("- **volfailover**: the rows are section 1's recovery benchmark of this same run.\n\n")
	p("| tool | settings | version | runs | p50 | p95 | max | rows lost / acknowledged |\n|---|---|---|---|---|---|---|---|\n")
	for _, row := range pr.Rows {
		if row.Error != "" {
			p("| %s %s | %s | %s | — | **could not run** | | | |\n", row.Tool, row.Label, settingsText(row.Settings), row.Version)
			continue
		}
		p("| %s %s | %s | %s | %d | %s | %s | %s | %d / %d |\n", row.Tool, row.Label, settingsText(row.Settings), row.Version,
			row.Recovery.N, sec(row.Recovery.P50ms), sec(row.Recovery.P95ms), sec(row.Recovery.MaxMs), row.Lost, row.Acked)
	}
	p("\nWhere the settings come from:\n\n")
	for _, row := range pr.Rows {
		if row.Basis != "" {
			p("- %s %s: %s.\n", row.Tool, row.Label, row.Basis)
		}
	}
	for _, row := range pr.Rows {
		if row.Error != "" {
			p("\n**%s %s could not be measured.** The exact error:\n\n```\n%s\n```\n", row.Tool, row.Label, strings.TrimSpace(row.Error))
		}
	}
	if base := pr.Row("volfailover", "aws-typical"); base != nil && base.Recovery.N > 0 {
		p("\n**Ratios** (volfailover aws-typical p50 ÷ the peer's p50; below 1 volfailover is faster). Only the\n")
		p("aws-typical profile is compared: the instant profile's emulated EC2 answers in about a millisecond.\n\n")
		p("| peer | ratio |\n|---|---|\n")
		for _, x := range pr.Ratios(base) {
			p("| %s | %.2f |\n", x.Peer, x.Ratio)
		}
	}
	p("\n**What each design pays.** Patroni and pg_auto_failover keep a second full copy of the data on a\n")
	p("second running PostgreSQL that streams the WAL (twice the disks and a standing replica's CPU and\n")
	p("memory); with asynchronous replication (Patroni's default) a failover can lose the last\n")
	p("acknowledged commits, and pg_auto_failover's synchronous default makes every commit wait for the\n")
	p("standby. volfailover keeps one copy on one EBS volume and moves it: its time includes an EBS detach\n")
	p("and attach (emulated here; the aws-typical profile adds AWS's published latencies) and a\n")
	p("PostgreSQL crash-recovery start, and the new owner mounts the very volume every commit was written\n")
	p("to. The rows-lost column is this run's measurement for each design, not a claim.\n\n")
	p("**What the sandbox leaves out** of volfailover's figure on real AWS: the tail of EBS attach times\n")
	p("(the profile models typical latencies, not the slow attaches), pulling the Postgres image when the\n")
	p("new host does not have it (`docker pull`), and crash recovery of a large WAL (the benchmark's\n")
	p("database is small, so its crash recovery replays little).\n\n")
	renderQuoted(p)
}

func renderQuoted(p func(string, ...any)) {
	p("### Quoted, not measured\n\nThese cannot run on this machine; the figures are derived from their documented defaults.\n\n")
	p("| peer | time to serve again after its host dies | assumes | sources |\n|---|---|---|---|\n")
	for _, q := range quotedPeers {
		links := make([]string, len(q.Sources))
		for i, s := range q.Sources {
			links[i] = fmt.Sprintf("[%d](%s)", i+1, s)
		}
		p("| %s (quoted) | %s | %s | %s |\n", q.Tool, q.Figure, q.Assumes, strings.Join(links, " "))
	}
	p("\n")
}
