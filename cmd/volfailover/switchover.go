package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

func newSwitchoverCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var to, reason string
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "switchover VOLUME --to INSTANCE [--reason R]",
		Short: "Ask the leader for a planned, graceful move of a volume to another host",
		Long: `switchover writes <prefix>/volumes/VOLUME/switchover = {"to": INSTANCE, "reason": R}.
The target must be registered (a live volfailover on it), not nofailover, and in
the volume's AZ when etcd knows it. The leader stops the unit through fleet,
detaches, attaches to the target, moves the metadata and starts the unit there,
then removes the key. Refused while a move of the volume is in flight.
volfailover abort VOLUME withdraws a request the leader has not started.`,
		Args: adminArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if to == "" {
				return usageErr(fmt.Errorf("to: required (--to i-…)"))
			}
			return withAdmin(cmd, &f, env, func(ctx context.Context, ad *admin.Admin) error {
				res, err := ad.Switchover(ctx, admin.SwitchoverRequest{Volume: a[0], To: to, Reason: reason})
				if err != nil {
					return err
				}
				printResult(cmd, res.Notes, res.Warnings)
				if out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), "switchover result", res)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "switchover of %s to %s requested: %s = %s (revision %d)\n", a[0], to, res.Key, res.Value, res.Revision)
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&to, "to", "", "target instance ID (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why; default names the operator")
	registerOutput(cmd.Flags(), &out, false)
	return cmd
}
