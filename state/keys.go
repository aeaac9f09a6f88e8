package state

import (
	"fmt"
	"strings"
)

// DefaultPrefix is the key prefix volfailover runs under unless told
// otherwise; the controller and the CLI must agree on it, so it lives here.
const DefaultPrefix = "/volfailover"

// CheckPrefix applies the one rule for a key prefix: it starts with / and does
// not end with /, so that Keys can join names with "/" without doubling or
// dropping one.
func CheckPrefix(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || len(p) < 2 {
		return fmt.Errorf("prefix %q must start with / and not end with /", p)
	}
	return nil
}

// Keys is the etcd key layout under the prefix. Everything volfailover stores
// lives here, so an operator can read (and, for overrides, write) it with etcdctl:
//
//	<prefix>/election/<lease>              leader election (concurrency.Election)
//	<prefix>/hosts/<instance>              host registry, JSON, under the host's session lease
//	<prefix>/owners                        leader-published JSON list of owner hosts to witness
//	<prefix>/witness/<owner>/<witness>     a witness's report on an owner, under the witness's lease
//	<prefix>/journal/<volume>              the in-progress failover record of a volume
//	<prefix>/history/<volume>/<id>         completed failover records, the newest HistoryLimit kept
//	<prefix>/damping/<volume>              times of recent automatic failovers (survives leader changes)
//	<prefix>/pause                         global pause override
//	<prefix>/volumes/<volume>/pause        per-volume pause override
//	<prefix>/volumes/<volume>/switchover   planned switchover request
//	<prefix>/outbox/                       the alert package's durable paging outbox
type Keys struct {
	Prefix string
}

// Election is the prefix the election campaigns under.
func (k Keys) Election() string { return k.Prefix + "/election" }

// Hosts is the registry prefix.
func (k Keys) Hosts() string { return k.Prefix + "/hosts/" }

// Host is one instance's registration.
func (k Keys) Host(instance string) string { return k.Hosts() + instance }

// Owners is the leader-published list of owner hosts.
func (k Keys) Owners() string { return k.Prefix + "/owners" }

// Witness is the prefix of all witness reports.
func (k Keys) Witness() string { return k.Prefix + "/witness/" }

// WitnessOwner is the prefix of the reports on one owner.
func (k Keys) WitnessOwner(owner string) string { return k.Witness() + owner + "/" }

// WitnessReport is one witness's report on one owner.
func (k Keys) WitnessReport(owner, witness string) string { return k.WitnessOwner(owner) + witness }

// Journal is the prefix of in-progress failover records.
func (k Keys) Journal() string { return k.Prefix + "/journal/" }

// JournalVolume is the in-progress failover record of one volume.
func (k Keys) JournalVolume(volume string) string { return k.Journal() + volume }

// History is the prefix of completed failover records.
func (k Keys) History() string { return k.Prefix + "/history/" }

// HistoryVolume is the prefix of one volume's completed records.
func (k Keys) HistoryVolume(volume string) string { return k.History() + volume + "/" }

// HistoryRecord is one completed record; IDs sort by time, so the key order is the history order.
func (k Keys) HistoryRecord(volume, id string) string { return k.HistoryVolume(volume) + id }

// Damping is the prefix of per-volume automatic failover times.
func (k Keys) Damping() string { return k.Prefix + "/damping/" }

// DampingVolume holds one volume's automatic failover times.
func (k Keys) DampingVolume(volume string) string { return k.Damping() + volume }

// Pause is the global pause override.
func (k Keys) Pause() string { return k.Prefix + "/pause" }

// Volumes is the prefix of per-volume overrides.
func (k Keys) Volumes() string { return k.Prefix + "/volumes/" }

// VolumePause is the per-volume pause override.
func (k Keys) VolumePause(volume string) string { return k.Volumes() + volume + "/pause" }

// VolumeSwitchover is the planned switchover request of a volume.
func (k Keys) VolumeSwitchover(volume string) string { return k.Volumes() + volume + "/switchover" }

// Outbox is the alert package's outbox prefix.
func (k Keys) Outbox() string { return k.Prefix + "/outbox/" }

// ParseVolumeKey splits "<prefix>/volumes/<volume>/<name>" into volume and name.
// When only the name is wrong the volume is still returned, so a caller can
// pause the volume a malformed override names.
func (k Keys) ParseVolumeKey(key string) (volume, name string, err error) {
	rest, ok := strings.CutPrefix(key, k.Volumes())
	if !ok {
		return "", "", fmt.Errorf("key %q is not under %q", key, k.Volumes())
	}
	volume, name, ok = strings.Cut(rest, "/")
	if !ok || volume == "" || name == "" || strings.Contains(name, "/") {
		return volume, "", fmt.Errorf("key %q is not <prefix>/volumes/<volume>/<override>", key)
	}
	return volume, name, nil
}

// ParseWitnessKey splits "<prefix>/witness/<owner>/<witness>".
func (k Keys) ParseWitnessKey(key string) (owner, witness string, err error) {
	rest, ok := strings.CutPrefix(key, k.Witness())
	if !ok {
		return "", "", fmt.Errorf("key %q is not under %q", key, k.Witness())
	}
	owner, witness, ok = strings.Cut(rest, "/")
	if !ok || owner == "" || witness == "" || strings.Contains(witness, "/") {
		return "", "", fmt.Errorf("key %q is not <prefix>/witness/<owner>/<witness>", key)
	}
	return owner, witness, nil
}
