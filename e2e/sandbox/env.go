package sandbox

import (
	"fmt"
	"strings"
	"time"
)

// controllerEnv configures one host's volfailover through its environment,
// as production does through the unit's environment: the host's etcd
// gateways (one per member), the emulators as AWS and fleet, the host's identity and health
// address, and the profile's timing.
func (s *Sandbox) controllerEnv(h *host) []string {
	t := s.timing
	etcd := make([]string, len(h.etcdGWs))
	for i, g := range h.etcdGWs {
		etcd[i] = "http://" + g.Addr()
	}
	return []string{
		"VOLFAILOVER_ETCD_ENDPOINTS=" + strings.Join(etcd, ","),
		"VOLFAILOVER_FLEET_ENDPOINT=http://" + h.fleetGW.Addr(),
		"VOLFAILOVER_EC2_ENDPOINT=" + s.ec2Srv.URL(),
		"VOLFAILOVER_IMDS_ENDPOINT=" + h.IMDS,
		"VOLFAILOVER_AWS_REGION=" + Region,
		"VOLFAILOVER_INSTANCE_ID=" + h.InstanceID,
		"VOLFAILOVER_AVAILABILITY_ZONE=" + h.AZ,
		"VOLFAILOVER_PRIVATE_IP=" + h.Addr,
		"VOLFAILOVER_MACHINE_ID=" + h.MachineID,
		fmt.Sprintf("VOLFAILOVER_LISTEN_ADDRESS=%s:%d", h.Addr, HealthPort),
		"VOLFAILOVER_SESSION_TTL=" + seconds(t.sessionTTL),
		"VOLFAILOVER_ROUND_INTERVAL=" + t.roundInterval.String(),
		"VOLFAILOVER_PROBE_INTERVAL=" + t.probeInterval.String(),
		"VOLFAILOVER_PROBE_TIMEOUT=" + t.probeTimeout.String(),
		"VOLFAILOVER_WITNESS_REFRESH=" + t.witnessRefresh.String(),
		"VOLFAILOVER_DEVICE=" + Device,
	}
}

func seconds(d time.Duration) string { return fmt.Sprintf("%ds", int(d/time.Second)) }
