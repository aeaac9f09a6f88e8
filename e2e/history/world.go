package history

import (
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// detached is the State of a volume transition whose attachment is gone.
const detached = "detached"

// world answers "what was true at time t" from a History.
type world struct {
	h        *History
	vols     map[string][]Transition // per volume, oldest first
	insts    map[string][]Transition // per instance, oldest first
	byName   map[string]Host
	byInst   map[string]Host
	byMach   map[string]Host
	volumes  map[string]bool
	requests []Request // arrived in [Start, End], in arrival order
	all      []Request // every request, in arrival order
}

func newWorld(h *History) *world {
	w := &world{h: h, vols: map[string][]Transition{}, insts: map[string][]Transition{},
		byName: map[string]Host{}, byInst: map[string]Host{}, byMach: map[string]Host{}, volumes: map[string]bool{}}
	for _, t := range h.Transitions {
		if t.Volume != "" {
			w.vols[t.Volume] = append(w.vols[t.Volume], t)
		} else {
			w.insts[t.Instance] = append(w.insts[t.Instance], t)
		}
	}
	for _, m := range []map[string][]Transition{w.vols, w.insts} {
		for _, ts := range m {
			sort.SliceStable(ts, func(i, j int) bool { return ts[i].Time.Before(ts[j].Time) })
		}
	}
	for _, x := range h.Hosts {
		w.byName[x.Name], w.byInst[x.Instance], w.byMach[x.Machine] = x, x, x
	}
	for _, v := range h.Volumes {
		w.volumes[v] = true
	}
	w.all = append([]Request(nil), h.Requests...)
	sort.SliceStable(w.all, func(i, j int) bool { return w.all[i].Arrived.Before(w.all[j].Arrived) })
	for _, r := range w.all {
		if !r.Arrived.Before(h.Start) && (h.End.IsZero() || !r.Arrived.After(h.End)) {
			w.requests = append(w.requests, r)
		}
	}
	return w
}

// attachmentBefore is vol's attachment as EC2 had it just before t (a
// request's own transition, recorded at its arrival, is not yet counted):
// the instance, its state and since when. A volume never attached is
// ("", "detached").
func (w *world) attachmentBefore(vol string, t time.Time) Transition {
	last := Transition{Volume: vol, State: detached}
	for _, tr := range w.vols[vol] {
		if !tr.Time.Before(t) {
			break
		}
		last = tr
	}
	return last
}

// instanceState is inst's state at t (transitions at t included); an
// instance with no recorded transition is taken to be running.
func (w *world) instanceState(inst string, t time.Time) Transition {
	last := Transition{Instance: inst, State: "running"}
	for _, tr := range w.insts[inst] {
		if tr.Time.After(t) {
			break
		}
		last = tr
	}
	return last
}

// lastRunningSince is when inst last became running at or before t (zero if
// it was running from the start of the record).
func (w *world) lastRunningSince(inst string, t time.Time) time.Time {
	var since time.Time
	for _, tr := range w.insts[inst] {
		if tr.Time.After(t) {
			break
		}
		if tr.State == "running" || tr.State == "pending" {
			since = tr.Time
		}
	}
	return since
}

// name is a host's name for an instance, the instance itself if unknown.
func (w *world) name(inst string) string {
	if x, ok := w.byInst[inst]; ok {
		return x.Name + " (" + inst + ")"
	}
	if inst == "" {
		return "nowhere"
	}
	return inst
}

// serveDue is when vol must have been served again after a fault ended at
// from: bound later, or bound after the end of the last pause that began
// before that; false while such a pause is still in force.
func (w *world) serveDue(vol string, from time.Time, bound time.Duration) (time.Time, bool) {
	due := from.Add(bound)
	for changed := true; changed; {
		changed = false
		for _, p := range w.h.Pauses {
			if (p.Volume != "" && p.Volume != vol) || p.From.After(due) || (!p.To.IsZero() && p.To.Before(from)) {
				continue
			}
			if p.To.IsZero() {
				return time.Time{}, false
			}
			if d := p.To.Add(bound); d.After(due) {
				due, changed = d, true
			}
		}
	}
	return due, true
}

// stoppedInstances lists the instances a StopInstances names.
func stoppedInstances(p url.Values) []string {
	var out []string
	for k, vs := range p {
		if k == "InstanceId" || strings.HasPrefix(k, "InstanceId.") {
			out = append(out, vs...)
		}
	}
	sort.Strings(out)
	return out
}

// metadataOp is one operation of a fleet metadata PATCH.
type metadataOp struct {
	Op, Machine, Key, Value string
}

var metadataPath = regexp.MustCompile(`^/([^/]+)/metadata/([^/]+)$`)

// metadataOps parses a PATCH /fleet/v1/machines body; nil if it is not one.
func metadataOps(r Request) []metadataOp {
	if r.Service != Fleet || r.Action != "PATCH" || strings.TrimSuffix(r.Path, "/") != "/fleet/v1/machines" {
		return nil
	}
	var wire []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal([]byte(r.Body), &wire) != nil {
		return nil
	}
	var out []metadataOp
	for _, o := range wire {
		m := metadataPath.FindStringSubmatch(o.Path)
		if m == nil {
			continue
		}
		// fleet wants the value wrapped, {"value":"vol-…"}; a bare string is
		// read too, so a client that sends one is still judged.
		var value string
		if json.Unmarshal(o.Value, &value) != nil {
			var wrapped struct {
				Value string `json:"value"`
			}
			_ = json.Unmarshal(o.Value, &wrapped)
			value = wrapped.Value
		}
		out = append(out, metadataOp{Op: o.Op, Machine: m[1], Key: m[2], Value: value})
	}
	return out
}

// launchedUnit returns the unit a fleet request sets to launched, "" if none.
func launchedUnit(r Request) string {
	if r.Service != Fleet || r.Action != "PUT" {
		return ""
	}
	name, ok := strings.CutPrefix(r.Path, "/fleet/v1/units/")
	if !ok || name == "" {
		return ""
	}
	var body struct {
		DesiredState string `json:"desiredState"`
	}
	if json.Unmarshal([]byte(r.Body), &body) != nil || body.DesiredState != "launched" {
		return ""
	}
	if u, err := url.PathUnescape(name); err == nil {
		name = u
	}
	return name
}

func compact(p url.Values) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		if k != "Action" && k != "Version" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strings.Join(p[k], ","))
	}
	return strings.Join(parts, " ")
}
