package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

func newHistoryCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var out outputFormat
	var timelines bool
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
				if out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), "history", h)
				}
				return admin.RenderHistory(cmd.OutOrStdout(), h, timelines)
			})
		},
	}
	f.register(cmd.Flags())
	registerOutput(cmd.Flags(), &out, true)
	cmd.Flags().BoolVar(&timelines, "timeline", false, "print each record's steps with their durations")
	return cmd
}
