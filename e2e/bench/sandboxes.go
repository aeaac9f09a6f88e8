package bench

import (
	"context"
	"fmt"
	"strings"
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
	// profile sizes the bounds of the setup waits.
	profile ec2sim.Profile
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
	return &sbox{sb: sb, cli: cli, keys: state.Keys{Prefix: state.DefaultPrefix}, log: sl, profile: c.Profile}, nil
}

func (s *sbox) close() error {
	_ = s.cli.Close()
	return s.sb.Close()
}

// setupBounds are the bounds of settle's waits on a profile. aws-typical:
// a stop takes up to 35 s; Postgres is placed by fleet's engine (2 s ticks)
// and agent (5 s), after a machine TTL of 30 s at worst, then crash-recovers;
// the leader arms a volume at its next probe (1 s) and a witness reports within
// its refresh (5 s). instant: every figure is a fraction of that. Each bound is
// a few times the worst case, so a timeout means something is stuck, not slow.
type setupBounds struct {
	stopped, postgres, controllers, armed time.Duration
}

func boundsFor(p ec2sim.Profile) setupBounds {
	if p == ec2sim.ProfileAWSTypical {
		return setupBounds{stopped: 2 * time.Minute, postgres: 3 * time.Minute, controllers: time.Minute, armed: 2 * time.Minute}
	}
	return setupBounds{stopped: 30 * time.Second, postgres: 90 * time.Second, controllers: 30 * time.Second, armed: time.Minute}
}

// settle waits until every down host is revived and every host is up,
// registered and its controller healthy, a leader is elected, Postgres
// answers on the owner and a witness reports on it; it returns the owner.
// Every wait has its own bound (boundsFor) and names what it waited for;
// a Postgres that does not answer is reported with its unit's state and the
// firewall rules in place.
func (s *sbox) settle(ctx context.Context) (sandbox.Host, error) {
	b := boundsFor(s.profile)
	st := s.sb.Status()
	for _, h := range st.Hosts {
		if !h.Down {
			continue
		}
		// A host fenced by the last failover is revived once EC2 has it stopped.
		if err := waitUntil(ctx, b.stopped, "instance of "+h.Name+" to reach stopped", func() bool {
			return s.sb.EC2().InstanceState(h.InstanceID) == "stopped"
		}); err != nil {
			return sandbox.Host{}, err
		}
		if err := s.sb.ReviveHost(ctx, h.Name); err != nil {
			return sandbox.Host{}, fmt.Errorf("revive %s: %w", h.Name, err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, b.postgres)
	owner, err := s.sb.WaitPostgres(pctx, s.sb.Volume())
	cancel()
	if err != nil {
		return owner, fmt.Errorf("%s: Postgres of %s did not answer within %s: %w (%s)", s.profile, s.sb.Volume(), b.postgres, err, s.postgresState())
	}
	cctx, cancel := context.WithTimeout(ctx, b.controllers)
	err = s.sb.WaitControllers(cctx)
	cancel()
	if err != nil {
		return owner, fmt.Errorf("%s: controllers not healthy within %s: %w", s.profile, b.controllers, err)
	}
	n := len(s.sb.Hosts())
	return owner, waitUntil(ctx, b.armed, "every host registered, a leader, a witness report on the owner, the volume armed and no move in progress", func() bool {
		hosts, err := s.cli.Get(ctx, s.keys.Hosts(), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || int(hosts.Count) != n {
			return false
		}
		if id, _ := leaderID(ctx, s.cli, s.keys); id == "" {
			return false
		}
		wit, err := s.cli.Get(ctx, s.keys.WitnessOwner(owner.InstanceID), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || wit.Count == 0 {
			return false
		}
		// Only an armed volume (its Postgres seen answering) is failed over.
		armed, err := s.cli.Get(ctx, s.keys.ArmedVolume(s.sb.Volume()), clientv3.WithCountOnly())
		if err != nil || armed.Count == 0 {
			return false
		}
		j, err := s.cli.Get(ctx, s.keys.JournalVolume(s.sb.Volume()), clientv3.WithCountOnly())
		return err == nil && j.Count == 0
	})
}

// postgresState describes the volume's Postgres units and the firewall rules
// in place, for an error.
func (s *sbox) postgresState() string {
	st := s.sb.Status()
	var units []string
	for _, u := range st.Units {
		if u.Unit == sandbox.PostgresUnit(s.sb.Volume()) {
			units = append(units, fmt.Sprintf("%s %s/%s pid %d", u.Host, u.Active, u.Sub, u.PID))
		}
	}
	return fmt.Sprintf("owner %q; postgres units: %s; firewall cuts: %s", st.Owner, strings.Join(units, ", "), strings.Join(st.Cuts, ", "))
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
