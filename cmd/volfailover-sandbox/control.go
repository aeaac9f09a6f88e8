package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/volfailover/volfailover/e2e/sandbox"
)

// runHostAction is kill-host, partition-host, heal-host, revive-host,
// partition-etcd and heal-etcd.
func runHostAction(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "control API of the sandbox (default: $SANDBOX_ENDPOINT or sandbox.env)")
	stopped := false
	if cmd == "kill-host" {
		fs.BoolVar(&stopped, "stopped", false, "also stop the instance in EC2 (default: EC2 keeps it running)")
	}
	name, cli, code := namedTarget(fs, cmd, "NAME", args, endpoint, stderr)
	if cli == nil {
		return code
	}
	action := strings.TrimSuffix(cmd, "-host")
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cli.HostAction(cctx, name, action, stopped); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s done\n", name, action)
	return 0
}

// namedTarget parses a command that names one target (a host or a member),
// before or after its flags, and connects to the sandbox's control API. On a
// usage or connection error it has said why on stderr and returns a nil
// client and the exit code.
func namedTarget(fs *flag.FlagSet, cmd, what string, args []string, endpoint *string, stderr io.Writer) (string, *sandbox.Client, int) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", nil, 2
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	} else if fs.NArg() != 0 || name == "" {
		fmt.Fprintf(stderr, "usage: volfailover-sandbox %s %s [flags]\n", cmd, what)
		return "", nil, 2
	}
	cli, err := client(*endpoint)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return "", nil, 2
	}
	return name, cli, 0
}

// runMemberAction is kill-member, restart-member, partition-member,
// heal-member, stall-member, unstall-member and lead-member: faults of one
// member of the sandbox's etcd cluster.
func runMemberAction(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "control API of the sandbox (default: $SANDBOX_ENDPOINT or sandbox.env)")
	var delay time.Duration
	if cmd == "stall-member" {
		fs.DurationVar(&delay, "delay", 500*time.Millisecond, "how long every fsync of the member's WAL waits")
	}
	name, cli, code := namedTarget(fs, cmd, "MEMBER", args, endpoint, stderr)
	if cli == nil {
		return code
	}
	action := strings.TrimSuffix(cmd, "-member")
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cli.MemberAction(cctx, name, action, delay); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s done\n", name, action)
	return 0
}

// runLinkAction is partition-pair, heal-pair, partition-oneway and
// heal-oneway: faults between two hosts.
func runLinkAction(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "control API of the sandbox (default: $SANDBOX_ENDPOINT or sandbox.env)")
	// accept the host names before or after the flags
	var names []string
	for len(args) > 0 && len(names) < 2 && !strings.HasPrefix(args[0], "-") {
		names, args = append(names, args[0]), args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	names = append(names, fs.Args()...)
	if len(names) != 2 {
		arg := "A B"
		if strings.HasSuffix(cmd, "-oneway") {
			arg = "FROM TO"
		}
		fmt.Fprintf(stderr, "usage: volfailover-sandbox %s %s [flags]\n", cmd, arg)
		return 2
	}
	cli, err := client(*endpoint)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 2
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cli.LinkAction(cctx, names[0], names[1], cmd); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s %s: %s done\n", names[0], names[1], cmd)
	return 0
}

func client(flagValue string) (*sandbox.Client, error) {
	ep, err := controlEndpoint(flagValue)
	if err != nil {
		return nil, err
	}
	return sandbox.NewClient(ep)
}

// runStatus prints the running sandbox's hosts, units and events.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "control API of the sandbox (default: $SANDBOX_ENDPOINT or sandbox.env)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "status: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cli, err := client(*endpoint)
	if err != nil {
		fmt.Fprintf(stderr, "status: %v\n", err)
		return 2
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := cli.Status(cctx)
	if err != nil {
		fmt.Fprintf(stderr, "status: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "volume %s attached to %s; postgres running on %v\n\n", st.Volume, orNone(st.Owner), st.PostgresHosts)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tADDRESS\tAZ\tINSTANCE\tEC2 STATE\tHOST STATE")
	for _, h := range st.Hosts {
		state := "up"
		switch {
		case h.Down:
			state = "down"
		case h.Partitioned:
			state = "partitioned"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Addr, h.AZ, h.InstanceID, h.InstanceState, state)
	}
	tw.Flush()
	if len(st.Cuts) > 0 {
		fmt.Fprintln(stdout, "\nnetwork cuts (packets dropped):")
		for _, c := range st.Cuts {
			fmt.Fprintf(stdout, "  %s\n", c)
		}
	}
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tUNIT\tACTIVE\tSUB\tPID")
	for _, u := range st.Units {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", u.Host, u.Unit, u.Active, u.Sub, u.PID)
	}
	tw.Flush()
	if len(st.Events) > 0 {
		fmt.Fprintln(stdout, "\nevents:")
		for _, e := range st.Events {
			fmt.Fprintf(stdout, "  %s  %-6s %s\n", e.Time.Format("15:04:05.000"), e.Host, e.What)
		}
	}
	return 0
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
