package admin

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// grantRe matches the grant lines of docs/deploy/etcd-rbac.sh.
var grantRe = regexp.MustCompile(`role grant-permission (\S+) (--prefix=true )?(read|write|readwrite) "\$PREFIX([^"]*)"`)

// TestEtcdRBACScriptLimitsOperators applies the grants of
// docs/deploy/etcd-rbac.sh to a real etcd with auth on, and checks the key
// layout they rely on: an operator can pause, resume and read status through
// this package, but cannot write the controller's keys; the controller's role
// can write everything under the prefix.
func TestEtcdRBACScriptLimitsOperators(t *testing.T) {
	script, err := os.ReadFile("../docs/deploy/etcd-rbac.sh")
	require.NoError(t, err)
	grants := grantRe.FindAllStringSubmatch(string(script), -1)
	require.Len(t, grants, 6, "grant lines in etcd-rbac.sh")

	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "panic"
	cfg.BcryptCost = 4 // the minimum: the test checks permissions, not password hashing
	cu, _ := url.Parse("http://127.0.0.1:0")
	pu, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	e, err := embed.StartEtcd(cfg)
	require.NoError(t, err)
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		t.Fatal("etcd not ready within 20s")
	}
	ep := "http://" + e.Clients[0].Addr().String()
	dial := func(user, pw string) *clientv3.Client {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, Username: user, Password: pw, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		require.NoError(t, err, "connect as %q", user)
		t.Cleanup(func() { c.Close() })
		return c
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	const prefix = "/volfailover"
	boot := dial("", "")
	for _, role := range []string{"volfailover-controller", "volfailover-operator"} {
		_, err := boot.RoleAdd(ctx, role)
		require.NoError(t, err)
	}
	for _, g := range grants {
		role, isPrefix, perm, key := g[1], g[2] != "", g[3], prefix+g[4]
		end := ""
		if isPrefix {
			end = clientv3.GetPrefixRangeEnd(key)
		}
		pt := map[string]clientv3.PermissionType{"read": clientv3.PermissionType(clientv3.PermRead), "write": clientv3.PermissionType(clientv3.PermWrite), "readwrite": clientv3.PermissionType(clientv3.PermReadWrite)}[perm]
		_, err := boot.RoleGrantPermission(ctx, role, key, end, pt)
		require.NoError(t, err, "grant %s %s on %s", role, perm, key)
	}
	for _, u := range [][3]string{{"root", "rootpw", "root"}, {"volfailover", "agentpw", "volfailover-controller"}, {"volfailover-operator", "oppw", "volfailover-operator"}} {
		_, err := boot.UserAdd(ctx, u[0], u[1])
		require.NoError(t, err)
		_, err = boot.UserGrantRole(ctx, u[0], u[2])
		require.NoError(t, err)
	}
	_, err = boot.AuthEnable(ctx)
	require.NoError(t, err)

	agent := dial("volfailover", "agentpw")
	for _, k := range []string{"/journal/vol-0123456789abcdef0", "/hosts/i-0123456789abcdef0", "/election/1", "/outbox/1", "/pause", "/volumes/vol-0123456789abcdef0/switchover"} {
		_, err := agent.Put(ctx, prefix+k, "{}")
		require.NoError(t, err, "the controller writes %s", k)
	}
	_, err = agent.Delete(ctx, prefix+"/pause")
	require.NoError(t, err)

	op := dial("volfailover-operator", "oppw")
	a, err := New(Config{Etcd: op, Prefix: prefix, By: "tester"})
	require.NoError(t, err)
	_, err = a.Pause(ctx, PauseRequest{Reason: "maintenance"})
	require.NoError(t, err, "an operator pauses everything")
	_, err = a.Pause(ctx, PauseRequest{Volume: "vol-0123456789abcdef0", Reason: "restore test"})
	require.NoError(t, err, "an operator pauses one volume")
	_, err = a.Resume(ctx, "")
	require.NoError(t, err, "an operator resumes")
	s, err := a.Status(ctx)
	require.NoError(t, err, "an operator reads the status")
	require.NotEmpty(t, s.Overrides)
	// abort (a pending switchover, then a move in flight) and clear-damping.
	_, err = agent.Put(ctx, prefix+"/volumes/vol-0123456789abcdef1/switchover", `{"to":"i-0123456789abcdef0","reason":"r"}`)
	require.NoError(t, err)
	ab, err := a.Abort(ctx, "vol-0123456789abcdef1", "")
	require.NoError(t, err, "an operator withdraws a pending switchover")
	require.NotEmpty(t, ab.SwitchoverRemoved)
	_, err = a.Resume(ctx, "vol-0123456789abcdef0")
	require.NoError(t, err)
	ab, err = a.Abort(ctx, "vol-0123456789abcdef0", "")
	require.NoError(t, err, "an operator holds a move in flight")
	require.NotNil(t, ab.Paused)
	_, err = agent.Put(ctx, prefix+"/damping/vol-0123456789abcdef0", `{"failovers":[]}`)
	require.NoError(t, err)
	d, err := a.Damping(ctx, "vol-0123456789abcdef0")
	require.NoError(t, err)
	cleared, err := a.ClearDamping(ctx, d)
	require.NoError(t, err, "an operator clears a damping record")
	require.True(t, cleared.Deleted)
	// disarm, and a manual failover request.
	_, err = agent.Put(ctx, prefix+"/armed/vol-0123456789abcdef0", `{}`)
	require.NoError(t, err)
	disarmed, err := a.Disarm(ctx, "vol-0123456789abcdef0")
	require.NoError(t, err, "an operator disarms a volume")
	require.Empty(t, disarmed.Notes, "the arming record was there")
	_, err = a.Resume(ctx, "vol-0123456789abcdef0")
	require.NoError(t, err)
	_, err = agent.Delete(ctx, prefix+"/journal/vol-0123456789abcdef0")
	require.NoError(t, err)
	_, err = a.Failover(ctx, FailoverRequest{Volume: "vol-0123456789abcdef0", Reason: "disk errors"})
	require.NoError(t, err, "an operator requests a manual failover")
	for _, k := range []string{"/journal/vol-0123456789abcdef0", "/hosts/i-0123456789abcdef0", "/election/1", "/history/vol-0123456789abcdef0/1", "/pauseX", "/owners", "/outbox/1", "/dampingX", "/armedX"} {
		_, err := op.Put(ctx, prefix+k, "{}")
		require.Error(t, err, "an operator must not write %s", k)
		require.True(t, strings.Contains(err.Error(), "permission denied"), "writing %s: got %v want permission denied", k, err)
	}
}
