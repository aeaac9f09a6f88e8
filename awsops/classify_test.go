package awsops

import (
	"errors"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"
)

// apiErr builds the error the SDK returns for an EC2 error body with status.
func apiErr(status int, code, msg string) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: msg},
		},
		RequestID: "req-1",
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want error // nil = unclassified, returned unchanged
	}{
		{"volume not found", apiErr(400, "InvalidVolume.NotFound", "The volume 'vol-1' does not exist."), ErrVolumeNotFound},
		{"instance not found", apiErr(400, "InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist"), ErrInstanceNotFound},
		{"volume in use", apiErr(400, "VolumeInUse", "vol-1 is already attached to an instance"), ErrVolumeInUse},
		{"incorrect state", apiErr(400, "IncorrectState", "Volume 'vol-1' is in the 'available' state."), ErrIncorrectState},
		{"incorrect instance state", apiErr(400, "IncorrectInstanceState", "cannot be stopped"), ErrIncorrectState},
		{"zone mismatch", apiErr(400, "InvalidVolume.ZoneMismatch", "not in the same availability zone"), ErrZoneMismatch},
		{"device in use", apiErr(400, "InvalidParameterValue", "Invalid value '/dev/xvdf' for unixDevice. Attachment point /dev/xvdf is already in use"), ErrDeviceInUse},
		{"bad device name", apiErr(400, "InvalidParameterValue", "Value (/dev/sdk1) for parameter device is invalid."), ErrInvalidParameter},
		{"attachment limit", apiErr(400, "AttachmentLimitExceeded", ""), ErrAttachmentLimit},
		{"throttle", apiErr(503, "RequestLimitExceeded", "Request limit exceeded."), ErrThrottled},
		{"throttle other code", apiErr(400, "Throttling", ""), ErrThrottled},
		{"unauthorized", apiErr(403, "UnauthorizedOperation", "You are not authorized to perform this operation."), ErrUnauthorized},
		{"dry run", apiErr(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."), ErrDryRunOK},
		{"internal error", apiErr(500, "InternalError", ""), ErrServer},
		{"empty 500", apiErr(500, "UnknownError", "UnknownError"), ErrServer},
		{"attachment not found", apiErr(400, "InvalidAttachment.NotFound", ""), ErrAttachmentNotFound},
		{"unknown 400", apiErr(400, "SomethingNew", ""), nil},
		{"not an api error", errors.New("dial tcp: refused"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			if tc.want == nil {
				require.Same(t, tc.err, got, "got %v, want the error unchanged", got)
				return
			}
			require.ErrorIs(t, got, tc.want)
			require.ErrorIs(t, got, tc.err, "the SDK error must stay reachable")
		})
	}
	require.NoError(t, classify(nil))
}

func TestNamedIDs(t *testing.T) {
	got := namedIDs("The instance IDs 'i-0000000a, i-0000000b' do not exist")
	require.True(t, got["i-0000000a"] && got["i-0000000b"], "got %v, want both ids", got)
	got = namedIDs(`Invalid id: "vol-malformed"`)
	require.True(t, got["vol-malformed"], "got %v", got)
	got = namedIDs("The volume 'vol-0000000c' does not exist.")
	require.True(t, got["vol-0000000c"], "got %v", got)
}
