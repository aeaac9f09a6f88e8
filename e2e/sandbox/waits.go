package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSN is the connection string for the sandbox's trusted postgres user on a host.
func (h Host) DSN() string {
	return fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=disable&connect_timeout=2", h.Addr, PostgresPort)
}

// waitPoll is the period of the sandbox's waits.
const waitPoll = 100 * time.Millisecond

// poll calls try until it returns nil or ctx ends; the error names what was
// awaited and the last failure.
func poll(ctx context.Context, what string, try func(context.Context) error) error {
	t := time.NewTicker(waitPoll)
	defer t.Stop()
	var last error
	for {
		if last = try(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last: %w)", what, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// WaitPostgres waits until the volume's owner answers SQL and returns it.
func (s *Sandbox) WaitPostgres(ctx context.Context, volume string) (Host, error) {
	var owner Host
	err := poll(ctx, "postgres of "+volume, func(ctx context.Context) error {
		h, ok := s.Owner(volume)
		if !ok {
			return fmt.Errorf("volume %s attached nowhere", volume)
		}
		if err := QueryOK(ctx, h); err != nil {
			return err
		}
		owner = h
		return nil
	})
	return owner, err
}

// QueryOK connects to h's Postgres and runs SELECT 1.
func QueryOK(ctx context.Context, h Host) error {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, h.DSN())
	if err != nil {
		return fmt.Errorf("connect to postgres on %s: %w", h.Name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	if err := conn.QueryRow(cctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("select 1 on %s: %w", h.Name, err)
	}
	if one != 1 {
		return fmt.Errorf("select 1 on %s: got %d", h.Name, one)
	}
	return nil
}

// WaitControllers waits until volfailover answers /healthz with 200 on every
// host that is up.
func (s *Sandbox) WaitControllers(ctx context.Context) error {
	return poll(ctx, "volfailover /healthz on every live host", func(ctx context.Context) error {
		var errs []error
		for _, h := range s.hosts {
			if s.exec.Down(h.MachineID) || s.fw.partitioned(h.Addr) {
				continue
			}
			if err := probeHealth(ctx, h.HealthURL()); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", h.Name, err))
			}
		}
		return errors.Join(errs...)
	})
}

func probeHealth(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}
