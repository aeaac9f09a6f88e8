package awsops

import (
	"fmt"

	"github.com/aws/smithy-go/logging"
	"github.com/rs/zerolog"
)

// sdkLogger hands the AWS SDK's own log lines (such as the IMDS client's
// "falling back to IMDSv1") to zerolog, as JSON with the rest, instead of
// the SDK's plain default writer. It names its origin in source, not in a
// key the caller's logger may already carry.
type sdkLogger struct{ log zerolog.Logger }

var _ logging.Logger = sdkLogger{}

// Logf writes one SDK line: warnings at warn, everything else at debug.
func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	ev := l.log.Debug()
	if c == logging.Warn {
		ev = l.log.Warn()
	}
	ev.Str("source", "aws-sdk").Msg(fmt.Sprintf(format, v...))
}
