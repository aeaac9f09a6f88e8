package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/admin"
)

// Exit codes of the operator commands, documented in docs/operations.md.
const (
	// exitOK: the command did what was asked (also: resume of something not paused).
	exitOK = 0
	// exitFailed: the operation failed or was refused (a move in progress, a
	// write that lost a race, a check that found a problem such as a denied permission).
	exitFailed = 1
	// exitUsage: bad flags, arguments or environment, or a target that cannot
	// work (unknown host, other AZ); nothing was written.
	exitUsage = 2
	// exitUnreachable: etcd, fleet or EC2 did not answer in time.
	exitUnreachable = 3
)

// codedError carries an exit code chosen by the command.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// usageErr marks err as bad input (exit 2).
func usageErr(err error) error { return &codedError{code: exitUsage, err: err} }

// exitCode maps an error returned by a command to the process exit code:
// 0 nil, 2 bad input, 3 a dependency unreachable, 1 anything else.
func exitCode(err error) int {
	var ce *codedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, admin.ErrInvalid):
		return exitUsage
	case errors.Is(err, admin.ErrUnreachable) || admin.Unreachable(err):
		return exitUnreachable
	}
	return exitFailed
}

// addAdminCommands adds the operator commands (status, pause, resume,
// switchover, abort, clear-damping, history, check, iam-policy) to root.
func addAdminCommands(root *cobra.Command) {
	addAdminCommandsWith(root, processEnv())
}

func addAdminCommandsWith(root *cobra.Command, env adminEnv) {
	for _, c := range []*cobra.Command{
		newStatusCmd(env), newPauseCmd(env), newResumeCmd(env),
		newSwitchoverCmd(env), newFailoverCmd(env), newAbortCmd(env), newClearDampingCmd(env), newDisarmCmd(env),
		newHistoryCmd(env), newCheckCmd(env), newIAMPolicyCmd(env),
	} {
		c.SilenceUsage = true
		c.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
			return usageErr(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
		})
		root.AddCommand(c)
	}
}

// adminArgs wraps a cobra argument check so a wrong count is a usage error.
func adminArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageErr(fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath()))
		}
		return nil
	}
}
