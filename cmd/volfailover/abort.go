package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

func newAbortCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var reason string
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "abort VOLUME [--reason R]",
		Short: "Withdraw a pending switchover, or hold a move in flight by pausing the volume",
		Long: `abort stops what can be stopped safely of a volume's move, writing only keys
the leader honours. A switchover that was requested and not yet started is
withdrawn (<prefix>/volumes/VOLUME/switchover is deleted). A move already in
flight cannot be undone from outside: the old owner may be stopped and the
volume detached, and the journal record is what lets the leader finish or
resume it safely, so it is never deleted. Instead abort pauses the volume
(<prefix>/volumes/VOLUME/pause), which holds the move at its current step;
decide with status where the volume is, then resume --volume VOLUME to let the
move go on from there. Nothing to abort is not an error.`,
		Args: adminArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return withAdmin(cmd, &f, env, func(ctx context.Context, ad *admin.Admin) error {
				res, err := ad.Abort(ctx, a[0], reason)
				if err != nil {
					return err
				}
				printResult(cmd, res.Notes, nil)
				if out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), "abort result", res)
				}
				w := cmd.OutOrStdout()
				switch {
				case res.SwitchoverRemoved != "":
					fmt.Fprintf(w, "aborted: withdrew the switchover request of %s (was %s) at revision %d\n", res.Volume, res.SwitchoverRemoved, res.Revision)
				case res.Paused != nil:
					fmt.Fprintf(w, "held: %s is in flight; paused %s: %s = %s (revision %d)\n", res.InFlight, res.Volume, res.Paused.Key, res.Paused.Value, res.Revision)
				case res.InFlight != "":
					fmt.Fprintf(w, "held already: %s\n", res.InFlight)
				default:
					fmt.Fprintf(w, "nothing to abort for %s\n", res.Volume)
				}
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the pause that holds a move in flight; default names the move and the operator")
	registerOutput(cmd.Flags(), &out, false)
	return cmd
}

func newClearDampingCmd(env adminEnv) *cobra.Command {
	var f etcdFlags
	var yes bool
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "clear-damping VOLUME [--yes]",
		Short: "Delete a volume's flap-damping record, after showing what it held",
		Long: `clear-damping shows <prefix>/damping/VOLUME (the times of the volume's recent
automatic failovers, or the value and its parse error when it does not parse)
and deletes it after you confirm, or at once with --yes. Without the record the
cooldown and max-failovers count start afresh: the next dead owner is failed
over automatically. Fix why the volume kept failing over first. The delete is
refused if the leader recorded another failover since the record was shown.`,
		Args: adminArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return withAdmin(cmd, &f, env, func(ctx context.Context, ad *admin.Admin) error {
				d, err := ad.Damping(ctx, a[0])
				if err != nil {
					return err
				}
				// What it held goes to stderr in JSON mode, so stdout stays one document.
				show := cmd.OutOrStdout()
				if out == outputJSON {
					show = cmd.ErrOrStderr()
				}
				if !d.Exists {
					if out == outputJSON {
						return writeJSON(cmd.OutOrStdout(), "clear-damping result", dampingResult{Record: d})
					}
					fmt.Fprintf(show, "nothing to clear: %s does not exist\n", d.Key)
					return nil
				}
				describeDamping(show, d)
				if !yes {
					ok, err := confirm(cmd, fmt.Sprintf("delete %s? [y/N] ", d.Key))
					if err != nil {
						return err
					}
					if !ok {
						return errors.New("clear-damping: not confirmed; nothing deleted (--yes skips the question)")
					}
				}
				res, err := ad.ClearDamping(ctx, d)
				if err != nil {
					return err
				}
				if out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), "clear-damping result", dampingResult{Record: d, Result: &res})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "cleared: deleted %s at revision %d\n", res.Key, res.Revision)
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	registerOutput(cmd.Flags(), &out, false)
	return cmd
}

// dampingResult is clear-damping's JSON: what the record held and the delete.
type dampingResult struct {
	Record admin.DampingRecord `json:"record"`
	Result *admin.WriteResult  `json:"result,omitempty"`
}

func describeDamping(w io.Writer, d admin.DampingRecord) {
	if d.Error != "" {
		fmt.Fprintf(w, "%s does not parse (the leader treats %s as damped): %s\n  value: %s\n", d.Key, d.Volume, d.Error, d.Value)
		return
	}
	fmt.Fprintf(w, "%s holds %d automatic failover(s) of %s:\n", d.Key, len(d.Failovers), d.Volume)
	for _, t := range d.Failovers {
		fmt.Fprintf(w, "  %s\n", t.UTC().Format("2006-01-02T15:04:05Z07:00"))
	}
}

// confirm asks on stderr and reads one line from stdin; only y or yes agrees.
// No answer (stdin closed, as in a script) is no.
func confirm(cmd *cobra.Command, question string) (bool, error) {
	fmt.Fprint(cmd.ErrOrStderr(), question)
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(cmd.ErrOrStderr())
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
