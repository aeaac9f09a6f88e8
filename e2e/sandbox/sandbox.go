package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/fleetsim"
	"github.com/volfailover/volfailover/e2e/units"
	"github.com/volfailover/volfailover/fleet"
)

// Host describes one sandbox host.
type Host struct {
	Name       string `json:"name"`
	Addr       string `json:"address"`
	AZ         string `json:"az"`
	InstanceID string `json:"instance"`
	MachineID  string `json:"machine"`
	// Root is the host's device tree (ec2sim's InstanceRoot): an attached
	// volume appears at <Root>/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol… (see FindVolumeDevice).
	Root string `json:"root"`
	// IMDS is the host's instance metadata endpoint.
	IMDS string `json:"imds"`
}

// PostgresAddr is the host's Postgres address.
func (h Host) PostgresAddr() string { return fmt.Sprintf("%s:%d", h.Addr, PostgresPort) }

// HealthURL is the host's volfailover health endpoint.
func (h Host) HealthURL() string { return fmt.Sprintf("http://%s:%d/healthz", h.Addr, HealthPort) }

type host struct {
	Host
	// etcdGWs are the host's gateways to the etcd members, one per member
	// (GatewayEtcdPorts[i] to member i).
	etcdGWs []*gateway
	fleetGW *gateway
	imds    *imds
	env     []string
}

// Endpoints are the addresses of the shared services.
type Endpoints struct {
	// Etcd is every member's client URL, comma-separated (as etcdctl's and
	// volfailover's --etcd-endpoints take them).
	Etcd    string `json:"etcd"`
	EC2     string `json:"ec2"`
	Fleet   string `json:"fleet"`
	Control string `json:"control"`
}

// Sandbox is a running sandbox. Its methods are safe for concurrent use.
type Sandbox struct {
	cfg    Config
	timing timing
	log    zerolog.Logger
	volume string
	bins   struct{ volfailover, sandbox string }

	etcd     []*etcdMember
	ec2      *ec2sim.Sim
	ec2Srv   *httpServer
	fleet    *fleetsim.Sim
	fleetSrv *httpServer
	exec     *ProcExecutor
	ctlSrv   *httpServer
	fw       *firewall
	hosts    []*host

	stopWatch chan struct{}
	watchWG   sync.WaitGroup

	mu     sync.Mutex
	events []Event
	// faults are the fault windows injected so far (faultlog.go).
	faults []FaultWindow
	closed bool
}

// Start brings a sandbox up as cfg describes and returns once every unit has
// been submitted to fleet. Use WaitPostgres and WaitControllers to wait for
// the processes. On error everything started so far is stopped.
func Start(ctx context.Context, cfg Config) (_ *Sandbox, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	if err := prepareDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	tm := profileTiming(cfg.Profile)
	tm.fleet = cfg.FleetTiming.merge(tm.fleet)
	s := &Sandbox{
		cfg: cfg, timing: tm, log: cfg.Logger,
		fw: newFirewall(fmt.Sprintf("%s%d", tagPrefix, os.Getpid())), stopWatch: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			s.Close()
			err = fmt.Errorf("start sandbox: %w", err)
		}
	}()
	if err := s.fw.sweep(ctx, cfg.Subnet, processAlive); err != nil {
		return nil, err
	}
	if err := s.binaries(ctx); err != nil {
		return nil, err
	}
	s.etcd = newEtcdMembers(cfg.Dir, cfg.Subnet, s.bins.sandbox, s.log)
	if err := startEtcdCluster(ctx, s.etcd); err != nil {
		return nil, err
	}
	if err := s.startEC2(); err != nil {
		return nil, err
	}
	if err := s.startFleet(); err != nil {
		return nil, err
	}
	if err := s.addHosts(); err != nil {
		return nil, err
	}
	s.fleet.Start()
	if err := s.submitUnits(ctx); err != nil {
		return nil, err
	}
	s.watchWG.Add(1)
	go s.watch()
	if s.ctlSrv, err = serveHTTP("127.0.0.1:0", s.controlHandler()); err != nil {
		return nil, fmt.Errorf("control api: %w", err)
	}
	s.event("", "sandbox up: %d hosts, volume %s on %s", len(s.hosts), s.volume, s.hosts[0].Name)
	return s, nil
}

// binaries builds whatever binary the config does not name.
func (s *Sandbox) binaries(ctx context.Context) error {
	s.bins.volfailover, s.bins.sandbox = s.cfg.VolfailoverBin, s.cfg.SandboxBin
	var pkgs []string
	if s.bins.volfailover == "" {
		pkgs = append(pkgs, "./cmd/volfailover")
	}
	if s.bins.sandbox == "" {
		pkgs = append(pkgs, "./cmd/volfailover-sandbox")
	}
	if len(pkgs) > 0 {
		root := s.cfg.ModuleRoot
		if root == "" {
			wd, err := os.Getwd()
			if err != nil {
				return fmt.Errorf("find module root: %w", err)
			}
			if root, err = findModuleRoot(wd); err != nil {
				return err
			}
		}
		built, err := buildBinaries(ctx, root, filepath.Join(s.cfg.Dir, "bin"), pkgs...)
		if err != nil {
			return err
		}
		for i, p := range pkgs {
			if p == "./cmd/volfailover" {
				s.bins.volfailover = built[i]
			} else {
				s.bins.sandbox = built[i]
			}
		}
	}
	// Units run with / as working directory: their commands must be absolute.
	for _, b := range []*string{&s.bins.volfailover, &s.bins.sandbox} {
		abs, err := filepath.Abs(*b)
		if err != nil {
			return fmt.Errorf("binary %s: %w", *b, err)
		}
		*b = abs
	}
	for _, b := range []string{s.bins.volfailover, s.bins.sandbox, filepath.Join(s.cfg.PostgresBin, "postgres")} {
		fi, err := os.Stat(b)
		if err != nil {
			return fmt.Errorf("binary %s: %w", b, err)
		}
		if fi.Mode()&0o111 == 0 {
			return fmt.Errorf("binary %s is not executable", b)
		}
	}
	return nil
}

func (s *Sandbox) startEC2() error {
	throt, err := ec2sim.ThrottlingFor(s.cfg.Profile, s.cfg.Buckets, s.cfg.BackgroundLoad)
	if err != nil {
		return fmt.Errorf("ec2sim throttling: %w", err)
	}
	sim, err := ec2sim.New(ec2sim.Options{Profile: s.cfg.Profile, Throttling: &throt, Root: filepath.Join(s.cfg.Dir, "ec2"), Logger: s.log.With().Str("component", "ec2sim").Logger()})
	if err != nil {
		return err
	}
	s.ec2 = sim
	if s.ec2Srv, err = serveHTTP("127.0.0.1:0", sim); err != nil {
		return fmt.Errorf("ec2sim: %w", err)
	}
	return nil
}

func (s *Sandbox) startFleet() error {
	s.exec = newProcExecutor(filepath.Join(s.cfg.Dir, "logs"), s.lookupMachine, s.log.With().Str("component", "executor").Logger())
	sim, err := fleetsim.New(s.timing.fleet.options(fleetsim.Options{
		Executor: s.exec, Logger: s.log.With().Str("component", "fleetsim").Logger(),
	}))
	if err != nil {
		return err
	}
	s.fleet = sim
	if s.fleetSrv, err = serveHTTP("127.0.0.1:0", sim); err != nil {
		return fmt.Errorf("fleetsim: %w", err)
	}
	return nil
}

// addHosts creates every host: IDs, gateways, IMDS, EC2 instances, the
// managed volume on core1, and fleet machines.
func (s *Sandbox) addHosts() error {
	vol, err := randomHex(17)
	if err != nil {
		return err
	}
	s.volume = "vol-" + vol
	seed := &ec2sim.Seed{}
	total := s.cfg.Hosts + s.cfg.HostsB
	for i := 1; i <= total; i++ {
		inst, mach, err := newIDs()
		if err != nil {
			return err
		}
		az := ZoneA
		if i > s.cfg.Hosts {
			az = ZoneB
		}
		h := &host{Host: Host{
			Name: fmt.Sprintf("core%d", i), Addr: s.cfg.hostAddr(i), AZ: az,
			InstanceID: inst, MachineID: mach, Root: s.ec2.InstanceRoot(inst),
		}}
		s.hosts = append(s.hosts, h)
		for j, m := range s.etcd {
			gw, err := startGateway(fmt.Sprintf("%s:%d", h.Addr, GatewayEtcdPorts[j]), strings.TrimPrefix(m.Endpoint, "http://"))
			if err != nil {
				return err
			}
			h.etcdGWs = append(h.etcdGWs, gw)
		}
		if h.fleetGW, err = startGateway(fmt.Sprintf("%s:%d", h.Addr, GatewayFleetPort), s.fleetSrv.ln.Addr().String()); err != nil {
			return err
		}
		if h.imds, err = startIMDS(imdsIdentity{InstanceID: inst, AZ: az, Region: Region, PrivateIP: h.Addr}); err != nil {
			return err
		}
		h.IMDS = h.imds.URL()
		h.env = s.hostEnv(h)
		seed.Instances = append(seed.Instances, ec2sim.SeedInstance{
			ID: inst, AZ: az, PrivateIP: h.Addr, State: "running",
			Tags: map[string]string{"Name": h.Name},
		})
	}
	seed.Volumes = []ec2sim.SeedVolume{{
		ID: s.volume, AZ: ZoneA, Size: 10,
		Tags:       map[string]string{"volfailover:managed": "true", "Name": "sandbox-postgres"},
		Attachment: &ec2sim.SeedAttachment{InstanceID: s.hosts[0].InstanceID, Device: Device},
	}}
	if err := s.ec2.Apply(seed); err != nil {
		return err
	}
	// The backing directory must be traversable by the postgres user.
	if err := os.Chmod(s.ec2.VolumeDir(s.volume), 0o755); err != nil {
		return fmt.Errorf("open up volume dir: %w", err)
	}
	if err := filepath.WalkDir(filepath.Join(s.cfg.Dir, "ec2"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chmod(p, 0o755)
	}); err != nil {
		return fmt.Errorf("open up ec2 tree: %w", err)
	}
	for i, h := range s.hosts {
		meta := map[string]string{"az": h.AZ, "region": Region, "host": h.Name}
		if i == 0 {
			meta["postgres"] = s.volume
		}
		if err := s.fleet.AddMachine(h.MachineID, h.Addr, meta); err != nil {
			return err
		}
	}
	return nil
}

// submitUnits creates the units through the fleet API with the real client:
// volfailover.service, and postgres@<volume>.service unless deferred.
func (s *Sandbox) submitUnits(ctx context.Context) error {
	if err := s.submitUnit(ctx, units.Volfailover, "volfailover.service"); err != nil {
		return err
	}
	if s.cfg.DeferPostgres {
		return nil
	}
	return s.SubmitPostgres(ctx)
}

// SubmitPostgres submits postgres@<volume>.service, launched: what a first
// deploy does once the agents run.
func (s *Sandbox) SubmitPostgres(ctx context.Context) error {
	return s.submitUnit(ctx, units.Postgres, PostgresUnit(s.volume))
}

func (s *Sandbox) submitUnit(ctx context.Context, file, name string) error {
	cfg := fleet.DefaultConfig()
	cfg.Endpoint = s.fleetSrv.URL()
	cli, err := fleet.NewClient(cfg)
	if err != nil {
		return fmt.Errorf("fleet client: %w", err)
	}
	text, err := units.FS.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read unit %s: %w", file, err)
	}
	opts, err := fleet.ParseUnitFile(string(text))
	if err != nil {
		return fmt.Errorf("parse unit %s: %w", file, err)
	}
	if err := cli.CreateUnit(ctx, name, opts, fleet.StateLaunched); err != nil {
		return fmt.Errorf("submit unit %s: %w", name, err)
	}
	return nil
}

// hostEnv is the environment every unit of h runs with.
func (s *Sandbox) hostEnv(h *host) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VOLFAILOVER_") || strings.HasPrefix(kv, "SANDBOX_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"SANDBOX_HOST="+h.Name,
		"SANDBOX_HOST_IP="+h.Addr,
		"SANDBOX_HOST_ROOT="+h.Root,
		"SANDBOX_INSTANCE_ID="+h.InstanceID,
		"SANDBOX_MACHINE_ID="+h.MachineID,
		"SANDBOX_AZ="+h.AZ,
		"SANDBOX_BIN="+s.bins.sandbox,
		"SANDBOX_VOLFAILOVER_BIN="+s.bins.volfailover,
		"SANDBOX_POSTGRES_BIN="+s.cfg.PostgresBin,
		// the SDK's own variables: static credentials (never the
		// credential chain's network lookups), region and this host's IMDS
		"AWS_REGION="+Region,
		"AWS_ACCESS_KEY_ID=sandbox",
		"AWS_SECRET_ACCESS_KEY=sandbox",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+h.IMDS,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv4",
	)
	env = append(env, s.controllerEnv(h)...)
	return append(env, s.cfg.ControllerEnv...)
}

// lookupMachine serves the executor.
func (s *Sandbox) lookupMachine(machineID string) (string, []string, bool) {
	for _, h := range s.hosts {
		if h.MachineID == machineID {
			return h.Name, h.env, true
		}
	}
	return "", nil, false
}

// Close stops every process, server and firewall rule the sandbox started,
// giving processes up to a minute to stop gracefully. It is safe to call more
// than once and after a failed Start.
func (s *Sandbox) Close() error {
	// Close has no caller context by design (it runs from defers and signal
	// handlers); its own deadline bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.Shutdown(ctx)
}

// Shutdown is Close bounded by ctx: processes still running when ctx ends
// are killed.
func (s *Sandbox) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	var errs []error
	errs = append(errs, s.fw.clear(ctx))
	if s.ctlSrv != nil {
		s.ctlSrv.Close()
	}
	close(s.stopWatch)
	s.watchWG.Wait()
	if s.exec != nil {
		s.exec.Close(ctx)
	}
	if s.fleet != nil {
		s.fleet.Close()
	}
	for _, h := range s.hosts {
		for _, g := range append([]*gateway{h.fleetGW}, h.etcdGWs...) {
			if g != nil {
				g.Close()
			}
		}
		if h.imds != nil {
			h.imds.Close()
		}
	}
	if s.fleetSrv != nil {
		s.fleetSrv.Close()
	}
	if s.ec2Srv != nil {
		s.ec2Srv.Close()
	}
	if s.ec2 != nil {
		s.ec2.Close()
	}
	for _, m := range s.etcd {
		errs = append(errs, m.close(ctx))
	}
	return errors.Join(errs...)
}

// Hosts returns every host in name order (core1 first).
func (s *Sandbox) Hosts() []Host {
	out := make([]Host, len(s.hosts))
	for i, h := range s.hosts {
		out[i] = h.Host
	}
	return out
}

// Host returns the named host.
func (s *Sandbox) Host(name string) (Host, bool) {
	h, err := s.host(name)
	if err != nil {
		return Host{}, false
	}
	return h.Host, true
}

func (s *Sandbox) host(name string) (*host, error) {
	for _, h := range s.hosts {
		if h.Name == name {
			return h, nil
		}
	}
	return nil, fmt.Errorf("host %q: no such host", name)
}

func (s *Sandbox) hostByInstance(id string) (*host, bool) {
	for _, h := range s.hosts {
		if h.InstanceID == id {
			return h, true
		}
	}
	return nil, false
}

// Volume is the ID of the managed volume.
func (s *Sandbox) Volume() string { return s.volume }

// PostgresUnit is the fleet unit name of a volume's Postgres.
func PostgresUnit(volume string) string { return "postgres@" + volume + ".service" }

// Endpoints returns the shared services' addresses.
func (s *Sandbox) Endpoints() Endpoints {
	e := Endpoints{Etcd: strings.Join(s.EtcdEndpoints(), ","), EC2: s.ec2Srv.URL(), Fleet: s.fleetSrv.URL()}
	if s.ctlSrv != nil {
		e.Control = s.ctlSrv.URL()
	}
	return e
}

// Dir is the sandbox's directory.
func (s *Sandbox) Dir() string { return s.cfg.Dir }

// LogPath is the log file of a unit on a host.
func (s *Sandbox) LogPath(hostName, unit string) string {
	return filepath.Join(s.cfg.Dir, "logs", hostName, unit+".log")
}

// EC2 is the EC2 emulator, for fault injection and assertions.
func (s *Sandbox) EC2() *ec2sim.Sim { return s.ec2 }

// Fleet is the fleet emulator.
func (s *Sandbox) Fleet() *fleetsim.Sim { return s.fleet }

// EC2Journal returns every EC2 API call so far.
func (s *Sandbox) EC2Journal() []ec2sim.Call { return s.ec2.Journal() }

// FleetJournal returns every fleet API request so far.
func (s *Sandbox) FleetJournal() []fleetsim.Request { return s.fleet.Journal() }

// Units lists the unit processes of every host.
func (s *Sandbox) Units() []UnitInfo { return s.exec.Units() }

// Owner returns the host whose instance the volume is attached to (in any
// attachment state), and false when it is attached nowhere.
func (s *Sandbox) Owner(volume string) (Host, bool) {
	for _, a := range s.ec2.VolumeAttachments(volume) {
		if h, ok := s.hostByInstance(a.InstanceID); ok {
			return h.Host, true
		}
	}
	return Host{}, false
}

// PostgresHosts returns the hosts on which the volume's Postgres unit is
// active (its process alive), in name order.
func (s *Sandbox) PostgresHosts(volume string) []Host {
	var out []Host
	for _, h := range s.hosts {
		if active, _ := s.exec.Status(h.MachineID, PostgresUnit(volume)); active == "active" {
			out = append(out, h.Host)
		}
	}
	return out
}

// healthClient is used for waits on /healthz.
var healthClient = &http.Client{Timeout: 2 * time.Second}
