package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/fleet"
)

// fleetProbeTimeout bounds run's startup probe of fleet; the probe is one request with the
// client's retries.
const fleetProbeTimeout = 30 * time.Second

// requireMetadataPatch stops `run` before it joins the election when fleet is older than
// v1.0.0: such a fleet refuses the metadata PATCH, so every failover would stop at the
// metadata step with the old owner already fenced and the volume served nowhere. Better
// a controller that does not start, loudly, than one that strands the volume it was
// meant to save. Any other probe failure (fleet not up yet while this host boots) is only
// logged, because it says nothing about fleet's version and the controller's own calls
// retry.
func requireMetadataPatch(ctx context.Context, fl *fleet.Client, log zerolog.Logger) error {
	pctx, cancel := context.WithTimeout(ctx, fleetProbeTimeout)
	defer cancel()
	err := fl.CheckMetadataPatch(pctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fleet.ErrMetadataPatchUnsupported):
		return &codedError{code: exitFailed, err: fmt.Errorf("refusing to run: %w", err)}
	default:
		log.Warn().Err(err).Msg("could not probe fleet for machine metadata PATCH; starting anyway")
		return nil
	}
}

// checkMetadataPatch is `check`'s line for the same probe.
func checkMetadataPatch(ctx context.Context, cfg fleet.Config, cfgErr error) checkResult {
	const name = "fleet metadata PATCH"
	if cfgErr != nil {
		return checkResult{name: name, code: exitUsage, detail: "skipped: configuration invalid"}
	}
	fc, err := fleet.NewClient(cfg)
	if err != nil {
		return checkResult{name: name, code: exitUsage, detail: err.Error()}
	}
	defer fc.CloseIdleConnections()
	if err := fc.CheckMetadataPatch(ctx); err != nil {
		code := exitUnreachable
		var apiErr *fleet.APIError
		if errors.Is(err, fleet.ErrMetadataPatchUnsupported) || errors.As(err, &apiErr) {
			code = exitFailed
		}
		return checkResult{name: name, code: code, detail: err.Error()}
	}
	return checkResult{name: name, ok: true, detail: "an empty PATCH /fleet/v1/machines was accepted (fleet v1.0.0 or later)"}
}
