package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

func newHistoryCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var asJSON, timelines bool
	cmd := &cobra.Command{
		Use:   "history [VOLUME]",
		Short: "List completed failovers and switchovers (of one volume, or all)",
		Args:  adminArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			volume := ""
			if len(a) == 1 {
				volume = a[0]
			}
			return withAdmin(cmd, &f, env, func(ctx context.Context, ad *admin.Admin) error {
				h, err := ad.History(ctx, volume)
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					if err := enc.Encode(h); err != nil {
						return fmt.Errorf("write history: %w", err)
					}
					return nil
				}
				return admin.RenderHistory(cmd.OutOrStdout(), h, timelines)
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the records as JSON")
	cmd.Flags().BoolVar(&timelines, "timeline", false, "print each record's steps with their durations")
	return cmd
}
