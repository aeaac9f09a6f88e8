package awsops

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// EC2 error codes this package branches on (docs: ec2-subset spec §1.4, §3.2).
const (
	codeVolumeNotFound       = "InvalidVolume.NotFound"
	codeVolumeMalformed      = "InvalidVolumeID.Malformed"
	codeInstanceNotFound     = "InvalidInstanceID.NotFound"
	codeInstanceMalformed    = "InvalidInstanceID.Malformed"
	codeAttachmentNotFound   = "InvalidAttachment.NotFound"
	codeVolumeInUse          = "VolumeInUse"
	codeIncorrectState       = "IncorrectState"
	codeIncorrectInstState   = "IncorrectInstanceState"
	codeZoneMismatch         = "InvalidVolume.ZoneMismatch"
	codeZoneMismatchLegacy   = "InvalidVolumeID.ZoneMismatch"
	codeAttachmentLimit      = "AttachmentLimitExceeded"
	codeUnauthorized         = "UnauthorizedOperation"
	codeAuthFailure          = "AuthFailure"
	codeDryRun               = "DryRunOperation"
	codeInvalidParamValue    = "InvalidParameterValue"
	codeInvalidParamCombo    = "InvalidParameterCombination"
	codeMissingParameter     = "MissingParameter"
	codeUnknownParameter     = "UnknownParameter"
	codeInvalidID            = "InvalidID"
	codeInvalidPaginationTok = "InvalidPaginationToken"
	codeInternalError        = "InternalError"
	codeUnavailable          = "Unavailable"
	codeCustomerKeyRevoked   = "CustomerKeyHasBeenRevoked" // kms.go
	// Answers of StopInstances to an instance that may not be stopped; see stopRefused.
	codeOperationNotPermitted = "OperationNotPermitted"
	codeUnsupportedOperation  = "UnsupportedOperation"
)

// sentinelByCode maps an EC2 error code to its sentinel. Device-in-use is
// not here: EC2 reports it as InvalidParameterValue and only the message
// tells it apart.
var sentinelByCode = map[string]error{
	codeVolumeNotFound:       ErrVolumeNotFound,
	codeVolumeMalformed:      ErrInvalidParameter,
	codeInstanceNotFound:     ErrInstanceNotFound,
	codeInstanceMalformed:    ErrInvalidParameter,
	codeAttachmentNotFound:   ErrAttachmentNotFound,
	codeVolumeInUse:          ErrVolumeInUse,
	codeIncorrectState:       ErrIncorrectState,
	codeIncorrectInstState:   ErrIncorrectState,
	codeZoneMismatch:         ErrZoneMismatch,
	codeZoneMismatchLegacy:   ErrZoneMismatch,
	codeAttachmentLimit:      ErrAttachmentLimit,
	codeUnauthorized:         ErrUnauthorized,
	codeAuthFailure:          ErrUnauthorized,
	codeDryRun:               ErrDryRunOK,
	codeInvalidParamValue:    ErrInvalidParameter,
	codeInvalidParamCombo:    ErrInvalidParameter,
	codeMissingParameter:     ErrInvalidParameter,
	codeUnknownParameter:     ErrInvalidParameter,
	codeInvalidID:            ErrInvalidParameter,
	codeInvalidPaginationTok: ErrInvalidParameter,
	codeInternalError:        ErrServer,
	codeUnavailable:          ErrServer,
	codeCustomerKeyRevoked:   ErrKMSKeyUnusable,
}

// classify wraps err with the sentinel its EC2 error code (or HTTP status)
// stands for, as "<sentinel>: <err>". Errors it does not recognise (context
// cancellation, transport failures) are returned unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if s := sentinelOf(err); s != nil {
		return fmt.Errorf("%w: %w", s, err)
	}
	return err
}

// sentinelOf finds the sentinel for err, or nil.
func sentinelOf(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		if code == codeInvalidParamValue && strings.Contains(ae.ErrorMessage(), "already in use") {
			return ErrDeviceInUse
		}
		if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
			return ErrThrottled
		}
		if s, ok := sentinelByCode[code]; ok {
			return s
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return ErrServer
	}
	return nil
}

// errorCode returns the EC2 error code carried by err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// errorMessage returns the EC2 error message carried by err, or "".
func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// isThrottle reports whether err is an EC2 throttling error.
func isThrottle(err error) bool {
	_, ok := retry.DefaultThrottleErrorCodes[errorCode(err)]
	return ok
}
