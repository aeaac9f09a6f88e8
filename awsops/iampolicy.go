package awsops

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
)

// partitionRegions maps each AWS partition to the regions it holds. ARNs
// name the partition ("arn:aws-cn:ec2:…"), so an IAM policy written for
// "aws" matches nothing in China or GovCloud. The expressions are the
// regionRegex values of aws-sdk-go-v2@v1.48.0
// internal/endpoints/awsrulesfn/partitions.json (an internal package, so
// copied here), in the order the SDK tries them.
var partitionRegions = []struct {
	id string
	re *regexp.Regexp
}{
	{"aws", regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`)},
	{"aws-cn", regexp.MustCompile(`^cn\-\w+\-\d+$`)},
	{"aws-eusc", regexp.MustCompile(`^eusc\-(de)\-\w+\-\d+$`)},
	{"aws-iso", regexp.MustCompile(`^us\-iso\-\w+\-\d+$`)},
	{"aws-iso-b", regexp.MustCompile(`^us\-isob\-\w+\-\d+$`)},
	{"aws-iso-e", regexp.MustCompile(`^eu\-isoe\-\w+\-\d+$`)},
	{"aws-iso-f", regexp.MustCompile(`^us\-isof\-\w+\-\d+$`)},
	{"aws-us-gov", regexp.MustCompile(`^us\-gov\-\w+\-\d+$`)},
}

// Partition returns the AWS partition of region ("aws", "aws-cn",
// "aws-us-gov", ...), or false when no partition claims it. The expressions
// do not overlap (\w does not match "-", so "aws" does not take
// us-gov-west-1).
func Partition(region string) (string, bool) {
	for _, p := range partitionRegions {
		if p.re.MatchString(region) {
			return p.id, true
		}
	}
	return "", false
}

// Partitions lists the partitions Partition knows, sorted.
func Partitions() []string {
	out := make([]string, 0, len(partitionRegions))
	for _, p := range partitionRegions {
		out = append(out, p.id)
	}
	slices.Sort(out)
	return out
}

// PolicyOptions are what the IAM policy depends on.
type PolicyOptions struct {
	// Partition is the ARN partition, e.g. "aws", "aws-cn", "aws-us-gov".
	Partition string
	// ManagedTagKey marks the volumes volfailover may move (Options.ManagedTagKey).
	ManagedTagKey string
	// ClusterTagKey marks the instances volfailover may fence, attach to and
	// detach from (DefaultInstanceTagKey).
	ClusterTagKey string
	// VolumeTagKeys are the tag keys volfailover writes on a moved volume;
	// CreateTags is allowed for exactly these.
	VolumeTagKeys []string
}

// policy and statement give the JSON a fixed field order, so the shipped
// files diff cleanly.
type policy struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Action    any                       `json:"Action"`
	Resource  any                       `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// IAMPolicy renders the least-privilege IAM policy for volfailover's role
// in one partition, as indented JSON ending in a newline. Each statement
// names the calls it allows and why; resource-level conditions confine the
// mutations to managed volumes and cluster instances.
func IAMPolicy(o PolicyOptions) ([]byte, error) {
	if !slices.Contains(Partitions(), o.Partition) {
		return nil, fmt.Errorf("iam policy: partition %q is not one of %v", o.Partition, Partitions())
	}
	if o.ManagedTagKey == "" || o.ClusterTagKey == "" || len(o.VolumeTagKeys) == 0 {
		return nil, fmt.Errorf("iam policy: ManagedTagKey, ClusterTagKey and VolumeTagKeys are required")
	}
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:*:*:%s", o.Partition, service, resource)
	}
	managedVolume := map[string]map[string]any{"Null": {"aws:ResourceTag/" + o.ManagedTagKey: "false"}}
	clusterInstance := map[string]map[string]any{"StringLike": {"aws:ResourceTag/" + o.ClusterTagKey: "?*"}}
	tagKeys := slices.Sorted(slices.Values(o.VolumeTagKeys))
	p := policy{Version: "2012-10-17", Statement: []statement{
		{Sid: "DescribeForHealthAndPlanning", Effect: "Allow",
			Action:   []string{"ec2:DescribeVolumes", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus"},
			Resource: "*"},
		{Sid: "MoveManagedVolumesOnly", Effect: "Allow",
			Action: []string{"ec2:AttachVolume", "ec2:DetachVolume"}, Resource: arn("ec2", "volume/*"), Condition: managedVolume},
		{Sid: "AttachDetachOnClusterInstancesOnly", Effect: "Allow",
			Action: []string{"ec2:AttachVolume", "ec2:DetachVolume"}, Resource: arn("ec2", "instance/*"), Condition: clusterInstance},
		{Sid: "FenceClusterInstancesOnly", Effect: "Allow",
			Action: "ec2:StopInstances", Resource: arn("ec2", "instance/*"), Condition: clusterInstance},
		// DeleteOnTermination of a cluster instance's block-device mapping
		// (run --fix-delete-on-termination). The action cannot be narrowed
		// to that one attribute by a condition this project verified, so
		// it is confined to cluster instances like the stop.
		{Sid: "ClearDeleteOnTerminationOnClusterInstances", Effect: "Allow",
			Action: "ec2:ModifyInstanceAttribute", Resource: arn("ec2", "instance/*"), Condition: clusterInstance},
		{Sid: "StampFailoverEpochOnManagedVolumes", Effect: "Allow",
			Action: "ec2:CreateTags", Resource: arn("ec2", "volume/*"),
			Condition: map[string]map[string]any{
				"ForAllValues:StringEquals": {"aws:TagKeys": tagKeys},
				"Null":                      managedVolume["Null"],
			}},
		// Attaching a volume encrypted with a customer-managed key (see
		// kms.go; "Requirements for Amazon EBS encryption"). Narrow the
		// resource to your keys' ARNs; `volfailover check` lists them.
		{Sid: "UseCustomerManagedKeysOfEncryptedVolumes", Effect: "Allow",
			Action: kmsKeyUseActions, Resource: arn("kms", "key/*")},
		{Sid: "GrantOnlyToAWSServicesForEncryptedAttach", Effect: "Allow",
			Action: kmsGrantAction, Resource: arn("kms", "key/*"),
			Condition: map[string]map[string]any{"Bool": {"kms:GrantIsForAWSResource": true}}},
	}}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("iam policy: %w", err)
	}
	return append(b, '\n'), nil
}
