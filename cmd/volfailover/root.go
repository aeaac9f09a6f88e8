package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// newRootCmd is the volfailover command tree: run (the agent) and the operator commands.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "volfailover",
		Short:         "Fail a Postgres EBS volume and its fleet unit over to a healthy peer",
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	root.AddCommand(newRunCmd(processEnv()))
	addAdminCommands(root)
	return root
}
