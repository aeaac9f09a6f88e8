package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-retryablehttp"
	"k8s.io/utils/clock"

	"github.com/volfailover/volfailover/internal/httpretry"
)

// apiPrefix is where fleetd mounts API v1 (api/mux.go).
const apiPrefix = "/fleet/v1"

const (
	// maxBody bounds a success response; a full page of 100 units is far below it.
	maxBody = 32 << 20
	// maxErrorBody bounds how much of an error response is read.
	maxErrorBody = 64 << 10
	// maxPages stops a server that keeps handing out new page tokens.
	maxPages = 10000
)

// Client talks to one fleet API endpoint. It is safe for concurrent use.
type Client struct {
	http      *retryablehttp.Client
	base      string // scheme://host[/prefix] + apiPrefix
	clock     clock.Clock
	userAgent string
}

// NewClient validates cfg and builds a Client. Nothing is sent until the first call.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ep, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	// fleet is infrastructure on the local network: never route it through a proxy taken
	// from the environment.
	tr.Proxy = nil
	if cfg.TLS != nil {
		tr.TLSClientConfig = cfg.TLS.Clone()
	}
	if ep.socketPath != "" {
		socket := ep.socketPath
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		}
	}

	rc := httpretry.NewClient(httpretry.Config{
		HTTPClient: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			// fleet never redirects; following one could turn a PUT into a GET elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		RetryMax:     cfg.RetryMax,
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		Logger:       cfg.Logger,
	})
	// A last retryable answer becomes an *APIError carrying fleet's message.
	rc.ErrorHandler = giveUp

	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "volfailover"
	}
	return &Client{http: rc, base: ep.base + apiPrefix, clock: clk, userAgent: ua}, nil
}

// CloseIdleConnections closes kept-alive connections to fleet; the Client stays usable.
func (c *Client) CloseIdleConnections() {
	c.http.HTTPClient.CloseIdleConnections()
}

// call is one API request: method, path below /fleet/v1, optional query and JSON body.
type call struct {
	method string
	path   string // already escaped, e.g. "/units/postgres@vol-1.service"
	query  url.Values
	body   any // marshalled to JSON when non-nil
}

// String names the request in errors: "GET /fleet/v1/state?unitName=x".
func (r call) String() string {
	s := r.method + " " + apiPrefix + r.path
	if len(r.query) > 0 {
		s += "?" + r.query.Encode()
	}
	return s
}

// do sends r with retries and returns the status and body of a 2xx answer; any other
// answer becomes an *APIError.
func (c *Client) do(ctx context.Context, r call) (int, []byte, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var payload []byte
	if r.body != nil {
		var err error
		payload, err = json.Marshal(r.body)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: encode body: %w", r, err)
		}
	}
	var reqBody any
	if payload != nil {
		reqBody = payload
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, reqBody)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: build request: %w", r, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", r, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if readErr != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s: status %d, reading body: %w", r, resp.StatusCode, readErr)
		}
		apiErr := newAPIError(resp.StatusCode, body)
		apiErr.Server = resp.Header.Get("Server")
		return resp.StatusCode, nil, fmt.Errorf("%s: %w", r, apiErr)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s: read body: %w", r, err)
	}
	if len(body) > maxBody {
		return resp.StatusCode, nil, fmt.Errorf("%s: response body larger than %d bytes", r, maxBody)
	}
	return resp.StatusCode, body, nil
}

// page is the union of fleet's three page entities (UnitPage, UnitStatePage,
// MachinePage); only the field of the listed collection is set.
type page struct {
	Machines      []wireMachine   `json:"machines"`
	Units         []wireUnit      `json:"units"`
	States        []wireUnitState `json:"states"`
	NextPageToken string          `json:"nextPageToken"`
}

// eachPage GETs path with query, following nextPageToken until it is absent, and hands
// every decoded page to fn. fleet cuts pages from a fresh listing per request, so an
// entry can show up on two pages when the list changes in between; callers de-duplicate.
func (c *Client) eachPage(ctx context.Context, path string, query url.Values, fn func(*page) error) error {
	seen := map[string]bool{}
	token := ""
	for n := 0; ; n++ {
		if n == maxPages {
			return fmt.Errorf("GET %s%s: more than %d pages", apiPrefix, path, maxPages)
		}
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if token != "" {
			q.Set("nextPageToken", token)
		}
		r := call{method: http.MethodGet, path: path, query: q}
		status, body, err := c.do(ctx, r)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("%s: unexpected status %d (want 200)", r, status)
		}
		var p page
		if err := decodeJSON(body, &p); err != nil {
			return fmt.Errorf("%s: decode page: %w", r, err)
		}
		if err := fn(&p); err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		if p.NextPageToken == "" {
			return nil
		}
		if seen[p.NextPageToken] {
			return fmt.Errorf("%s: nextPageToken %q returned twice", r, p.NextPageToken)
		}
		seen[p.NextPageToken] = true
		token = p.NextPageToken
	}
}

// decodeJSON decodes exactly one JSON value from body; an empty body or trailing data is
// an error.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("empty body")
	}
	return json.Unmarshal(body, v)
}
