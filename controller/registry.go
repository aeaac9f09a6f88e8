package controller

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/volfailover/volfailover/state"
)

// register writes this host under the session lease.
func (c *Controller) register(ctx context.Context, sess *concurrency.Session) error {
	h := state.Host{
		Instance:   c.o.InstanceID,
		Machine:    c.o.MachineID,
		AZ:         c.o.AvailabilityZone,
		PrivateIP:  c.o.PrivateIP,
		HealthURL:  c.HealthURL(),
		Version:    c.o.Version,
		NoFailover: c.o.NoFailover,
		Since:      c.clk.Now().UTC(),
	}
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode registration of %s: %w", h.Instance, err)
	}
	if _, err := c.cli.Put(ctx, c.keys.Host(h.Instance), string(b), clientv3.WithLease(sess.Lease())); err != nil {
		return fmt.Errorf("register %s under lease %x: %w", h.Instance, int64(sess.Lease()), err)
	}
	c.log.Info().Str("machine", h.Machine).Str("health_url", h.HealthURL).Bool("nofailover", h.NoFailover).Msg("host registered")
	return nil
}
