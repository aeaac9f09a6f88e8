package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/controller"
)

// policyFile is the shipped IAM policy of a partition, relative to the
// repository root; the "aws" one keeps its historical name.
func policyFile(partition string) string {
	if partition == "aws" || partition == "" {
		return "docs/deploy/iam-policy.json"
	}
	return "docs/deploy/iam-policy-" + partition + ".json"
}

// iamPolicy renders the policy for a partition with the tag keys the
// controller really writes, so the policy and the code cannot drift apart.
func iamPolicy(partition, managedTagKey string) ([]byte, error) {
	return awsops.IAMPolicy(awsops.PolicyOptions{
		Partition:     partition,
		ManagedTagKey: managedTagKey,
		ClusterTagKey: awsops.DefaultInstanceTagKey,
		VolumeTagKeys: []string{controller.TagEpoch, controller.TagFailoverID},
	})
}

func newIAMPolicyCmd(env adminEnv) *cobra.Command {
	var partition, managedTagKey string
	cmd := &cobra.Command{
		Use:   "iam-policy",
		Short: "Print the least-privilege IAM policy for volfailover's role in one AWS partition",
		Long: `iam-policy prints the IAM policy (JSON) that run and check need, for the
partition of your region: aws, aws-cn (China) or aws-us-gov (GovCloud); ARNs
differ per partition, so a policy for one matches nothing in another. check
names the partition of the configured region. The files docs/deploy/iam-policy*.json
are this output.`,
		Args: adminArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, env); err != nil {
				return err
			}
			b, err := iamPolicy(partition, managedTagKey)
			if err != nil {
				return usageErr(err)
			}
			if _, err := cmd.OutOrStdout().Write(b); err != nil {
				return fmt.Errorf("write policy: %w", err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&partition, "partition", "aws", fmt.Sprintf("AWS partition, one of %v", awsops.Partitions()))
	fs.StringVar(&managedTagKey, "managed-tag-key", controller.DefaultOptions().ManagedTagKey, "EBS tag key marking managed volumes, as given to run")
	markEnv(fs, "partition", "managed-tag-key")
	return cmd
}
