package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/embedetcd"
	"github.com/volfailover/volfailover/e2e/fleetsim"
	"github.com/volfailover/volfailover/state"
)

// Zones of the scale world; owners are spread over all three, spare hosts
// (the failover targets of the AZ outage) live in the first.
var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

const (
	region      = "us-east-1"
	device      = "/dev/sdf"
	managedTag  = "volfailover:managed"
	agentPort   = 9437
	pgPort      = 5432
	txnOpsLimit = 100 // below etcd's default max-txn-ops of 128
)

// postgresUnit is the unit file of a volume's Postgres in the scale world;
// fleetsim's in-memory executor "runs" it.
const postgresUnit = `[Unit]
Description=PostgreSQL on EBS volume %i

[Service]
ExecStart=/bin/true

[X-Fleet]
MachineMetadata=postgres=%i
Conflicts=postgres@*
`

// simHost is one host of the scale world.
type simHost struct {
	Index    int
	Instance string
	Machine  string
	AZ       string
	IP       string
	Volume   string // "" for a spare
	Real     bool   // runs a real volfailover process (its own registry entry)
	Doomed   bool   // dies in the AZ outage
}

// world is the scale benchmark's cluster: etcd, ec2sim and fleetsim in this
// process, simulated hosts (registry entries, Postgres stand-ins, a health
// endpoint), and the real volfailover processes.
type world struct {
	dir   string
	hosts []simHost
	keys  state.Keys

	etcd      *embedetcd.Server
	etcdURL   string
	cli       *clientv3.Client
	ec2       *ec2sim.Sim
	fleet     *fleetsim.Sim
	servers   []*http.Server
	ec2URL    string
	fleetURL  string
	healthURL string

	probes   *ProbeLog
	standins map[int]*StandIn

	mu   sync.Mutex
	dead map[string]bool // instance → health endpoint refuses

	leases     map[string]clientv3.LeaseID // "alive", "doomed"
	keepCancel map[string]context.CancelFunc
	wg         sync.WaitGroup
}

// hostAddr is host i's loopback address, 127.<net>.x.y with y in 1..250.
func hostAddr(net, i int) string { return fmt.Sprintf("127.%d.%d.%d", net, i/250, i%250+1) }

// layout builds the hosts: volumes owners over three zones, spares in the
// first zone, and one more host in the second zone for the idle follower.
// The leader is owner 1 (second zone, untouched by the outage); the first
// doomed owners of the first zone die in the outage.
func layout(volumes, spares, doomed, net int) []simHost {
	var hs []simHost
	add := func(az, vol string) {
		i := len(hs)
		hs = append(hs, simHost{
			Index: i, AZ: az, IP: hostAddr(net, i), Volume: vol,
			Instance: fmt.Sprintf("i-%017x", 0xb00000+i),
			Machine:  fmt.Sprintf("%032x", 0xb00000+i),
		})
	}
	for i := range volumes {
		add(zones[i%len(zones)], fmt.Sprintf("vol-%017x", 0xc00000+i))
	}
	for range spares {
		add(zones[0], "")
	}
	add(zones[1], "") // the follower
	for i := 0; i < volumes && doomed > 0; i += len(zones) {
		hs[i].Doomed = true
		doomed--
	}
	hs[1].Real = true
	hs[len(hs)-1].Real = true
	return hs
}

// startWorld brings up everything but the real agents.
func startWorld(ctx context.Context, dir string, hosts []simHost, profile ec2sim.Profile, throt ec2sim.Throttling, sessionTTL time.Duration, log zerolog.Logger) (_ *world, err error) {
	w := &world{dir: dir, hosts: hosts, keys: state.Keys{Prefix: state.DefaultPrefix}, probes: &ProbeLog{},
		standins: map[int]*StandIn{}, dead: map[string]bool{}, leases: map[string]clientv3.LeaseID{}, keepCancel: map[string]context.CancelFunc{}}
	defer func() {
		if err != nil {
			w.close(ctx)
		}
	}()
	if w.etcd, err = embedetcd.Start(ctx, embedetcd.Config{Name: "bench", Dir: filepath.Join(dir, "etcd", "data"), LogFile: filepath.Join(dir, "etcd", "etcd.log")}); err != nil {
		return nil, err
	}
	w.etcdURL = w.etcd.Endpoint
	if w.cli, err = clientv3.New(clientv3.Config{Endpoints: []string{w.etcdURL}, DialTimeout: 5 * time.Second, Logger: nil}); err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	if w.ec2, err = ec2sim.New(ec2sim.Options{Profile: profile, Throttling: &throt, Logger: log.Level(zerolog.WarnLevel).With().Str("component", "ec2sim").Logger()}); err != nil {
		return nil, fmt.Errorf("start ec2sim: %w", err)
	}
	if err := w.ec2.Apply(ec2Seed(hosts)); err != nil {
		return nil, fmt.Errorf("seed ec2sim: %w", err)
	}
	if w.fleet, err = fleetsim.New(fleetsim.Options{Logger: log.Level(zerolog.WarnLevel).With().Str("component", "fleetsim").Logger()}); err != nil {
		return nil, fmt.Errorf("start fleetsim: %w", err)
	}
	if err := w.fleet.Apply(fleetSeed(hosts)); err != nil {
		return nil, fmt.Errorf("seed fleetsim: %w", err)
	}
	w.fleet.Start()
	if w.ec2URL, err = w.serve(ctx, w.ec2); err != nil {
		return nil, err
	}
	if w.fleetURL, err = w.serve(ctx, w.fleet); err != nil {
		return nil, err
	}
	if w.healthURL, err = w.serve(ctx, http.HandlerFunc(w.health)); err != nil {
		return nil, err
	}
	for _, h := range hosts {
		s, err := ListenStandIn(ctx, net.JoinHostPort(h.IP, fmt.Sprint(pgPort)), w.probes)
		if err != nil {
			return nil, err
		}
		w.standins[h.Index] = s
	}
	if err := w.register(ctx, sessionTTL); err != nil {
		return nil, err
	}
	return w, nil
}

func ec2Seed(hosts []simHost) *ec2sim.Seed {
	var s ec2sim.Seed
	for _, h := range hosts {
		s.Instances = append(s.Instances, ec2sim.SeedInstance{ID: h.Instance, AZ: h.AZ, PrivateIP: h.IP, State: "running",
			Tags: map[string]string{"Name": fmt.Sprintf("host%d", h.Index)}})
		if h.Volume != "" {
			s.Volumes = append(s.Volumes, ec2sim.SeedVolume{ID: h.Volume, AZ: h.AZ, Size: 10,
				Tags:       map[string]string{managedTag: "true"},
				Attachment: &ec2sim.SeedAttachment{InstanceID: h.Instance, Device: device}})
		}
	}
	return &s
}

func fleetSeed(hosts []simHost) *fleetsim.Seed {
	var s fleetsim.Seed
	for _, h := range hosts {
		md := map[string]string{"az": h.AZ, "region": region}
		if h.Volume != "" {
			md["postgres"] = h.Volume
			s.Units = append(s.Units, fleetsim.SeedUnit{Name: unitName(h.Volume), Text: postgresUnit, DesiredState: "launched"})
		}
		s.Machines = append(s.Machines, fleetsim.SeedMachine{ID: h.Machine, PrimaryIP: h.IP, Metadata: md})
	}
	return &s
}

func unitName(volume string) string { return "postgres@" + volume + ".service" }

// serve runs h on a fresh loopback port and returns its base URL.
func (w *world) serve(ctx context.Context, h http.Handler) (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for a harness server: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	w.servers = append(w.servers, srv)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		_ = srv.Serve(ln)
	}()
	return "http://" + ln.Addr().String(), nil
}

// health is every simulated host's /healthz: 200 while the host lives; a dead
// host's connection is dropped without an answer, as a dead machine's would be.
func (w *world) health(rw http.ResponseWriter, r *http.Request) {
	w.probes.Add(time.Now(), remoteIP(r.RemoteAddr))
	inst := strings.TrimPrefix(r.URL.Path, "/healthz/")
	w.mu.Lock()
	dead := w.dead[inst]
	w.mu.Unlock()
	if !dead {
		rw.WriteHeader(http.StatusOK)
		return
	}
	if hj, ok := rw.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	rw.WriteHeader(http.StatusServiceUnavailable)
}

// register writes a registry entry for every simulated host under one of two
// leases kept alive by the harness: "doomed" for the hosts the outage kills,
// "alive" for the rest, so the outage can end 300 registrations at once the
// way 300 dead processes would, by their leases expiring.
func (w *world) register(ctx context.Context, ttl time.Duration) error {
	for _, name := range []string{"alive", "doomed"} {
		g, err := w.cli.Grant(ctx, int64(ttl/time.Second))
		if err != nil {
			return fmt.Errorf("grant %s registry lease: %w", name, err)
		}
		w.leases[name] = g.ID
		kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		w.keepCancel[name] = cancel
		ch, err := w.cli.KeepAlive(kctx, g.ID)
		if err != nil {
			cancel()
			return fmt.Errorf("keep %s registry lease alive: %w", name, err)
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for range ch {
				// Draining keeps the client's keepalive queue short.
			}
		}()
	}
	var ops []clientv3.Op
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := w.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("write %d registry entries: %w", len(ops), err)
		}
		ops = ops[:0]
		return nil
	}
	now := time.Now().UTC()
	for _, h := range w.hosts {
		if h.Real {
			continue
		}
		b, err := json.Marshal(state.Host{Instance: h.Instance, Machine: h.Machine, AZ: h.AZ, PrivateIP: h.IP,
			HealthURL: w.healthURL + "/healthz/" + h.Instance, Version: "bench-sim", Since: now})
		if err != nil {
			return fmt.Errorf("encode registry entry of %s: %w", h.Instance, err)
		}
		ops = append(ops, clientv3.OpPut(w.keys.Host(h.Instance), string(b), clientv3.WithLease(w.leases[w.leaseOf(h)])))
		if len(ops) == txnOpsLimit {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// leaseOf names the registry lease of a simulated host.
func (w *world) leaseOf(h simHost) string {
	if h.Doomed {
		return "doomed"
	}
	return "alive"
}

// kill makes hosts dead at once: Postgres and /healthz stop answering, the
// fleet machine stops heartbeating and the registry lease stops being renewed
// (it expires one session TTL later). EC2 keeps reporting them running.
func (w *world) kill(hosts []simHost) error {
	w.keepCancel["doomed"]()
	w.mu.Lock()
	for _, h := range hosts {
		w.dead[h.Instance] = true
	}
	w.mu.Unlock()
	var errs []error
	for _, h := range hosts {
		if s := w.standins[h.Index]; s != nil {
			s.Close()
		}
		if err := w.fleet.KillMachine(h.Machine); err != nil {
			errs = append(errs, fmt.Errorf("kill fleet machine of %s: %w", h.Instance, err))
		}
	}
	return errors.Join(errs...)
}

// close stops everything the world started, in reverse order.
func (w *world) close(ctx context.Context) {
	for _, c := range w.keepCancel {
		c()
	}
	for _, s := range w.servers {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = s.Shutdown(sctx)
		cancel()
	}
	for _, s := range w.standins {
		s.Close()
	}
	if w.fleet != nil {
		w.fleet.Close()
	}
	if w.ec2 != nil {
		w.ec2.Close()
	}
	if w.cli != nil {
		_ = w.cli.Close()
	}
	w.wg.Wait()
	if w.etcd != nil {
		w.etcd.Close()
	}
	_ = os.RemoveAll(filepath.Join(w.dir, "etcd"))
}
