package awsops

import "errors"

// Sentinels that classify EC2 failures. Errors returned by this package wrap
// one of them (found with errors.Is) together with the SDK error and a note
// of what was being done.
var (
	// ErrVolumeNotFound: the volume ID does not exist (InvalidVolume.NotFound).
	ErrVolumeNotFound = errors.New("volume not found")
	// ErrInstanceNotFound: the instance ID does not exist (InvalidInstanceID.NotFound).
	ErrInstanceNotFound = errors.New("instance not found")
	// ErrVolumeInUse: the volume is attached, to another instance or on another device.
	ErrVolumeInUse = errors.New("volume in use")
	// ErrIncorrectState: the resource is not in a state that allows the call.
	ErrIncorrectState = errors.New("incorrect state")
	// ErrZoneMismatch: volume and instance are in different availability zones.
	ErrZoneMismatch = errors.New("availability zone mismatch")
	// ErrDeviceInUse: the device name is already taken on that instance; pick another.
	ErrDeviceInUse = errors.New("device name in use")
	// ErrAttachmentLimit: the instance cannot take another volume.
	ErrAttachmentLimit = errors.New("attachment limit exceeded")
	// ErrThrottled: EC2 throttled the request (retry.DefaultThrottleErrorCodes).
	ErrThrottled = errors.New("throttled")
	// ErrUnauthorized: IAM denies the call.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDryRunOK: a DryRun call would have succeeded.
	ErrDryRunOK = errors.New("dry run would succeed")
	// ErrServer: EC2 answered with a 5xx status; the outcome of a mutation is unknown.
	ErrServer = errors.New("ec2 server error")
	// ErrInvalidParameter: the request was malformed (bad ID syntax, bad value, ...).
	ErrInvalidParameter = errors.New("invalid parameter")
	// ErrStuck: an attachment or detachment does not progress; the caller may force it.
	ErrStuck = errors.New("stuck")
	// ErrStopRefused: EC2 will not stop the instance at all, Force or not:
	// stop protection (DisableApiStop, OperationNotPermitted) or a Spot
	// instance that cannot be stopped (UnsupportedOperation). Retrying cannot
	// fence it; the caller should page and fall back to a fence that needs no
	// stop (the forced detach). Added for issue 12.
	ErrStopRefused = errors.New("instance refuses to stop")
	// ErrAttachmentNotFound: detach named an attachment that does not exist
	// (InvalidAttachment.NotFound). Not in docs/contracts.md; added.
	ErrAttachmentNotFound = errors.New("attachment not found")
	// ErrKMSKeyUnusable: EC2 refused to attach an encrypted volume because
	// it could not use the volume's KMS key (CustomerKeyHasBeenRevoked): the
	// key is disabled or pending deletion, or the caller may not create a
	// grant on it. Retrying does not help; only the key's owner can fix it,
	// and every peer will be refused alike. See kms.go.
	ErrKMSKeyUnusable = errors.New("kms key unusable")
)
