package httpretry

import (
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
)

// Config is what a caller states about its retrying client. Everything else, the retry
// policy above all, is shared.
type Config struct {
	// HTTPClient makes each attempt; its Timeout bounds one attempt, not the retries.
	// Required.
	HTTPClient *http.Client
	// RetryMax is how many times a failed attempt is retried; 0 sends once.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the wait between attempts, which doubles from
	// the minimum.
	RetryWaitMin, RetryWaitMax time.Duration
	// Logger receives retryablehttp's messages at debug level (see Logger). The zero
	// Logger drops them, for a caller whose URLs must not reach a log.
	Logger zerolog.Logger
}

// NewClient returns a retryablehttp client with the shared policy (CheckRetry),
// retryablehttp's exponential backoff, which honours a Retry-After on 429 and 503, and
// an error handler that hands back the last response or error as it came, so that the
// caller, not retryablehttp, words the failure. A caller that differs replaces the
// field on the returned client.
func NewClient(c Config) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   c.HTTPClient,
		Logger:       NewLogger(c.Logger),
		RetryWaitMin: c.RetryWaitMin,
		RetryWaitMax: c.RetryWaitMax,
		RetryMax:     c.RetryMax,
		CheckRetry:   CheckRetry,
		Backoff:      retryablehttp.DefaultBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}
