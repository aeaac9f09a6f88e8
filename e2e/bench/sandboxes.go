package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/state"
)

// SandboxConfig is what the sandbox benchmarks need to bring a sandbox up.
type SandboxConfig struct {
	// Dir is the sandbox directory (its parents must be traversable by the
	// postgres user); required.
	Dir string
	// VolfailoverBin and SandboxBin are prebuilt binaries; "" = the sandbox builds them.
	VolfailoverBin, SandboxBin string
	// Profile is the sandbox's profile.
	Profile ec2sim.Profile
	// Hosts is the number of hosts in the volume's zone; default 4.
	Hosts int
	// Subnet is the sandbox's third address octet; default 41.
	Subnet int
	// Logger receives the harness's progress.
	Logger zerolog.Logger
}

// sbox is a started sandbox with what the benchmarks read from it.
type sbox struct {
	sb   *sandbox.Sandbox
	cli  *clientv3.Client
	keys state.Keys
	log  *simLog
}

// benchControllerEnv relaxes flap damping: the benchmark fails one volume
// over again and again on purpose, which the production cooldown (15 min)
// and window (3 per hour) exist to prevent.
var benchControllerEnv = []string{"VOLFAILOVER_COOLDOWN=1s", "VOLFAILOVER_MAX_FAILOVERS=1000"}

func startSandbox(ctx context.Context, c SandboxConfig) (*sbox, error) {
	if c.Hosts == 0 {
		c.Hosts = 4
	}
	if c.Subnet == 0 {
		c.Subnet = 41
	}
	sl := &simLog{}
	cfg := sandbox.DefaultConfig(c.Dir)
	cfg.Hosts, cfg.HostsB, cfg.Profile, cfg.Subnet = c.Hosts, 0, c.Profile, c.Subnet
	cfg.VolfailoverBin, cfg.SandboxBin = c.VolfailoverBin, c.SandboxBin
	cfg.ControllerEnv = benchControllerEnv
	cfg.Logger = zerolog.New(sl)
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start sandbox (%s): %w", c.Profile, err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: sb.EtcdEndpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		_ = sb.Close()
		return nil, fmt.Errorf("etcd client for the sandbox: %w", err)
	}
	return &sbox{sb: sb, cli: cli, keys: state.Keys{Prefix: state.DefaultPrefix}, log: sl}, nil
}

func (s *sbox) close() error {
	_ = s.cli.Close()
	return s.sb.Close()
}

// settle waits until every down host is revived and every host is up,
// registered and its controller healthy, a leader is elected, Postgres
// answers on the owner and a witness reports on it; it returns the owner.
func (s *sbox) settle(ctx context.Context) (sandbox.Host, error) {
	st := s.sb.Status()
	for _, h := range st.Hosts {
		if !h.Down {
			continue
		}
		// A host fenced by the last failover is revived once EC2 has it stopped.
		if err := waitUntil(ctx, 2*time.Minute, "instance of "+h.Name+" to reach stopped", func() bool {
			return s.sb.EC2().InstanceState(h.InstanceID) == "stopped"
		}); err != nil {
			return sandbox.Host{}, err
		}
		if err := s.sb.ReviveHost(ctx, h.Name); err != nil {
			return sandbox.Host{}, fmt.Errorf("revive %s: %w", h.Name, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	owner, err := s.sb.WaitPostgres(wctx, s.sb.Volume())
	if err != nil {
		return owner, fmt.Errorf("wait for postgres: %w", err)
	}
	if err := s.sb.WaitControllers(wctx); err != nil {
		return owner, fmt.Errorf("wait for controllers: %w", err)
	}
	n := len(s.sb.Hosts())
	err = waitUntil(wctx, 3*time.Minute, "every host registered, a leader, a witness report on the owner, the volume armed and no move in progress", func() bool {
		hosts, err := s.cli.Get(wctx, s.keys.Hosts(), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || int(hosts.Count) != n {
			return false
		}
		if id, _ := leaderID(wctx, s.cli, s.keys); id == "" {
			return false
		}
		wit, err := s.cli.Get(wctx, s.keys.WitnessOwner(owner.InstanceID), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || wit.Count == 0 {
			return false
		}
		// Only an armed volume (its Postgres seen answering) is failed over.
		armed, err := s.cli.Get(wctx, s.keys.ArmedVolume(s.sb.Volume()), clientv3.WithCountOnly())
		if err != nil || armed.Count == 0 {
			return false
		}
		j, err := s.cli.Get(wctx, s.keys.JournalVolume(s.sb.Volume()), clientv3.WithCountOnly())
		return err == nil && j.Count == 0
	})
	return owner, err
}

// leader returns the leading host and the PID of its volfailover process.
func (s *sbox) leader(ctx context.Context) (sandbox.Host, int, error) {
	id, err := leaderID(ctx, s.cli, s.keys)
	if err != nil {
		return sandbox.Host{}, 0, err
	}
	for _, h := range s.sb.Hosts() {
		if h.InstanceID != id {
			continue
		}
		for _, u := range s.sb.Units() {
			if u.Host == h.Name && u.Unit == "volfailover.service" && u.PID > 0 && u.Active == "active" {
				return h, u.PID, nil
			}
		}
		return h, 0, fmt.Errorf("leader %s (%s) has no running volfailover process", h.Name, id)
	}
	return sandbox.Host{}, 0, fmt.Errorf("leader %q is no sandbox host", id)
}

// followerPID returns a running volfailover process that neither leads nor owns.
func (s *sbox) followerPID(ctx context.Context, owner sandbox.Host) (sandbox.Host, int, error) {
	id, err := leaderID(ctx, s.cli, s.keys)
	if err != nil {
		return sandbox.Host{}, 0, err
	}
	for _, h := range s.sb.Hosts() {
		if h.InstanceID == id || h.Name == owner.Name {
			continue
		}
		for _, u := range s.sb.Units() {
			if u.Host == h.Name && u.Unit == "volfailover.service" && u.PID > 0 && u.Active == "active" {
				return h, u.PID, nil
			}
		}
	}
	return sandbox.Host{}, 0, fmt.Errorf("no idle follower found")
}
