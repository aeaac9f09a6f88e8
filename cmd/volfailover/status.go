package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

func newStatusCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var out outputFormat
	var watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show leader, hosts, volumes, overrides, in-flight moves and the last failovers, from etcd",
		Long: `status reads volfailover's state straight from etcd (it needs no running leader):
the leader, the registered hosts with the version each runs ("mixed versions"
while an upgrade is under way), each known volume with its owner and witnesses,
every override (malformed ones are shown: they pause what they name), the moves in
flight and the last move of each volume, with the newest one's timeline step by step.

With --watch it prints the status again every --interval until interrupted
(Ctrl-C); each read is bounded by --timeout, and a read that fails is reported
on stderr without ending the watch. With -o json each round is one document.`,
		Args: adminArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval <= 0 {
				return usageErr(fmt.Errorf("interval %s: must be positive", interval))
			}
			return openAdmin(cmd, &f, env, func(a *admin.Admin) error {
				once := func() error {
					ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
					defer cancel()
					s, err := a.Status(ctx)
					if err != nil {
						return err
					}
					if out == outputJSON {
						return writeJSON(cmd.OutOrStdout(), "status", s)
					}
					return admin.RenderStatus(cmd.OutOrStdout(), s)
				}
				if !watch {
					return once()
				}
				return watchLoop(cmd, interval, f.endpoints, once)
			})
		},
	}
	f.register(cmd.Flags())
	registerOutput(cmd.Flags(), &out, true)
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "print the status again every --interval until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "with --watch, time between two prints")
	return cmd
}

// watchLoop runs once now and then every interval until the command's
// context ends (Ctrl-C), which is the normal way out: it returns nil then.
// A round that fails is reported on stderr and the watch goes on, because
// an etcd that is briefly unreachable is exactly what one watches for.
func watchLoop(cmd *cobra.Command, interval time.Duration, endpoints []string, once func() error) error {
	ctx := cmd.Context()
	t := time.NewTicker(interval)
	defer t.Stop()
	for round := 0; ; round++ {
		if round > 0 {
			fmt.Fprintln(cmd.OutOrStdout())
		}
		if err := once(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "volfailover: status:", withEndpoints(err, endpoints))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
