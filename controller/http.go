package controller

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/volfailover/volfailover/health"
)

// VolumeView is one managed volume as the leader judged it in its last round.
type VolumeView struct {
	Volume     string         `json:"volume"`
	AZ         string         `json:"az"`
	Owner      string         `json:"owner,omitempty"`
	Verdict    health.Verdict `json:"verdict,omitempty"`
	Actionable bool           `json:"actionable,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Signals    []SignalView   `json:"signals,omitempty"`
	// SuspectSince is when the owner became suspect in this leadership (zero when not suspect).
	SuspectSince time.Time `json:"suspectSince,omitzero"`
	// Paused is why the leader leaves the volume alone ("" = not paused).
	Paused string `json:"paused,omitempty"`
	// Moving is the last completed step of an in-flight move ("" = none).
	Moving string `json:"moving,omitempty"`
	// Unarmed is true until the volume's Postgres has been seen answering on
	// its owner; an unarmed volume is never failed over.
	Unarmed bool `json:"unarmed,omitempty"`
	// DeleteOnTermination is true when EC2 deletes the volume with its owner.
	DeleteOnTermination bool `json:"deleteOnTermination,omitempty"`
}

// SignalView is one signal of a verdict in /v1/status, in the document's
// camelCase, with an unset time left out.
type SignalView struct {
	Source  string    `json:"source"`
	OK      bool      `json:"ok"`
	Unknown bool      `json:"unknown,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Since   time.Time `json:"since,omitzero"`
}

func signalViews(in []health.Signal) []SignalView {
	out := make([]SignalView, len(in))
	for i, s := range in {
		out[i] = SignalView{Source: s.Source, OK: s.OK, Unknown: s.Unknown, Detail: s.Detail, Since: s.Since}
	}
	return out
}

// StatusDoc is the /v1/status document of one instance. Only the leader
// judges owners, so Volumes is filled on the leader; a follower says so and
// points at the leader's own /v1/status. Cluster is etcd's view (the same
// document as `volfailover status --json`): hosts, overrides, in-flight moves
// with their timelines, the last moves. Fields are added, never renamed.
type StatusDoc struct {
	Time       time.Time `json:"time"`
	Instance   string    `json:"instance"`
	AZ         string    `json:"az"`
	Version    string    `json:"version,omitempty"`
	Session    bool      `json:"session"`
	Registered bool      `json:"registered"`
	IsLeader   bool      `json:"isLeader"`
	// Leader is the instance holding the election as last observed ("" = unknown).
	Leader string `json:"leader"`
	// LeaderStatusURL is the leader's /v1/status, on followers.
	LeaderStatusURL string       `json:"leaderStatusUrl,omitempty"`
	Note            string       `json:"note,omitempty"`
	Volumes         []VolumeView `json:"volumes"`
	Cluster         any          `json:"cluster,omitempty"`
	ClusterError    string       `json:"clusterError,omitempty"`
}

func (c *Controller) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		c.mu.Lock()
		body := struct {
			Instance string `json:"instance"`
			Leader   bool   `json:"leader"`
			Session  bool   `json:"session"`
		}{c.o.InstanceID, c.isLeader, c.session}
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("GET /primary/{volume}", c.primaryCheck)
	mux.HandleFunc("GET /primary", c.primaryCheck)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		c.mu.Lock()
		session, registered := c.session, c.registered
		c.mu.Unlock()
		switch {
		case !session:
			http.Error(w, "not ready: no etcd session", http.StatusServiceUnavailable)
		case !registered:
			http.Error(w, "not ready: host not registered yet", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok\n"))
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.m.reg, promhttp.HandlerOpts{Registry: c.m.reg, Timeout: 10 * time.Second}))
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		writeJSON(w, http.StatusOK, c.statusDoc(ctx))
	})
	return mux
}

// statusDoc assembles this instance's /v1/status.
func (c *Controller) statusDoc(ctx context.Context) StatusDoc {
	c.mu.Lock()
	d := StatusDoc{
		Time: c.clk.Now().UTC(), Instance: c.o.InstanceID, AZ: c.o.AvailabilityZone, Version: c.o.Version,
		Session: c.session, Registered: c.registered, IsLeader: c.isLeader, Leader: c.leaderID,
		Volumes: append([]VolumeView{}, c.views...),
	}
	c.mu.Unlock()
	if !d.IsLeader {
		switch d.Leader {
		case "":
			d.Note = "not the leader, and no leader is known: nothing acts"
		default:
			d.Note = "not the leader: owners are judged by " + d.Leader + "; see leaderStatusUrl"
			if resp, err := c.cli.Get(ctx, c.keys.Host(d.Leader)); err == nil && len(resp.Kvs) == 1 {
				if h, err := c.keys.ParseHost(resp.Kvs[0]); err == nil && h.HealthURL != "" {
					d.LeaderStatusURL = strings.TrimSuffix(h.HealthURL, "/healthz") + "/v1/status"
				}
			}
		}
	}
	if c.status != nil {
		cl, err := c.status(ctx)
		if err != nil {
			d.ClusterError = err.Error()
		} else {
			d.Cluster = cl
		}
	}
	return d
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
