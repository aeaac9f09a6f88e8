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
		Instance:    c.o.InstanceID,
		Machine:     c.o.MachineID,
		AZ:          c.o.AvailabilityZone,
		PrivateIP:   c.o.PrivateIP,
		HealthURL:   c.HealthURL(),
		Version:     c.o.Version,
		NoFailover:  c.o.NoFailover,
		PrimaryHook: c.o.OnPrimaryChange != "",
		Since:       c.clk.Now().UTC(),
	}
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode registration of %s: %w", h.Instance, err)
	}
	// A registration clears the record of an earlier clean shutdown: from now
	// on a missing registration is evidence again.
	_, err = c.cli.Txn(ctx).Then(
		clientv3.OpPut(c.keys.Host(h.Instance), string(b), clientv3.WithLease(sess.Lease())),
		clientv3.OpDelete(c.keys.DepartedHost(h.Instance)),
	).Commit()
	if err != nil {
		return fmt.Errorf("register %s under lease %x: %w", h.Instance, int64(sess.Lease()), err)
	}
	c.log.Info().Str("machine", h.Machine).Str("health_url", h.HealthURL).Bool("nofailover", h.NoFailover).Msg("host registered")
	return nil
}

// depart records a clean shutdown just before the session is revoked, so the
// leader reads the registration's end as an agent leaving (a rolling
// restart), not as a host dying. The record has no lease: it must outlive
// the session it speaks for.
func (c *Controller) depart(ctx context.Context, reason string) {
	d := state.Departed{Instance: c.o.InstanceID, At: c.clk.Now().UTC(), Reason: reason}
	if _, err := c.cli.Put(ctx, c.keys.DepartedHost(d.Instance), d.Encode()); err != nil {
		c.log.Warn().Err(err).Msg("clean shutdown not recorded; the leader may read it as a lost lease")
	}
}
