package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/fleetsim"
)

// Availability zones of the sandbox: the first Hosts hosts and the volume
// live in ZoneA, the HostsB extra hosts in ZoneB (never a failover target).
const (
	Region = "us-east-1"
	ZoneA  = "us-east-1a"
	ZoneB  = "us-east-1b"
)

// Fixed ports on every host address, as on a real host.
const (
	PostgresPort     = 5432
	GatewayEtcdPort  = 2379  // the host's local etcd proxy to member etcd1
	GatewayFleetPort = 49153 // the host's local fleet API
	HealthPort       = 9437  // volfailover's /healthz
)

// GatewayEtcdPorts are the host's local etcd proxies, one per member
// (etcd1, etcd2, etcd3): a controller is given all three, as a client of a
// real cluster is given every member.
var GatewayEtcdPorts = [EtcdMembers]int{GatewayEtcdPort, 22379, 32379}

// DefaultPostgresBin is where Debian installs the PostgreSQL 15 server.
const DefaultPostgresBin = "/usr/lib/postgresql/15/bin"

// Device is the device name the managed volume is first attached as: the
// controller's default, the start of the range AWS recommends for EBS data
// volumes. The hosts are a Nitro type (ec2sim.DefaultInstanceType), so the
// volume shows up by ID under dev/disk/by-id, not under this name.
const Device = "/dev/sdf"

// Config describes one sandbox. DefaultConfig gives the defaults stated on
// each field; Validate names the field of every problem.
type Config struct {
	// Dir holds everything the sandbox writes (etcd data, volumes, host
	// roots, logs, built binaries). It is created 0755 so that the postgres
	// user can traverse it; every parent must already be traversable by
	// others. Required.
	Dir string
	// Hosts is the number of hosts in ZoneA; default 3, at least 2 so a
	// failover has a target.
	Hosts int
	// HostsB is the number of extra hosts in ZoneB; default 1.
	HostsB int
	// DeferPostgres leaves postgres@<volume>.service out of the units
	// submitted at start, as a first deploy in the documented order does
	// (the agents run first); SubmitPostgres submits it later.
	DeferPostgres bool
	// Profile is the latency profile of ec2sim and the timing of fleet and
	// the controllers; default ec2sim.ProfileInstant.
	Profile ec2sim.Profile
	// Buckets turns EC2's request-token buckets in ec2sim on or off
	// (ec2sim.BucketsOn, ec2sim.BucketsOff); default ec2sim.BucketsProfile,
	// the profile's default: on for aws-typical, off for instant.
	Buckets string
	// BackgroundLoad is the share [0, 1) of every bucket that other tools of
	// the account use (ec2sim.Throttling.BackgroundLoad); default 0.
	BackgroundLoad float64
	// Subnet is the third octet of the host addresses 127.0.<Subnet>.N;
	// default 1. Two sandboxes on one machine need different subnets.
	Subnet int
	// VolfailoverBin is the volfailover binary; "" = built with go build
	// into Dir/bin from ModuleRoot.
	VolfailoverBin string
	// SandboxBin is a binary offering the exec-postgres subcommand (the
	// volfailover-sandbox binary); "" = built into Dir/bin.
	SandboxBin string
	// ModuleRoot is the volfailover source tree used for builds; "" = the
	// nearest parent of the working directory holding go.mod.
	ModuleRoot string
	// PostgresBin is the directory of the PostgreSQL 15 server binaries;
	// default DefaultPostgresBin.
	PostgresBin string
	// FleetTiming overrides the profile's fleet timing field by field (a
	// zero field keeps the profile's value), so that a test shortens fleet's
	// intervals explicitly where it needs speed rather than getting an
	// emulator quicker than fleet by accident.
	FleetTiming FleetTiming
	// ControllerEnv is appended to every host's volfailover environment
	// (KEY=VALUE, VOLFAILOVER_* settings), after the sandbox's own, so tests
	// can tune the controller.
	ControllerEnv []string
	// Logger receives the sandbox's own events; default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultConfig returns the defaults with dir as Dir.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:         dir,
		Hosts:       3,
		HostsB:      1,
		Profile:     ec2sim.ProfileInstant,
		Subnet:      1,
		PostgresBin: DefaultPostgresBin,
		Logger:      zerolog.Nop(),
	}
}

// Validate checks every field.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Dir == "" || !filepath.IsAbs(c.Dir) {
		bad("dir: %q must be an absolute path", c.Dir)
	}
	if c.Hosts < 2 || c.Hosts > 200 {
		bad("hosts: %d must be between 2 and 200", c.Hosts)
	}
	if c.HostsB < 0 || c.Hosts+c.HostsB > 250 {
		bad("hosts-b: %d must be at least 0 and hosts+hosts-b at most 250", c.HostsB)
	}
	if _, err := ec2sim.ProfileLatencies(c.Profile); err != nil {
		bad("profile: %w", err)
	}
	if _, err := ec2sim.ThrottlingFor(c.Profile, c.Buckets, c.BackgroundLoad); err != nil {
		bad("buckets, background-load: %w", err)
	}
	if c.Subnet < 1 || c.Subnet > 254 {
		bad("subnet: %d must be between 1 and 254", c.Subnet)
	}
	if c.PostgresBin == "" {
		bad("postgres-bin: must be set")
	}
	for name, d := range map[string]time.Duration{
		"MachineTTL": c.FleetTiming.MachineTTL, "EngineInterval": c.FleetTiming.EngineInterval,
		"AgentInterval": c.FleetTiming.AgentInterval, "EngineWatchSleep": c.FleetTiming.EngineWatchSleep,
		"AgentWatchSleep": c.FleetTiming.AgentWatchSleep, "StatePollInterval": c.FleetTiming.StatePollInterval,
		"StateRemovalDelay": c.FleetTiming.StateRemovalDelay,
	} {
		if d < 0 {
			bad("fleet-timing: %s %s must not be negative", name, d)
		}
	}
	for _, kv := range c.ControllerEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			bad("controller-env: %q is not KEY=VALUE", kv)
		}
	}
	return errors.Join(errs...)
}

// FleetTiming is the part of fleetsim.Options a sandbox profile decides;
// the fields mean what the fleetsim.Options fields of the same name mean.
type FleetTiming struct {
	MachineTTL, EngineInterval, AgentInterval time.Duration
	EngineWatchSleep, AgentWatchSleep         time.Duration
	StatePollInterval, StateRemovalDelay      time.Duration
}

// merge returns t with every zero field taken from d.
func (t FleetTiming) merge(d FleetTiming) FleetTiming {
	for _, f := range []struct{ v, d *time.Duration }{
		{&t.MachineTTL, &d.MachineTTL}, {&t.EngineInterval, &d.EngineInterval},
		{&t.AgentInterval, &d.AgentInterval}, {&t.EngineWatchSleep, &d.EngineWatchSleep},
		{&t.AgentWatchSleep, &d.AgentWatchSleep}, {&t.StatePollInterval, &d.StatePollInterval},
		{&t.StateRemovalDelay, &d.StateRemovalDelay},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return t
}

// options fills the timing into fleetsim options.
func (t FleetTiming) options(o fleetsim.Options) fleetsim.Options {
	o.MachineTTL, o.EngineInterval, o.AgentInterval = t.MachineTTL, t.EngineInterval, t.AgentInterval
	o.EngineWatchSleep, o.AgentWatchSleep = t.EngineWatchSleep, t.AgentWatchSleep
	o.StatePollInterval, o.StateRemovalDelay = t.StatePollInterval, t.StateRemovalDelay
	return o
}

// timing is what a profile decides besides ec2sim's latencies.
type timing struct {
	fleet FleetTiming
	// controller settings passed as VOLFAILOVER_* variables
	sessionTTL, roundInterval, probeInterval, probeTimeout, witnessRefresh time.Duration
}

func profileTiming(p ec2sim.Profile) timing {
	if p == ec2sim.ProfileAWSTypical {
		// fleet v1.0.0's and volfailover's production defaults: fleetsim's
		// defaults are fleet's own (engine 2 s, agent 5 s, watch sleeps 1 s,
		// states gone 1 s after a stop is triggered, TTL 30 s).
		d := fleetsim.DefaultOptions()
		return timing{
			fleet: FleetTiming{
				MachineTTL: d.MachineTTL, EngineInterval: d.EngineInterval, AgentInterval: d.AgentInterval,
				EngineWatchSleep: d.EngineWatchSleep, AgentWatchSleep: d.AgentWatchSleep,
				StatePollInterval: d.StatePollInterval, StateRemovalDelay: d.StateRemovalDelay,
			},
			sessionTTL: 10 * time.Second, roundInterval: time.Second, probeInterval: 250 * time.Millisecond,
			probeTimeout: 200 * time.Millisecond, witnessRefresh: 5 * time.Second,
		}
	}
	// Shortened on purpose, for quick tests: a faster fleet than any real
	// one, but with the same shape (watch sleeps, timers, and /state gone a
	// second after a stop is triggered, before the process may have exited).
	// The probes and the minimum unreachable time are production's, so the
	// short-fault scenarios judge the real rule.
	return timing{
		fleet: FleetTiming{
			MachineTTL: 5 * time.Second, EngineInterval: time.Second, AgentInterval: time.Second,
			EngineWatchSleep: 100 * time.Millisecond, AgentWatchSleep: 100 * time.Millisecond,
			StatePollInterval: time.Second, StateRemovalDelay: time.Second,
		},
		sessionTTL: 3 * time.Second, roundInterval: 500 * time.Millisecond, probeInterval: 250 * time.Millisecond,
		probeTimeout: 200 * time.Millisecond, witnessRefresh: time.Second,
	}
}

// hostAddr is the loopback address of host i (1-based).
func (c Config) hostAddr(i int) string { return fmt.Sprintf("127.0.%d.%d", c.Subnet, i) }

// prepareDir creates Dir 0755 and checks that the postgres user can reach it.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create sandbox dir %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("open up sandbox dir %s: %w", dir, err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("check parent %s of sandbox dir: %w", p, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("sandbox dir %s: parent %s has mode %v, which the postgres user cannot traverse; choose a dir under /tmp", dir, p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
