package history

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

const (
	vol   = "vol-00000000000000001"
	i1    = "i-00000000000000001" // core1, the owner
	i2    = "i-00000000000000002" // core2, the leader
	i3    = "i-00000000000000003" // core3, the target
	i4    = "i-00000000000000004"
	i5    = "i-00000000000000005" // core5, the other AZ
	m1    = "m1"
	m3    = "m3"
	moveI = "20260101T000004.900Z-move0001"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func ec2(sec float64, sender, action string, kv ...string) Request {
	p := url.Values{"Action": {action}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Set(kv[i], kv[i+1])
	}
	return Request{Service: EC2, Arrived: at(sec), Applied: at(sec), Action: action, Params: p, Status: 200, Sender: sender, Mutating: true}
}

func fleetReq(sec float64, sender, method, path, body string) Request {
	return Request{Service: Fleet, Arrived: at(sec), Applied: at(sec), Action: method, Path: path, Body: body, Status: 204, Sender: sender, Mutating: true}
}

// clean is a failover as the design wants it: core1 is killed at 1s, the
// leader core2 stops it at 5.0s, force-detaches at 5.1s once the stop was
// sent, attaches to core3 at 5.3s once EC2 reported the volume detached,
// moves the metadata at 5.5s once the attach completed, launches the unit at
// 5.6s; Postgres answers on core3 from 7s; core1 is revived at 20s; every
// page is sent and resolved.
func clean() History {
	h := History{
		Start: t0, End: at(70),
		Hosts: []Host{
			{Name: "core1", Instance: i1, Machine: m1, AZ: "a"}, {Name: "core2", Instance: i2, Machine: "m2", AZ: "a"},
			{Name: "core3", Instance: i3, Machine: m3, AZ: "a"}, {Name: "core4", Instance: i4, Machine: "m4", AZ: "a"},
			{Name: "core5", Instance: i5, Machine: "m5", AZ: "b"},
		},
		Volumes: []string{vol},
		Transitions: []Transition{
			{Time: at(-3600), Instance: i1, State: "running"}, {Time: at(-3600), Instance: i2, State: "running"},
			{Time: at(-3600), Instance: i3, State: "running"}, {Time: at(-3600), Instance: i4, State: "running"},
			{Time: at(-3600), Instance: i5, State: "running"},
			{Time: at(-3600), Volume: vol, Instance: i1, State: "attached"},
			{Time: at(5.0), Instance: i1, State: "stopping"},
			{Time: at(5.1), Volume: vol, Instance: i1, State: "detaching"},
			{Time: at(5.2), Volume: vol, Instance: i1, State: "detached"},
			{Time: at(5.3), Volume: vol, Instance: i3, State: "attaching"},
			{Time: at(5.4), Volume: vol, Instance: i3, State: "attached"},
			{Time: at(10), Instance: i1, State: "stopped"},
			{Time: at(20), Instance: i1, State: "running"},
		},
		Requests: []Request{
			ec2(5.0, i2, "StopInstances", "InstanceId.1", i1, "Force", "true"),
			ec2(5.1, i2, "DetachVolume", "VolumeId", vol, "InstanceId", i1, "Force", "true"),
			ec2(5.3, i2, "AttachVolume", "VolumeId", vol, "InstanceId", i3, "Device", "/dev/sdf"),
			fleetReq(5.5, i2, "PATCH", "/fleet/v1/machines",
				`[{"op":"remove","path":"/m1/metadata/postgres"},{"op":"add","path":"/m3/metadata/postgres","value":{"value":"`+vol+`"}}]`),
			fleetReq(5.6, i2, "PUT", "/fleet/v1/units/postgres@"+vol+".service", `{"desiredState":"launched"}`),
			// The harness's own request is never judged.
			ec2(30, "", "AttachVolume", "VolumeId", vol, "InstanceId", i4, "Device", "/dev/sdf"),
		},
		Leaders: []Span{{Instance: i2, From: at(0)}},
		Sessions: []Span{
			{Instance: i1, From: at(0), To: at(4)}, {Instance: i1, From: at(22)},
			{Instance: i2, From: at(0)}, {Instance: i3, From: at(0)}, {Instance: i4, From: at(0)}, {Instance: i5, From: at(0)},
		},
		Faults: []Fault{{Kind: FaultKill, Host: "core1", From: at(1), To: at(20)}},
		Pages: []Page{
			{At: at(5.0), Kind: "failover_started", Action: "trigger", DedupKey: "failover/" + moveI, Volume: vol, FailoverID: moveI},
			{At: at(8.0), Kind: "failover_completed", Action: "resolve", DedupKey: "failover/" + moveI, Volume: vol, FailoverID: moveI},
		},
		Moves: []state.Record{{
			ID: moveI, Kind: state.KindFailover, Volume: vol, From: state.Endpoint{Instance: i1}, To: state.Endpoint{Instance: i3},
			Created: at(4.9), Updated: at(7.5), Finished: at(7.5), Step: state.StepDone,
			Timeline: []state.StepRecord{
				{Step: state.StepFenced, Start: at(5.0), End: at(5.05)},
				{Step: state.StepDetached, Start: at(5.1), End: at(5.25)},
				{Step: state.StepAttached, Start: at(5.3), End: at(5.45)},
				{Step: state.StepMetadataMoved, Start: at(5.5), End: at(5.55)},
			},
		}},
	}
	for s := 0.0; s < 70; s += 0.1 {
		if s < 1 || s >= 7 {
			h.Served = append(h.Served, Served{Volume: vol, At: at(s)})
		}
	}
	return h
}

// request returns the clean history's request of an action.
func request(h *History, action string) *Request {
	for i := range h.Requests {
		if h.Requests[i].Action == action && h.Requests[i].Sender != "" {
			return &h.Requests[i]
		}
	}
	panic("no " + action)
}

// without drops the requests and transitions the predicate names.
func dropTransitions(h *History, drop func(Transition) bool) {
	var keep []Transition
	for _, tr := range h.Transitions {
		if !drop(tr) {
			keep = append(keep, tr)
		}
	}
	h.Transitions = keep
}

// stepOptions make a step's deadline short, so a crafted history can stall it.
var stepOptions = Options{StepDeadlines: map[state.Step]time.Duration{state.StepAttached: time.Second}}

func TestCheckCleanHistory(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		craft func(h *History)
	}{
		{"the failover as designed", Options{}, func(*History) {}},
		{"with a short attach deadline the step is quick enough", stepOptions, func(*History) {}},
		{"owner already stopped by EC2: a forced detach needs no stop of ours", Options{}, func(h *History) {
			h.Requests = h.Requests[1:]
			h.Transitions = append(h.Transitions, Transition{Time: at(1), Instance: i1, State: "stopped"})
		}},
		{"a mutation within the network allowance after the leadership ended", Options{}, func(h *History) {
			h.Leaders = []Span{{Instance: i2, From: at(0), To: at(5.56)}, {Instance: i4, From: at(5.57)}}
		}},
		{"a stuck attach to a healthy target is force-detached: no owner fenced", Options{}, func(h *History) {
			h.Transitions = append(h.Transitions,
				Transition{Time: at(40), Volume: vol, Instance: i3, State: "detached"},
				Transition{Time: at(40.1), Volume: vol, Instance: i4, State: "attaching"})
			h.Requests = append(h.Requests,
				ec2(40.1, i2, "AttachVolume", "VolumeId", vol, "InstanceId", i4, "Device", "/dev/sdf"),
				ec2(45, i2, "DetachVolume", "VolumeId", vol, "InstanceId", i4, "Force", "true"))
		}},
		{"a fault whose serve bound runs past the end is not judged yet", Options{}, func(h *History) {
			h.Faults = append(h.Faults, Fault{Kind: FaultPair, Host: "core2", Peer: "core3", From: at(50), To: at(60)})
			h.Served = h.Served[:len(h.Served)-150]
		}},
		{"a move written seconds after its planning round began is paged from when it was written", Options{PageBound: 3 * time.Second}, func(h *History) {
			h.MovesSeen = map[string]time.Time{moveI: at(7.0)}
			h.Pages[0].At, h.Pages[1].At = at(8.5), at(9.0)
		}},
		{"a move abandoned at its attach is not overdue after it ended", stepOptions, func(h *History) {
			h.Moves[0].Timeline = h.Moves[0].Timeline[:3]
			h.Moves[0].Timeline[2].End = time.Time{}
			h.Moves[0].Finished, h.Moves[0].Updated, h.Moves[0].Abandoned = time.Time{}, at(5.6), "target died"
		}},
		{"pages held by an etcd member's fsync stall are due after it ends", Options{PageBound: 3 * time.Second}, func(h *History) {
			h.Faults = append(h.Faults, Fault{Kind: FaultMemberStall, Host: "etcd3", From: at(4), To: at(9)})
			h.Pages[0].At, h.Pages[1].At = at(11.5), at(11.9)
		}},
		{"a page while an etcd member is still down is not judged yet", Options{PageBound: 3 * time.Second}, func(h *History) {
			h.Faults = append(h.Faults, Fault{Kind: FaultMemberKill, Host: "etcd1", From: at(4)})
			h.Pages = nil
		}},
		{"a pause stops the serve clock: due 40s after the pause ended, past the end", Options{}, func(h *History) {
			h.Served = h.Served[:10]
			h.Pauses = []Pause{{From: at(30), To: at(35)}}
		}},
		{"a pause still in force: nothing is due", Options{}, func(h *History) {
			h.Served = h.Served[:10]
			h.Pauses = []Pause{{Volume: vol, From: at(50)}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clean()
			tc.craft(&h)
			rep := Check(h, tc.opts)
			require.Empty(t, rep.Violations, "got violations %v want none", rep.Violations)
			if tc.name == "the failover as designed" {
				for _, r := range Rules {
					require.Positive(t, rep.Judged[r], "rule %s judged nothing on the clean history: got %v", r, rep.Judged)
				}
			}
		})
	}
}

// TestCheckCatchesEachRule feeds the checker histories that each break one
// rule, and only that one: the proof that every check can fail.
func TestCheckCatchesEachRule(t *testing.T) {
	for _, tc := range []struct {
		name  string
		want  Rule
		opts  Options
		craft func(h *History)
	}{
		{"attach while EC2 still has the volume detaching from the owner", AttachAfterDetached, Options{}, func(h *History) {
			request(h, "AttachVolume").Arrived = at(5.15)
		}},
		{"forced detach with no stop of the running owner", ForcedDetachAfterStop, Options{}, func(h *History) {
			h.Requests = h.Requests[1:]
			dropTransitions(h, func(tr Transition) bool { return tr.Volume == "" && tr.Instance == i1 && tr.Time.After(at(0)) })
		}},
		{"strict policy: forced detach while the owner is only stopping", ForcedDetachAfterStop, Options{}, func(h *History) {
			h.StrictFence = true
		}},
		{"metadata moved while the attach is still attaching", MetadataAfterAttach, Options{}, func(h *History) {
			for i := range h.Requests {
				if h.Requests[i].Action == "PATCH" {
					h.Requests[i].Arrived = at(5.35)
				}
			}
		}},
		{"unit launched before the metadata moved", LaunchAfterMetadata, Options{}, func(h *History) {
			request(h, "PUT").Arrived = at(5.45)
		}},
		{"a deposed leader's mutation 100ms after its leadership ended", NoMutationAfterLeadership, Options{}, func(h *History) {
			h.Leaders = []Span{{Instance: i2, From: at(0), To: at(5.5)}, {Instance: i4, From: at(5.52)}}
		}},
		{"a healthy owner fenced", HealthyOwnerNotFenced, Options{}, func(h *History) {
			h.Faults = nil
			h.Sessions[0].To = time.Time{}
			h.Sessions = append(h.Sessions[:1], h.Sessions[2:]...)
		}},
		{"an owner cut from one peer only is still healthy", HealthyOwnerNotFenced, Options{}, func(h *History) {
			h.Faults = []Fault{{Kind: FaultOneWay, Host: "core2", Peer: "core1", From: at(1), To: at(20)}}
			h.Sessions[0].To = time.Time{}
			h.Sessions = append(h.Sessions[:1], h.Sessions[2:]...)
		}},
		{"not served after the fault ended", ServedAgain, Options{}, func(h *History) {
			var keep []Served
			for _, s := range h.Served {
				if s.At.Before(at(19)) {
					keep = append(keep, s)
				}
			}
			h.Served = keep
		}},
		{"not served 40s after a pause that followed the fault ended", ServedAgain, Options{}, func(h *History) {
			h.Served = h.Served[:10]
			h.Pauses = []Pause{{From: at(22), To: at(25)}}
		}},
		{"a move never paged", MovePaged, Options{}, func(h *History) {
			h.Pages = h.Pages[1:]
		}},
		{"a step stalled past its deadline and not paged overdue", MovePaged, stepOptions, func(h *History) {
			h.Moves[0].Timeline[2].End = at(25)
			h.Moves[0].Finished, h.Moves[0].Updated = at(25), at(25)
			h.Pages[1].At = at(26)
		}},
		{"a step left open by an abandoned move that overran its deadline first", MovePaged, stepOptions, func(h *History) {
			h.Moves[0].Timeline = h.Moves[0].Timeline[:3]
			h.Moves[0].Timeline[2].End = time.Time{}
			h.Moves[0].Finished, h.Moves[0].Updated, h.Moves[0].Abandoned = time.Time{}, at(25), "target died"
			h.Pages[1].At = at(26)
		}},
		{"the page of an ended move never resolved", PageResolved, Options{}, func(h *History) {
			h.Pages = h.Pages[:1]
		}},
		{"a page late past the end of the etcd stall that held it", MovePaged, Options{PageBound: 3 * time.Second}, func(h *History) {
			h.Faults = append(h.Faults, Fault{Kind: FaultMemberStall, Host: "etcd3", From: at(4), To: at(9)})
			h.Moves[0].Finished, h.Moves[0].Updated = at(10), at(10)
			h.Pages[0].At, h.Pages[1].At = at(12.5), at(12.6)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clean()
			tc.craft(&h)
			rep := Check(h, tc.opts)
			require.NotEmpty(t, rep.Violations, "got no violation want %s", tc.want)
			for _, v := range rep.Violations {
				require.Equal(t, tc.want, v.Rule, "got a violation of %s want only %s: %v", v.Rule, tc.want, v)
			}
			t.Logf("caught: %v", rep.Violations[0])
		})
	}
}
