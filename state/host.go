package state

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Host is one instance's registration, stored as JSON under its session lease:
// it exists exactly as long as the instance keeps its etcd session.
type Host struct {
	Instance   string `json:"instance"`
	Machine    string `json:"machine"`
	AZ         string `json:"az"`
	PrivateIP  string `json:"privateIp"`
	HealthURL  string `json:"healthUrl"`
	Version    string `json:"version,omitempty"`
	NoFailover bool   `json:"nofailover"`
	// PrimaryHook says the host runs a command when it becomes a volume's
	// primary; the leader then waits for its outcome to journal and page it.
	PrimaryHook bool      `json:"primaryHook,omitempty"`
	Since       time.Time `json:"since"`
}

// Validate checks what target choice and the witnesses rely on, naming the field at fault.
func (h Host) Validate() error {
	switch {
	case !ValidInstanceID(h.Instance):
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

// ParseHost decodes and checks one registry entry; the key must name the same instance.
func (k Keys) ParseHost(kv *mvccpb.KeyValue) (Host, error) {
	var h Host
	if err := json.Unmarshal(kv.Value, &h); err != nil {
		return h, fmt.Errorf("registry key %s: %w", kv.Key, err)
	}
	if err := h.Validate(); err != nil {
		return h, fmt.Errorf("registry key %s: %w", kv.Key, err)
	}
	if k.Host(h.Instance) != string(kv.Key) {
		return h, fmt.Errorf("registry key %s: names instance %q", kv.Key, h.Instance)
	}
	return h, nil
}
