package fleet

import (
	"fmt"
	"io"
	"net/http"
)

// giveUp runs when retryablehttp stops without success: retries exhausted, a permanent
// transport error, or the context ended. A last retryable response becomes an APIError so
// the caller sees fleet's message, not just "giving up".
func giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if resp != nil {
		defer resp.Body.Close()
		if err == nil {
			body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			if readErr != nil {
				return nil, fmt.Errorf("giving up after %d attempt(s): status %d, reading body: %w", attempts, resp.StatusCode, readErr)
			}
			return nil, fmt.Errorf("giving up after %d attempt(s): %w", attempts, newAPIError(resp.StatusCode, body))
		}
	}
	if err == nil {
		return nil, fmt.Errorf("giving up after %d attempt(s)", attempts)
	}
	return nil, fmt.Errorf("giving up after %d attempt(s): %w", attempts, err)
}
