package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// followPrimaries runs this host's --on-primary-change command each time the
// leader publishes this host as a volume's primary. It lists, then watches,
// the published primaries, re-listing after any watch failure; an outcome
// already reported for a publication (after a restart) is not run again.
func (c *Controller) followPrimaries(ctx context.Context) {
	k := c.keys
	for ctx.Err() == nil {
		resp, err := c.cli.Get(ctx, k.Volumes(), clientv3.WithPrefix())
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-c.clk.After(c.o.RoundInterval):
			}
			continue
		}
		hooks := map[string]state.HookOutcome{}
		for _, kv := range resp.Kvs {
			if h, err := k.ParseHookOutcome(kv); err == nil {
				hooks[h.Volume] = h
			}
		}
		for _, kv := range resp.Kvs {
			if p, err := k.ParsePrimary(kv); err == nil && !ranFor(hooks[p.Volume], p) {
				c.onPrimary(ctx, p)
			}
		}
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		for wr := range c.cli.Watch(wctx, k.Volumes(), clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				if p, err := k.ParsePrimary(ev.Kv); ev.Type == clientv3.EventTypePut && err == nil {
					c.onPrimary(ctx, p)
				}
			}
		}
		cancel()
	}
}

// ranFor says whether h is the outcome of the hook for publication p.
func ranFor(h state.HookOutcome, p state.Primary) bool {
	return h.Instance == p.Instance && h.FailoverID == p.FailoverID && h.Since.Equal(p.Since)
}

// onPrimary runs the hook when p names this host, and reports its outcome.
func (c *Controller) onPrimary(ctx context.Context, p state.Primary) {
	if p.Instance != c.o.InstanceID || c.o.OnPrimaryChange == "" {
		return
	}
	log := c.log.With().Str("volume", p.Volume).Str("failover_id", p.FailoverID).Logger()
	out := c.runHook(ctx, p)
	if out.ExitCode == 0 {
		log.Info().Msg("on-primary-change hook succeeded")
	} else {
		log.Error().Int("exit_code", out.ExitCode).Str("error", out.Error).Str("output", out.Output).Msg("on-primary-change hook failed")
	}
	if _, err := c.cli.Put(ctx, c.keys.VolumeHook(p.Volume), out.Encode()); err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Msg("on-primary-change hook outcome not reported")
	}
}

// hookOutputTail bounds what of a hook's output is journaled and paged.
const hookOutputTail = 2048

// runHook runs the command under its timeout, with the publication in its environment.
func (c *Controller) runHook(ctx context.Context, p state.Primary) state.HookOutcome {
	out := state.HookOutcome{Volume: p.Volume, Instance: p.Instance, FailoverID: p.FailoverID, Since: p.Since}
	hctx, cancel := context.WithTimeout(ctx, c.o.OnPrimaryChangeTimeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, "/bin/sh", "-c", c.o.OnPrimaryChange)
	cmd.Env = append(os.Environ(),
		"VOLFAILOVER_VOLUME="+p.Volume, "VOLFAILOVER_INSTANCE="+p.Instance,
		"VOLFAILOVER_ADDRESS="+p.Address, "VOLFAILOVER_PORT="+strconv.Itoa(p.Port),
		"VOLFAILOVER_FAILOVER_ID="+p.FailoverID)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	out.At = c.clk.Now().UTC()
	b := buf.Bytes()
	if len(b) > hookOutputTail {
		b = b[len(b)-hookOutputTail:]
	}
	out.Output = strings.TrimSpace(string(b))
	switch {
	case err == nil:
	case hctx.Err() != nil:
		out.ExitCode, out.Error = -1, fmt.Sprintf("timed out after %s", c.o.OnPrimaryChangeTimeout)
	case cmd.ProcessState != nil && cmd.ProcessState.ExitCode() > 0:
		out.ExitCode, out.Error = cmd.ProcessState.ExitCode(), err.Error()
	default:
		out.ExitCode, out.Error = -1, err.Error()
	}
	return out
}

// primaryCheck answers GET /primary/{volume} for load balancers: 200 only on
// the host the leader published as the volume's primary and where Postgres
// accepts connections, 503 anywhere else, so HAProxy or an NLB target group
// routes to the primary with no DNS change.
func (c *Controller) primaryCheck(w http.ResponseWriter, r *http.Request) {
	vol := r.PathValue("volume")
	if vol == "" {
		vol = r.URL.Query().Get("volume")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, body := c.primaryStatus(ctx, vol)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// primaryAnswer is the body of /primary.
type primaryAnswer struct {
	Volume  string         `json:"volume"`
	Primary bool           `json:"primary"`
	Reason  string         `json:"reason,omitempty"`
	Record  *state.Primary `json:"record,omitempty"`
}

func (c *Controller) primaryStatus(ctx context.Context, vol string) (int, primaryAnswer) {
	a := primaryAnswer{Volume: vol}
	if vol == "" {
		a.Reason = "no volume named: GET /primary/<volume>"
		return http.StatusBadRequest, a
	}
	resp, err := c.cli.Get(ctx, c.keys.VolumePrimary(vol))
	switch {
	case err != nil:
		a.Reason = "etcd unreachable: " + err.Error()
		return http.StatusServiceUnavailable, a
	case len(resp.Kvs) == 0:
		a.Reason = "no primary published for " + vol
		return http.StatusServiceUnavailable, a
	}
	p, err := c.keys.ParsePrimary(resp.Kvs[0])
	if err != nil {
		a.Reason = err.Error()
		return http.StatusServiceUnavailable, a
	}
	a.Record = &p
	if p.Instance != c.o.InstanceID {
		a.Reason = "the primary is " + p.Instance
		return http.StatusServiceUnavailable, a
	}
	addr := net.JoinHostPort(c.o.PrivateIP, strconv.Itoa(c.o.PostgresPort))
	if err := c.pg.Ready(ctx, addr); err != nil {
		a.Reason = "this host is the primary but Postgres does not accept connections: " + err.Error()
		return http.StatusServiceUnavailable, a
	}
	a.Primary = true
	return http.StatusOK, a
}
