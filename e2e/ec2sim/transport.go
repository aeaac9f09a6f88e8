package ec2sim

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// BufferRequestBodies wraps an HTTP transport for SDK clients that talk to a
// local Sim; nil base means http.DefaultTransport.
//
// Why: smithy-go (v1.28.9) wraps request bodies in a reader whose WriteTo
// returns io.EOF once the SDK has closed it, and the SDK closes it as soon as
// the response headers arrive. net/http, after sending a body of known length,
// copies the body once more to check for extra bytes; when a fast local server
// has already answered, that copy fails and the transport closes the
// connection while the response body is still being read ("use of closed
// network connection", about 1 call in 100 for responses over a few KiB).
// Handing net/http an in-memory body instead makes it buffer the whole request
// and send it only after that check, which removes the race.
func BufferRequestBodies(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return bufferedBodies{base: base}
}

type bufferedBodies struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (b bufferedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return b.base.RoundTrip(r)
	}
	data, err := io.ReadAll(r.Body)
	closeErr := r.Body.Close()
	if err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("buffer request body for %s %s: %w", r.Method, r.URL, err)
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return b.base.RoundTrip(r)
}
