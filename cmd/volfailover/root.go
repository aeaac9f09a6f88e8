package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newRootCmd is the volfailover command tree: run (the agent) and the operator commands.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "volfailover",
		Short:         "Fail a Postgres EBS volume and its fleet unit over to a healthy peer",
		Version:       currentBuild().String(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	// The line is complete as it is; cobra's default would prefix "volfailover version".
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	root.AddCommand(newRunCmd(processEnv()))
	addAdminCommands(root)
	return root
}
