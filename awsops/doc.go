// Package awsops is volfailover's only door to EC2 and EBS.
//
// It reads volumes and instances in batches whose cost does not grow with
// the number of volumes beyond one call per chunk, and it performs the
// mutations a failover needs (fence, detach, attach, tag) so that each is
// safe to repeat: EC2 offers no client tokens for these calls, so every
// mutation first reads the world, skips what is already true, and then
// waits until the world shows the result. Errors from EC2 are classified
// once, here, into the sentinels of errors.go so that callers branch with
// errors.Is.
package awsops
