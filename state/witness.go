package state

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Owner is a host holding a managed volume, as the leader publishes it for the witnesses.
type Owner struct {
	Instance  string `json:"instance"`
	AZ        string `json:"az"`
	PrivateIP string `json:"privateIp"`
	Machine   string `json:"machine,omitempty"`
	Volume    string `json:"volume"`
	// HealthURL is the owner agent's /healthz as last registered. It is kept after the
	// registration lapses, so witnesses can still tell a host whose agent lost etcd
	// (it answers) from a dead one (it does not).
	HealthURL string `json:"healthUrl,omitempty"`
}

// ParseOwners decodes and checks the leader-published list of owner hosts (Keys.Owners).
func ParseOwners(b []byte) ([]Owner, error) {
	var owners []Owner
	if err := json.Unmarshal(b, &owners); err != nil {
		return nil, fmt.Errorf("owners list: %w", err)
	}
	for i, o := range owners {
		if !ValidInstanceID(o.Instance) || o.AZ == "" || net.ParseIP(o.PrivateIP) == nil {
			return nil, fmt.Errorf("owners list entry %d: instance %q az %q privateIp %q: incomplete", i, o.Instance, o.AZ, o.PrivateIP)
		}
		if o.HealthURL != "" {
			if u, err := url.Parse(o.HealthURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("owners list entry %d: healthUrl %q is not an http(s) URL", i, o.HealthURL)
			}
		}
	}
	return owners, nil
}

// Report is what a witness saw of an owner, stored under the witness's lease.
type Report struct {
	Owner     string    `json:"owner"`
	Witness   string    `json:"witness"`
	Reachable bool      `json:"reachable"`
	At        time.Time `json:"at"`
	// Since is when the witness's current run of failed probes began; zero while the
	// owner is reachable. An unreachable report proves the owner down from Since to At.
	Since  time.Time `json:"since,omitzero"`
	Detail string    `json:"detail,omitempty"`
}

// ParseReport decodes one witness report and checks that it names the owner
// and the witness its key names: a report filed under another owner's key
// must not count as evidence about that owner.
func (k Keys) ParseReport(kv *mvccpb.KeyValue) (Report, error) {
	var r Report
	owner, witness, err := k.ParseWitnessKey(string(kv.Key))
	if err != nil {
		return r, fmt.Errorf("witness report: %w", err)
	}
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return r, fmt.Errorf("witness report %s: %w", kv.Key, err)
	}
	if r.Owner != owner || r.Witness != witness {
		return r, fmt.Errorf("witness report %s: names owner %q witness %q", kv.Key, r.Owner, r.Witness)
	}
	if !r.Since.IsZero() && (r.Reachable || r.Since.After(r.At)) {
		return r, fmt.Errorf("witness report %s: since %s with reachable %t at %s: a run of failures must end at or before the report",
			kv.Key, r.Since.Format(time.RFC3339Nano), r.Reachable, r.At.Format(time.RFC3339Nano))
	}
	return r, nil
}
