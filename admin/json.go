package admin

import (
	"encoding/json"
	"time"

	"github.com/volfailover/volfailover/state"
)

// The JSON documents of this package (`status -o json`, `history -o json`, and
// the cluster part of /v1/status) use one naming style, camelCase, and leave
// out times that were never set. Two of the state types they embed do not
// (state.Host's "nofailover", state.Signal's untagged Go names and zero
// Since), and their tags are the etcd schema that every running version
// reads, so the documents are rendered through the views below instead of
// changing what is stored. encoding/json matches names case-insensitively, so
// a script that decodes these documents into the state types still works.

// hostJSON is state.Host as the documents show it.
type hostJSON struct {
	Instance   string `json:"instance"`
	Machine    string `json:"machine"`
	AZ         string `json:"az"`
	PrivateIP  string `json:"privateIp"`
	HealthURL  string `json:"healthUrl,omitempty"`
	Version    string `json:"version,omitempty"`
	NoFailover bool   `json:"noFailover"`
	// PrimaryHook: the host runs --on-primary-change when it becomes a primary.
	PrimaryHook bool      `json:"primaryHook,omitempty"`
	Since       time.Time `json:"since,omitzero"`
}

func hostView(h state.Host) hostJSON {
	return hostJSON{Instance: h.Instance, Machine: h.Machine, AZ: h.AZ, PrivateIP: h.PrivateIP,
		HealthURL: h.HealthURL, Version: h.Version, NoFailover: h.NoFailover, PrimaryHook: h.PrimaryHook, Since: h.Since}
}

// signalJSON is state.Signal as the documents show it.
type signalJSON struct {
	Source  string    `json:"source"`
	OK      bool      `json:"ok"`
	Unknown bool      `json:"unknown,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Since   time.Time `json:"since,omitzero"`
}

// recordJSON is state.Record with its signals in the documents' style. The
// embedded record brings every other field, so fields added to the record
// appear here without a change; Signals shadows the record's own.
type recordJSON struct {
	state.Record
	Signals []signalJSON `json:"signals,omitempty"`
}

func recordView(r state.Record) recordJSON {
	v := recordJSON{Record: r}
	for _, s := range r.Signals {
		v.Signals = append(v.Signals, signalJSON{Source: s.Source, OK: s.OK, Unknown: s.Unknown, Detail: s.Detail, Since: s.Since})
	}
	return v
}

func recordViews(rs []state.Record) []recordJSON {
	out := make([]recordJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, recordView(r))
	}
	return out
}

// MarshalJSON renders the status in camelCase without unset times, its
// fields in the order of Status.
func (s Status) MarshalJSON() ([]byte, error) {
	hosts := make([]hostJSON, 0, len(s.Hosts))
	for _, h := range s.Hosts {
		hosts = append(hosts, hostView(h))
	}
	return json.Marshal(struct {
		Time          time.Time       `json:"time,omitzero"`
		Prefix        string          `json:"prefix"`
		Revision      int64           `json:"revision"`
		Leader        *Leader         `json:"leader"`
		Hosts         []hostJSON      `json:"hosts"`
		Volumes       []VolumeStatus  `json:"volumes"`
		Overrides     []Override      `json:"overrides"`
		InFlight      []recordJSON    `json:"inFlight"`
		LastMoves     []recordJSON    `json:"lastMoves"`
		Damping       []DampingStatus `json:"damping"`
		Unreadable    []BadKey        `json:"unreadable"`
		Versions      []VersionCount  `json:"versions"`
		MixedVersions bool            `json:"mixedVersions"`
	}{s.Time, s.Prefix, s.Revision, s.Leader, hosts, s.Volumes, s.Overrides, recordViews(s.InFlight), recordViews(s.LastMoves),
		s.Damping, s.Unreadable, s.Versions, s.MixedVersions})
}

// MarshalJSON renders the history in camelCase without unset times.
func (h History) MarshalJSON() ([]byte, error) {
	type historyAlias History
	return json.Marshal(struct {
		historyAlias
		Records []recordJSON `json:"records"`
	}{historyAlias(h), recordViews(h.Records)})
}
