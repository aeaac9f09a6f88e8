package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/internal/httpretry"
)

// Defaults of HTTPProberOptions. A probe round runs every second, so a whole probe with
// its retry must fit well inside that.
const (
	DefaultHTTPTimeout      = 500 * time.Millisecond
	DefaultHTTPRetryMax     = 1
	DefaultHTTPRetryWaitMin = 50 * time.Millisecond
	DefaultHTTPRetryWaitMax = 200 * time.Millisecond
)

// maxErrorBody is how much of an unhealthy answer's body goes into the error.
const maxErrorBody = 256

// HTTPProberOptions configures an HTTPProber.
type HTTPProberOptions struct {
	// Timeout bounds each attempt, from dial to the end of the headers. Default 500 ms.
	Timeout time.Duration
	// RetryMax is how many times a failed attempt is retried (connection errors, 429,
	// 5xx; never other 4xx). Default 1.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the wait between attempts, which doubles from
	// the minimum. Defaults 50 ms and 200 ms. A server's Retry-After is ignored: a probe
	// must answer now.
	RetryWaitMin, RetryWaitMax time.Duration
	// Transport carries the requests. Default: a transport of its own without keep-alive,
	// so that every probe dials afresh and no idle connection outlives it.
	Transport http.RoundTripper
	// Logger receives retryablehttp's messages at debug level. Default zerolog.Nop().
	Logger zerolog.Logger
	// Source is the local address probes are sent from (with the default
	// transport); nil lets the system choose.
	Source net.IP
}

// DefaultHTTPProberOptions returns the options with the defaults above.
func DefaultHTTPProberOptions() HTTPProberOptions {
	return HTTPProberOptions{
		Timeout:      DefaultHTTPTimeout,
		RetryMax:     DefaultHTTPRetryMax,
		RetryWaitMin: DefaultHTTPRetryWaitMin,
		RetryWaitMax: DefaultHTTPRetryWaitMax,
		Logger:       zerolog.Nop(),
	}
}

// Validate rejects impossible options, naming the field.
func (o HTTPProberOptions) Validate() error {
	var errs []error
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", o.Timeout))
	}
	if o.RetryMax < 0 {
		errs = append(errs, fmt.Errorf("retry max: must not be negative, got %d", o.RetryMax))
	}
	if o.RetryWaitMin < 0 {
		errs = append(errs, fmt.Errorf("retry wait min: must not be negative, got %s", o.RetryWaitMin))
	}
	if o.RetryWaitMax < o.RetryWaitMin {
		errs = append(errs, fmt.Errorf("retry wait max: must be at least retry wait min (%s), got %s", o.RetryWaitMin, o.RetryWaitMax))
	}
	return errors.Join(errs...)
}

// HTTPProber checks a peer agent's health endpoint. The zero value probes with the
// default options; NewHTTPProber sets others.
type HTTPProber struct {
	opts       HTTPProberOptions
	configured bool
	init       sync.Once
	client     *retryablehttp.Client
}

// NewHTTPProber returns a prober with the given options.
func NewHTTPProber(o HTTPProberOptions) (*HTTPProber, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("http prober options: %w", err)
	}
	p := &HTTPProber{opts: o, configured: true}
	p.init.Do(p.build)
	return p, nil
}

// build creates the retrying client; for the zero value, from the defaults.
func (p *HTTPProber) build() {
	if !p.configured {
		p.opts = DefaultHTTPProberOptions()
	}
	o := p.opts
	tr := o.Transport
	if tr == nil {
		dialer := &net.Dialer{Timeout: o.Timeout}
		if o.Source != nil {
			dialer.LocalAddr = &net.TCPAddr{IP: o.Source}
		}
		tr = &http.Transport{
			DialContext:            dialer.DialContext,
			DisableKeepAlives:      true,
			TLSHandshakeTimeout:    o.Timeout,
			ResponseHeaderTimeout:  o.Timeout,
			MaxResponseHeaderBytes: 64 << 10,
		}
	}
	p.client = httpretry.NewClient(httpretry.Config{
		HTTPClient:   &http.Client{Transport: tr, Timeout: o.Timeout},
		RetryMax:     o.RetryMax,
		RetryWaitMin: o.RetryWaitMin,
		RetryWaitMax: o.RetryWaitMax,
		Logger:       o.Logger,
	})
	// A probe must answer now: a server's Retry-After is not honoured.
	p.client.Backoff = probeBackoff
}

// Probe GETs url and returns nil for a 2xx answer. Anything else, including a timeout
// after the retries, is an error saying what came back.
func (p *HTTPProber) Probe(ctx context.Context, rawURL string) error {
	p.init.Do(p.build)
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("probe health url %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("probe health url %q: want http(s)://host[:port]/path", rawURL)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("probe health %s: build request: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", "volfailover-probe")
	resp, err := p.client.Do(req)
	if resp != nil {
		defer func() { _ = resp.Body.Close() }()
	}
	if err != nil {
		return fmt.Errorf("probe health %s: %w", rawURL, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		return fmt.Errorf("probe health %s: status %s", rawURL, resp.Status)
	}
	return fmt.Errorf("probe health %s: status %s: %q", rawURL, resp.Status, msg)
}

// probeBackoff doubles from min up to max and ignores Retry-After.
func probeBackoff(minWait, maxWait time.Duration, attempt int, _ *http.Response) time.Duration {
	w := minWait
	for i := 0; i < attempt && w < maxWait; i++ {
		w *= 2
	}
	return min(w, maxWait)
}
