package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// HostStatus is one host in Status.
type HostStatus struct {
	Host
	InstanceState string `json:"instanceState"`
	Down          bool   `json:"down"`
	Partitioned   bool   `json:"partitioned"`
}

// Status is the sandbox's view of the world, served by the control API.
type Status struct {
	Endpoints     Endpoints    `json:"endpoints"`
	Volume        string       `json:"volume"`
	Owner         string       `json:"owner,omitempty"`
	PostgresHosts []string     `json:"postgresHosts"`
	Hosts         []HostStatus `json:"hosts"`
	// Cuts lists every firewall rule in place (whole-host, pairwise, one-way
	// and etcd partitions), as "source -> destination".
	Cuts   []string   `json:"cuts"`
	Units  []UnitInfo `json:"units"`
	Events []Event    `json:"events"`
}

// Status reports hosts, units, the volume's owner and the sandbox's events.
func (s *Sandbox) Status() Status {
	st := Status{Endpoints: s.Endpoints(), Volume: s.volume, Units: s.exec.Units(), Events: s.Events(), PostgresHosts: []string{}, Cuts: s.fw.list()}
	if o, ok := s.Owner(s.volume); ok {
		st.Owner = o.Name
	}
	for _, h := range s.PostgresHosts(s.volume) {
		st.PostgresHosts = append(st.PostgresHosts, h.Name)
	}
	for _, h := range s.hosts {
		st.Hosts = append(st.Hosts, HostStatus{
			Host: h.Host, InstanceState: s.ec2.InstanceState(h.InstanceID),
			Down: s.exec.Down(h.MachineID), Partitioned: s.fw.partitioned(h.Addr),
		})
	}
	return st
}

var hostNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// controlHandler serves the control API:
//
//	GET  /v1/status
//	POST /v1/hosts/{name}/kill[?stopped=true]
//	POST /v1/hosts/{name}/partition | heal | revive | partition-etcd | heal-etcd
//	POST /v1/links/{a}/{b}/partition-pair | heal-pair | partition-oneway | heal-oneway
//	POST /v1/etcd/{member}/kill | restart | partition | heal | stall?delay=D | unstall | lead
func (s *Sandbox) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/etcd/{member}/{action}", s.memberAction)
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Status())
	})
	mux.HandleFunc("POST /v1/hosts/{name}/{action}", func(w http.ResponseWriter, r *http.Request) {
		name, action := r.PathValue("name"), r.PathValue("action")
		if !hostNameRe.MatchString(name) {
			writeJSON(w, http.StatusBadRequest, apiResult{Error: fmt.Sprintf("host name %q is not valid", name)})
			return
		}
		if _, err := s.host(name); err != nil {
			writeJSON(w, http.StatusNotFound, apiResult{Error: err.Error()})
			return
		}
		var err error
		switch action {
		case "kill":
			stopped := false
			if v := r.URL.Query().Get("stopped"); v != "" {
				if stopped, err = strconv.ParseBool(v); err != nil {
					writeJSON(w, http.StatusBadRequest, apiResult{Error: fmt.Sprintf("stopped=%q is not a boolean", v)})
					return
				}
			}
			err = s.KillHost(r.Context(), name, stopped)
		case "partition":
			err = s.PartitionHost(r.Context(), name)
		case "heal":
			err = s.HealHost(r.Context(), name)
		case "revive":
			err = s.ReviveHost(r.Context(), name)
		case "partition-etcd":
			err = s.PartitionFromEtcd(r.Context(), name)
		case "heal-etcd":
			err = s.HealFromEtcd(r.Context(), name)
		default:
			writeJSON(w, http.StatusNotFound, apiResult{Error: fmt.Sprintf("action %q: want kill, partition, heal, revive, partition-etcd or heal-etcd", action)})
			return
		}
		if err != nil {
			writeJSON(w, http.StatusConflict, apiResult{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, apiResult{OK: true})
	})
	mux.HandleFunc("POST /v1/links/{a}/{b}/{action}", func(w http.ResponseWriter, r *http.Request) {
		a, b, action := r.PathValue("a"), r.PathValue("b"), r.PathValue("action")
		for _, name := range []string{a, b} {
			if !hostNameRe.MatchString(name) {
				writeJSON(w, http.StatusBadRequest, apiResult{Error: fmt.Sprintf("host name %q is not valid", name)})
				return
			}
			if _, err := s.host(name); err != nil {
				writeJSON(w, http.StatusNotFound, apiResult{Error: err.Error()})
				return
			}
		}
		var err error
		switch action {
		case "partition-pair":
			err = s.PartitionPair(r.Context(), a, b)
		case "heal-pair":
			err = s.HealPair(r.Context(), a, b)
		case "partition-oneway":
			err = s.PartitionOneWay(r.Context(), a, b)
		case "heal-oneway":
			err = s.HealOneWay(r.Context(), a, b)
		default:
			writeJSON(w, http.StatusNotFound, apiResult{Error: fmt.Sprintf("action %q: want partition-pair, heal-pair, partition-oneway or heal-oneway", action)})
			return
		}
		if err != nil {
			writeJSON(w, http.StatusConflict, apiResult{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, apiResult{OK: true})
	})
	return mux
}

// memberAction serves the etcd member faults.
func (s *Sandbox) memberAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("member"), r.PathValue("action")
	if _, err := s.member(name); err != nil {
		writeJSON(w, http.StatusNotFound, apiResult{Error: err.Error()})
		return
	}
	var err error
	switch action {
	case "kill":
		err = s.KillEtcdMember(r.Context(), name)
	case "restart":
		err = s.RestartEtcdMember(r.Context(), name)
	case "partition":
		err = s.PartitionEtcdMember(r.Context(), name)
	case "heal":
		err = s.HealEtcdMember(r.Context(), name)
	case "stall":
		v := r.URL.Query().Get("delay")
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 || d > time.Minute {
			writeJSON(w, http.StatusBadRequest, apiResult{Error: fmt.Sprintf("delay=%q: want a duration such as 500ms, at most 1m", v)})
			return
		}
		err = s.StallEtcdMember(r.Context(), name, d)
	case "unstall":
		err = s.UnstallEtcdMember(r.Context(), name)
	case "lead":
		_, err = s.MoveEtcdLeader(r.Context(), name)
	default:
		writeJSON(w, http.StatusNotFound, apiResult{Error: fmt.Sprintf("action %q: want kill, restart, partition, heal, stall, unstall or lead", action)})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusConflict, apiResult{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, apiResult{OK: true})
}

type apiResult struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client is gone if this fails
}

// Client talks to a running sandbox's control API.
type Client struct {
	base *url.URL
	http *http.Client
}

// NewClient returns a client for the control endpoint (http://127.0.0.1:port).
func NewClient(endpoint string) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("sandbox endpoint %q: want http://host:port", endpoint)
	}
	return &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Status fetches the sandbox's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	body, err := c.do(ctx, http.MethodGet, "/v1/status")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("decode sandbox status: %w", err)
	}
	return st, nil
}

// HostAction runs kill, partition, heal, revive, partition-etcd or heal-etcd on a host.
func (c *Client) HostAction(ctx context.Context, name, action string, stopped bool) error {
	path := "/v1/hosts/" + url.PathEscape(name) + "/" + url.PathEscape(action)
	if stopped {
		path += "?stopped=true"
	}
	_, err := c.do(ctx, http.MethodPost, path)
	return err
}

// LinkAction runs partition-pair or heal-pair on the hosts a and b, or
// partition-oneway or heal-oneway from a to b.
func (c *Client) LinkAction(ctx context.Context, a, b, action string) error {
	path := "/v1/links/" + url.PathEscape(a) + "/" + url.PathEscape(b) + "/" + url.PathEscape(action)
	_, err := c.do(ctx, http.MethodPost, path)
	return err
}

// MemberAction runs kill, restart, partition, heal, stall (with delay),
// unstall or lead on an etcd member.
func (c *Client) MemberAction(ctx context.Context, member, action string, delay time.Duration) error {
	path := "/v1/etcd/" + url.PathEscape(member) + "/" + url.PathEscape(action)
	if action == "stall" {
		path += "?delay=" + url.QueryEscape(delay.String())
	}
	_, err := c.do(ctx, http.MethodPost, path)
	return err
}

func (c *Client) do(ctx context.Context, method, path string) ([]byte, error) {
	u := c.base.JoinPath()
	ref, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.ResolveReference(ref).String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var r apiResult
		if json.Unmarshal(body, &r) == nil && r.Error != "" {
			return nil, fmt.Errorf("%s %s: %s", method, path, r.Error)
		}
		return nil, fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}
