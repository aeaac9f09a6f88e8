package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrMetadataPatchUnsupported matches the error of CheckMetadataPatch when fleet has no
// PATCH /fleet/v1/machines. Dynamic machine metadata arrived in fleet v1.0.0; fleet 0.11
// to 0.13 answer 400 "only HTTP GET supported against this resource" (api/machines.go at
// tag v0.13.0). Against such a fleet every failover would stop at the metadata step,
// after the old owner was already fenced, so callers refuse to run instead.
var ErrMetadataPatchUnsupported = errors.New("fleet cannot PATCH machine metadata: volfailover needs fleet v1.0.0 or later")

// CheckMetadataPatch asks fleet whether it supports the machine metadata PATCH the
// failover depends on, by sending PATCH /fleet/v1/machines with an empty operation list.
// That body changes nothing in any fleet version: v1.0.0 answers 204, older versions
// refuse the method. A 400, 404 or 405 answer is reported as ErrMetadataPatchUnsupported,
// naming the status, fleet's message and the version fleet reports; anything else
// (fleet unreachable, 5xx after retries) is returned as it is, since it says nothing
// about the version.
func (c *Client) CheckMetadataPatch(ctx context.Context) error {
	// A non-nil empty slice, so the body is [] rather than null.
	r := call{method: http.MethodPatch, path: "/machines", body: []wireOp{}}
	status, _, err := c.do(ctx, r)
	if err == nil {
		if status != http.StatusNoContent && status != http.StatusOK {
			return fmt.Errorf("probe fleet for machine metadata PATCH: %s: unexpected status %d (want 204)", r, status)
		}
		return nil
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		switch apiErr.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
			server := apiErr.Server
			if server == "" {
				server = "no Server header"
			}
			return fmt.Errorf("%w: %s answered %d %q (%s)", ErrMetadataPatchUnsupported, r, apiErr.StatusCode, apiErr.Message, server)
		}
	}
	return fmt.Errorf("probe fleet for machine metadata PATCH: %w", err)
}
