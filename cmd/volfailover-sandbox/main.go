// Command volfailover-sandbox runs a volfailover world on one machine (etcd,
// the EC2 and fleet emulators, hosts with the real volfailover binary and a
// real PostgreSQL 15), injects host faults into a running one, and plays a
// complete failover as a demo. See docs/sandbox.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/sandbox"
)

const usage = `usage: volfailover-sandbox <command> [flags]

commands:
  up               start a sandbox and keep it running until interrupted
  demo             start a sandbox, kill the owner of the volume, follow the failover, verify it
  status           show the hosts, units and events of a running sandbox
  kill-host NAME   SIGKILL every process of a host (-stopped: EC2 reports it stopped)
  partition-host NAME   drop every packet to a host's address
  heal-host NAME   end a partition
  partition-pair A B      cut the network between two hosts, both ways
  heal-pair A B           end a partition-pair
  partition-oneway FROM TO  FROM can no longer open connections to TO (TO still reaches FROM)
  heal-oneway FROM TO     end a partition-oneway
  partition-etcd NAME     cut a host off etcd only (its session expires; all else works)
  heal-etcd NAME          end a partition-etcd
  revive-host NAME boot a dead host again
  kill-member M           SIGKILL etcd member M (etcd1..etcd3)
  restart-member M        start a killed member again on its data directory
  partition-member M      cut member M off its peers and every client
  heal-member M           end a partition-member
  stall-member M [-delay 500ms]  delay every fsync of member M's WAL
  unstall-member M        end a stall-member
  lead-member M           move etcd's leadership to member M (MoveLeader)
  exec-postgres    run PostgreSQL on the volume (the postgres@ unit's command)
  exec-etcd        run one member of the sandbox's etcd cluster (started by up and demo)

Run "volfailover-sandbox <command> -h" for a command's flags.
`

func main() {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "up":
		return runUp(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "status":
		return runStatus(ctx, rest, stdout, stderr)
	case "kill-host", "partition-host", "heal-host", "revive-host", "partition-etcd", "heal-etcd":
		return runHostAction(ctx, cmd, rest, stdout, stderr)
	case "kill-member", "restart-member", "partition-member", "heal-member", "stall-member", "unstall-member", "lead-member":
		return runMemberAction(ctx, cmd, rest, stdout, stderr)
	case "partition-pair", "heal-pair", "partition-oneway", "heal-oneway":
		return runLinkAction(ctx, cmd, rest, stdout, stderr)
	case "exec-postgres":
		return runExecPostgres(ctx, rest, stderr)
	case "exec-etcd":
		return sandbox.RunExecEtcd(ctx, rest, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "volfailover-sandbox: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}
