package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

func newFailoverCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var to, reason string
	var yes bool
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "failover VOLUME [--to INSTANCE] [--reason R] [--yes]",
		Short: "Fail a volume over now: fence its owner and force-detach, though the verdict is not dead",
		Long: `failover writes <prefix>/volumes/VOLUME/failover = {"to": INSTANCE, "reason": R},
for an owner that is unhealthy but not dead by the verdict. The leader stops
(fences) the owner, force-detaches the volume, attaches it to INSTANCE (or the
best eligible host), moves the metadata and starts Postgres there, as in an
automatic failover; damping and arming do not hold it back, a pause does. The
key is removed when the move starts. It asks for confirmation unless --yes.
Refused while a move of the volume is in flight.`,
		Args: adminArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if !yes {
				where := ""
				if to != "" {
					where = " to " + to
				}
				ok, err := confirm(cmd, fmt.Sprintf("fence the owner of %s and fail it over%s? [y/N] ", a[0], where))
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("failover: not confirmed; nothing written (--yes skips the question)")
				}
			}
			return withAdmin(cmd, &f, env, func(ctx context.Context, ad *admin.Admin) error {
				res, err := ad.Failover(ctx, admin.FailoverRequest{Volume: a[0], To: to, Reason: reason})
				if err != nil {
					return err
				}
				printResult(cmd, res.Notes, res.Warnings)
				if out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), "failover result", res)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "failover of %s requested: %s = %s (revision %d)\n", a[0], res.Key, res.Value, res.Revision)
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&to, "to", "", "target instance ID; default: the best eligible host")
	cmd.Flags().StringVar(&reason, "reason", "", "why; default names the operator")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	registerOutput(cmd.Flags(), &out, false)
	return cmd
}

func newDisarmCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "disarm VOLUME",
		Short: "Disarm a volume: no automatic failover until its Postgres is seen answering again",
		Long: `disarm deletes <prefix>/armed/VOLUME. The leader re-arms the volume the next time
its probe gets a Postgres answer from the owner; until then a dead owner is
reported, never fenced. Use it before re-creating a volume's database.`,
		Args: adminArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return withAdmin(cmd, &f, env, func(ctx context.Context, ad *admin.Admin) error {
				res, err := ad.Disarm(ctx, a[0])
				if err != nil {
					return err
				}
				printResult(cmd, res.Notes, res.Warnings)
				if out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), "disarm result", res)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "disarmed: deleted %s (revision %d)\n", res.Key, res.Revision)
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	registerOutput(cmd.Flags(), &out, false)
	return cmd
}
