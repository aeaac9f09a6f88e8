package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

func newPauseCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var volume, reason string
	var dur time.Duration
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "pause [--volume V] --reason R [--for DURATION]",
		Short: "Stop volfailover from moving one volume, or any volume",
		Long: `pause writes <prefix>/pause (or <prefix>/volumes/V/pause with --volume) as
{"reason": R, "until": now+DURATION}. While it is in force the leader starts no
move and holds moves in flight at their current step. Without --for it lasts
until resume; --for must be positive. A volume that nothing in etcd mentions
(no journal, history, override, damping record or owners-list entry) is still
paused, with a warning: check the ID.`,
		Args: adminArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("reason") {
				return usageErr(fmt.Errorf("reason: required (--reason); it is shown in status and logs"))
			}
			if cmd.Flags().Changed("for") && dur <= 0 {
				return usageErr(fmt.Errorf("for %s: must be positive; leave --for out for a pause that lasts until resume", dur))
			}
			return withAdmin(cmd, &f, env, func(ctx context.Context, a *admin.Admin) error {
				res, err := a.Pause(ctx, admin.PauseRequest{Volume: volume, Reason: reason, For: dur})
				if err != nil {
					return err
				}
				what := "all volumes"
				if volume != "" {
					what = volume
				}
				printResult(cmd, res.Notes, res.Warnings)
				if out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), "pause result", res)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "paused %s: %s = %s (revision %d)\n", what, res.Key, res.Value, res.Revision)
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&volume, "volume", "", "pause only this volume (vol-…); default: all")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required); shown in status and logs")
	cmd.Flags().DurationVar(&dur, "for", 0, "end the pause by itself after this long (e.g. 2h); default: until resume")
	registerOutput(cmd.Flags(), &out, false)
	return cmd
}

func newResumeCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var volume string
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "resume [--volume V]",
		Short: "Remove a pause (global, or of one volume)",
		Long: `resume deletes <prefix>/pause (or <prefix>/volumes/V/pause). Resuming what is
not paused succeeds and says so. A per-volume resume warns when the volume stays
paused by the global pause or by a malformed override.`,
		Args: adminArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAdmin(cmd, &f, env, func(ctx context.Context, a *admin.Admin) error {
				res, err := a.Resume(ctx, volume)
				if err != nil {
					return err
				}
				printResult(cmd, res.Notes, res.Warnings)
				if out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), "resume result", res)
				}
				if res.Deleted {
					fmt.Fprintf(cmd.OutOrStdout(), "resumed: deleted %s (was %s) at revision %d\n", res.Key, res.Previous, res.Revision)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "nothing to resume: %s did not exist\n", res.Key)
				}
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&volume, "volume", "", "resume only this volume (vol-…); default: the global pause")
	registerOutput(cmd.Flags(), &out, false)
	return cmd
}

// printResult writes notes and warnings to stderr, so stdout holds only the
// result (one line, or one JSON document).
func printResult(cmd *cobra.Command, notes, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	for _, n := range notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
	}
}
