package alert

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/internal/httpretry"
)

// maxResponseBody bounds how much of a receiver's answer is read.
const maxResponseBody = 64 << 10

// poster POSTs JSON bodies with retryablehttp and classifies the outcome.
type poster struct {
	name    string
	url     *url.URL
	headers http.Header
	client  *retryablehttp.Client
	log     zerolog.Logger
}

func newPoster(name string, u *url.URL, o HTTPOptions, headers http.Header, log zerolog.Logger) *poster {
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	if hc.Timeout == 0 {
		hc.Timeout = o.Timeout
	}
	p := &poster{name: name, url: u, headers: headers, log: log.With().Str("sink", name).Logger()}
	// retryablehttp's own messages stay off (the zero Logger): they would print the URL,
	// and webhook URLs often carry a token; the hooks below log the redacted form.
	p.client = httpretry.NewClient(httpretry.Config{
		HTTPClient:   hc,
		RetryWaitMin: o.RetryWaitMin,
		RetryWaitMax: o.RetryWaitMax,
		RetryMax:     o.RetryMax,
	})
	p.client.Backoff = cappedBackoff
	// The hooks find the per-event logger in the request's context.
	p.client.RequestLogHook = func(_ retryablehttp.Logger, r *http.Request, attempt int) {
		zerolog.Ctx(r.Context()).Debug().Int("attempt", attempt+1).Str("url", redactURL(u)).Msg("page send")
	}
	p.client.ResponseLogHook = func(_ retryablehttp.Logger, r *http.Response) {
		zerolog.Ctx(r.Request.Context()).Debug().Int("status", r.StatusCode).Msg("page answer")
	}
	return p
}

// cappedBackoff is retryablehttp's exponential backoff, with a receiver's
// Retry-After honoured only up to max so one Send stays bounded.
func cappedBackoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	d := retryablehttp.DefaultBackoff(lo, hi, attempt, resp)
	if d > hi {
		d = hi
	}
	return d
}

// post sends body and returns the response status and body on any HTTP
// answer, or a classified error when there was none.
func (p *poster) post(ctx context.Context, ev Event, body []byte) (status int, respBody []byte, retry bool, err error) {
	log := p.log.With().Str("kind", string(ev.Kind)).Str("action", string(ev.Action)).
		Str("dedup_key", ev.DedupKey).Str("volume", ev.Volume).Str("failover_id", ev.FailoverID).Logger()
	req, err := retryablehttp.NewRequestWithContext(log.WithContext(ctx), http.MethodPost, p.url.String(), body)
	if err != nil {
		return 0, nil, false, err
	}
	for k, vs := range p.headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "volfailover-alert")
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redactURL(p.url)
		}
		if ctx.Err() != nil {
			return 0, nil, true, err
		}
		return 0, nil, !httpretry.Permanent(err), err
	}
	defer func() { _ = resp.Body.Close() }()
	respBody, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if rerr != nil && resp.StatusCode/100 != 2 {
		log.Debug().Err(rerr).Msg("read page answer")
	}
	return resp.StatusCode, respBody, httpretry.RetryableStatus(resp.StatusCode), nil
}
