//go:build e2e

package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/sandbox"
)

// TestFirstDeployFencesNothing follows docs/deploy/README.md's order: the
// agents run before postgres@<volume>.service is submitted, and the owner
// host has neither its agent nor Postgres yet (it is down). Its volume was
// never seen serving, so it is not armed: nothing may be fenced and nothing
// may move, however long it stays so. Once the owner is up and Postgres is
// submitted, the volume is armed (issue 15 §2).
func TestFirstDeployFencesNothing(t *testing.T) {
	w := newWorld(t, worldOptions{firstDeploy: true})
	owner := w.host("core1")
	t0 := w.kill(owner.Name, false)
	// Past every signal's bound on the sandbox's timing: three failed probe
	// rounds, the owner's lease, fleet's machine TTL.
	w.hold(10*time.Second, "nothing fenced or moved while the volume was never seen serving", func() (bool, string) {
		if calls := w.fenceCalls(t0, owner.InstanceID); len(calls) > 0 {
			return false, fmt.Sprintf("fencing calls sent: %v", calls)
		}
		if rec := w.journal(); rec != nil {
			return false, fmt.Sprintf("a move started: %s %s", rec.Kind, rec.ID)
		}
		return true, ""
	})
	require.Equal(t, int64(0), w.count(w.keys.ArmedVolume(w.sb.Volume())), "the volume is not armed")
	require.Contains(t, w.controllerLog(), "volume unarmed", "the leader reported the dead owner of an unarmed volume")

	w.revive(owner.Name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, w.sb.SubmitPostgres(ctx), "submit postgres@<volume>")
	w.waitFor(time.Minute, "the volume armed once its Postgres answered on "+owner.Name, func() (bool, string) {
		n := w.count(w.keys.ArmedVolume(w.sb.Volume()))
		return n == 1, fmt.Sprintf("%d arming records", n)
	})
}

// TestPrimaryCheck drives GET /primary/<volume> with an HTTP client, as a
// load balancer's health check does: 200 on the owner only, and after the
// owner dies, 200 on the new owner only (issue 15 §1).
func TestPrimaryCheck(t *testing.T) {
	w := newWorld(t, worldOptions{})
	vol := w.sb.Volume()
	check := func(h sandbox.Host) (int, string) {
		c := &http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://%s:%d/primary/%s", h.Addr, sandbox.HealthPort, vol))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var body struct {
			Reason string `json:"reason"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Reason
	}
	primaryOnly := func(name string) func() (bool, string) {
		return func() (bool, string) {
			var seen []string
			ok := true
			for _, h := range w.sb.Hosts() {
				if w.sb.EC2().InstanceState(h.InstanceID) != "running" {
					continue
				}
				code, why := check(h)
				seen = append(seen, fmt.Sprintf("%s %d %s", h.Name, code, why))
				ok = ok && (code == http.StatusOK) == (h.Name == name)
			}
			return ok, strings.Join(seen, "; ")
		}
	}
	w.waitFor(30*time.Second, "/primary answering 200 on core1 only", primaryOnly("core1"))
	w.kill("core1", false)
	served, _ := w.waitServed(30*time.Second, "core1")
	w.waitFor(30*time.Second, "/primary answering 200 on "+served.Name+" only", primaryOnly(served.Name))
	w.settle(served)
}
