package alert

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/volfailover/volfailover/internal/httpretry"
)

// Sink delivers one event to one receiver. Send reports whether a failure is
// worth retrying (429, 5xx, connection errors) or permanent (other 4xx, a bad
// event), as alertmanager's notifiers do; the Outbox retries the former and
// drops the latter.
type Sink interface {
	// Name identifies the sink in the outbox record and in metrics; unique per Outbox.
	Name() string
	// Send delivers ev; a nil error means delivered.
	Send(ctx context.Context, ev Event) (retry bool, err error)
}

// HTTPError is a non-2xx answer from a receiver, with what it said about it.
type HTTPError struct {
	Sink       string   // sink name
	StatusCode int      // HTTP status
	Message    string   // the receiver's message (PagerDuty "message", or the body's start)
	Errors     []string // PagerDuty's "errors" list, if any
}

// Error renders the status and the receiver's reasons.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: status %d", e.Sink, e.StatusCode)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if len(e.Errors) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(e.Errors, "; "))
	}
	return b.String()
}

// Retryable reports whether the status is one worth trying again.
func (e *HTTPError) Retryable() bool { return httpretry.RetryableStatus(e.StatusCode) }

// HTTPOptions are the transport knobs both HTTP sinks share.
type HTTPOptions struct {
	// Timeout bounds one HTTP attempt. Default 10s.
	Timeout time.Duration `json:"timeout"`
	// RetryMax is how many times one Send retries a 429, 5xx or connection
	// error before handing the retry to the Outbox's backoff. Default 3.
	RetryMax int `json:"retry_max"`
	// RetryWaitMin and RetryWaitMax bound the wait between those retries
	// (exponential; a Retry-After header is honoured up to RetryWaitMax).
	// Defaults 500ms and 10s.
	RetryWaitMin time.Duration `json:"retry_wait_min"`
	RetryWaitMax time.Duration `json:"retry_wait_max"`
	// HTTPClient overrides the underlying client (TLS, proxies); nil = a pooled default.
	HTTPClient *http.Client `json:"-"`
}

// DefaultHTTPOptions returns the transport defaults.
func DefaultHTTPOptions() HTTPOptions {
	return HTTPOptions{Timeout: 10 * time.Second, RetryMax: 3, RetryWaitMin: 500 * time.Millisecond, RetryWaitMax: 10 * time.Second}
}

func (o HTTPOptions) validate(field string) error {
	switch {
	case o.Timeout <= 0:
		return fmt.Errorf("%s.timeout %s: must be > 0", field, o.Timeout)
	case o.RetryMax < 0:
		return fmt.Errorf("%s.retry_max %d: must be >= 0", field, o.RetryMax)
	case o.RetryWaitMin <= 0:
		return fmt.Errorf("%s.retry_wait_min %s: must be > 0", field, o.RetryWaitMin)
	case o.RetryWaitMax < o.RetryWaitMin:
		return fmt.Errorf("%s.retry_wait_max %s: must be >= retry_wait_min %s", field, o.RetryWaitMax, o.RetryWaitMin)
	}
	return nil
}

// validateURL accepts an absolute http or https URL; the error shows only its
// scheme and host, because webhook paths often embed a token.
func validateURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: not a URL (%d bytes)", field, len(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s scheme %q: want http or https", field, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s %q: no host", field, redactURL(u))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s %q: credentials in the URL are not supported; use headers", field, redactURL(u))
	}
	return u, nil
}

// redactURL keeps scheme and host and hides path and query, which may carry a token.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/" + redacted
	}
	return s
}
