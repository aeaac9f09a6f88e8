package awsops

// Encrypted volumes.
//
// Attaching an EBS volume encrypted with a customer-managed KMS key makes
// EC2 create a KMS grant for the volume with the caller's credentials, and
// use the key's data key; the caller therefore needs, on that key,
// kms:CreateGrant (only for AWS resources: condition
// kms:GrantIsForAWSResource = true), kms:Decrypt, kms:DescribeKey,
// kms:GenerateDataKeyWithoutPlaintext and kms:ReEncrypt* ("Requirements for
// Amazon EBS encryption", Amazon EBS User Guide, "Permissions for users",
// which also recommends the GrantIsForAWSResource condition; the KMS
// Developer Guide's "How Amazon Elastic Block Store (Amazon EBS) uses AWS
// KMS" describes the CreateGrant made during AttachVolume, added in
// awsdocs/aws-kms-developer-guide pull request 2 after
// kubernetes/kubernetes issue 62171). The key policy must allow the same,
// either directly or by delegating to IAM. AWS-managed keys (alias/aws/ebs)
// need nothing.
//
// When the key cannot be used (disabled, pending deletion, or a missing
// grant permission) AWS refuses the AttachVolume call itself with
// CustomerKeyHasBeenRevoked, "Volume vol-… cannot be attached. The encrypted
// volume was unable to access the KMS master key." (reported from AWS in
// kubernetes-retired/kube-aws issue 393 and kubernetes/kubernetes issue
// 62171). No report shows the attach accepted and then dropped, so this
// package classifies the synchronous answer as ErrKMSKeyUnusable; an
// attachment that vanishes while attaching is still reported by
// AttachVolume as before (ErrStuck once Wait.StuckAttaching passes).

// KMSAttachActions are the KMS actions a caller needs on a volume's
// customer-managed key for AttachVolume to succeed; kms:CreateGrant only
// with kms:GrantIsForAWSResource = true. The IAM policy and `volfailover
// check` name them from here.
func KMSAttachActions() []string {
	return append([]string{kmsGrantAction}, kmsKeyUseActions...)
}

// kmsGrantAction is allowed only with kms:GrantIsForAWSResource = true, so
// the role can let EBS use the key but cannot hand it to anyone else.
const kmsGrantAction = "kms:CreateGrant"

// kmsKeyUseActions are the rest of KMSAttachActions.
var kmsKeyUseActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"}
