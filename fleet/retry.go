package fleet

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"
)

// checkRetry decides whether an attempt is retried. The context comes first so that a
// cancelled or expired caller is never kept waiting; connection errors, 429 and 5xx are
// transient in fleet (503 while fleetd is cut off from etcd); every other status is an
// answer, and retrying a 4xx would only repeat it.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if err != nil {
		// retryablehttp's policy knows which transport errors are permanent (bad scheme,
		// untrusted certificate, too many redirects) and retries the rest.
		return retryablehttp.ErrorPropagatedRetryPolicy(ctx, nil, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return true, nil
	}
	return false, nil
}

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
