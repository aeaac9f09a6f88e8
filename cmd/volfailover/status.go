package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

func newStatusCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show leader, hosts, volumes, overrides, in-flight moves and the last failovers, from etcd",
		Long: `status reads volfailover's state straight from etcd (it needs no running leader):
the leader, the registered hosts, each known volume with its owner and witnesses,
every override (malformed ones are shown: they pause what they name), the moves in
flight and the last move of each volume, with the newest one's timeline step by step.`,
		Args: adminArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAdmin(cmd, &f, env, func(ctx context.Context, a *admin.Admin) error {
				s, err := a.Status(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					if err := enc.Encode(s); err != nil {
						return fmt.Errorf("write status: %w", err)
					}
					return nil
				}
				return admin.RenderStatus(cmd.OutOrStdout(), s)
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}
