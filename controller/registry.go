package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Host is one instance's registration, stored as JSON under its session lease:
// it exists exactly as long as the instance keeps its etcd session.
type Host struct {
	Instance   string    `json:"instance"`
	Machine    string    `json:"machine"`
	AZ         string    `json:"az"`
	PrivateIP  string    `json:"privateIp"`
	HealthURL  string    `json:"healthUrl"`
	Version    string    `json:"version,omitempty"`
	NoFailover bool      `json:"nofailover"`
	Since      time.Time `json:"since"`
}

func (h Host) validate() error {
	switch {
	case !instanceIDRe.MatchString(h.Instance):
		return fmt.Errorf("instance: %q is not an EC2 instance ID", h.Instance)
	case h.Machine == "":
		return fmt.Errorf("machine: empty for %s", h.Instance)
	case h.AZ == "":
		return fmt.Errorf("az: empty for %s", h.Instance)
	case net.ParseIP(h.PrivateIP) == nil:
		return fmt.Errorf("privateIp: %q is not an IP address", h.PrivateIP)
	case h.HealthURL != "" && !strings.HasPrefix(h.HealthURL, "http"):
		return fmt.Errorf("healthUrl: %q is not an http URL", h.HealthURL)
	}
	return nil
}

// register writes this host under the session lease.
func (c *Controller) register(ctx context.Context, sess *concurrency.Session) error {
	h := Host{
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

// parseHost decodes and checks one registry entry; the key must name the same instance.
func (k Keys) parseHost(kv *mvccpb.KeyValue) (Host, error) {
	var h Host
	if err := json.Unmarshal(kv.Value, &h); err != nil {
		return h, fmt.Errorf("registry key %s: %w", kv.Key, err)
	}
	if err := h.validate(); err != nil {
		return h, fmt.Errorf("registry key %s: %w", kv.Key, err)
	}
	if k.Host(h.Instance) != string(kv.Key) {
		return h, fmt.Errorf("registry key %s: names instance %q", kv.Key, h.Instance)
	}
	return h, nil
}
