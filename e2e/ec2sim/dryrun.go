package ec2sim

// How the emulator answers DryRun=true on the mutating actions.
//
// The SDK documents DryRun as "Checks whether you have the required
// permissions for the action, without actually making the request ... If you
// have the required permissions, the error response is DryRunOperation.
// Otherwise, it is UnauthorizedOperation." (aws-sdk-go-v2
// service/ec2@v1.344.3 api_op_AttachVolume.go, DryRun field; the same text
// on every action). IAM evaluates resource-level permissions against the
// named resources (ARNs, aws:ResourceTag/...), so EC2 must resolve the IDs
// first: a DryRun naming an ID that does not exist is answered with its
// ...NotFound error, not DryRunOperation. Issue 12 reports exactly that
// from AWS (`volfailover check` with placeholder IDs got NotFound), and the
// floci EC2 emulator made the same correction after comparing with AWS
// ("return their validation errors before DryRun success", floci-io/floci
// pull request 3599).
//
// So every mutating action here validates syntax, then resolves every ID it
// names (…NotFound), and only then answers 412 DryRunOperation. State rules
// (VolumeInUse, IncorrectState, zone mismatch, an unusable KMS key) are not
// evaluated by a DryRun: it asks "may I", not "would it work now", which is
// what lets `volfailover check` dry-run AttachVolume of a volume that is
// still attached to its owner. An armed FaultUnauthorized answers 403
// before any of this, as IAM would.
