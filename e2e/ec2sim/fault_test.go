package ec2sim

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

// journalSummary is (action, attempt, status, code) of each call.
type callSummary struct {
	Action  string
	Attempt int
	Status  int
	Code    string
}

func summarize(j []Call) []callSummary {
	out := []callSummary{}
	for _, c := range j {
		out = append(out, callSummary{c.Action, c.Attempt, c.Status, c.Code})
	}
	return out
}

func TestRequestFaultsRaw(t *testing.T) {
	tests := []struct {
		kind   FaultKind
		status int
		code   string
	}{
		{FaultThrottle, 503, "RequestLimitExceeded"},
		{FaultInternalError, 500, "InternalError"},
		{FaultUnavailable, 503, "Unavailable"},
		{FaultEmpty500, 500, "UnknownError"},
		{FaultUnauthorized, 403, "UnauthorizedOperation"},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			e := newEnv(t, worldSeed())
			e.sim.Arm(Fault{Kind: tc.kind, Action: "AttachVolume"})
			_, err := e.attach(v2, i2, "/dev/xvdh")
			code, status := apiCode(t, err)
			require.Equal(t, tc.code, code)
			require.Equal(t, tc.status, status)
			require.Nil(t, e.sim.VolumeAttachments(v2), "a refused call changes nothing")
			// One-shot: the next call goes through.
			_, err = e.attach(v2, i2, "/dev/xvdh")
			require.NoError(t, err)
			require.Equal(t, []callSummary{
				{"AttachVolume", 1, tc.status, map[bool]string{true: string(FaultEmpty500), false: tc.code}[tc.kind == FaultEmpty500]},
				{"AttachVolume", 1, 200, ""},
			}, summarize(e.sim.Journal()))
		})
	}
}

func TestThrottleRetryAfterHeader(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultThrottle, RetryAfter: 1500 * time.Millisecond})
	resp, body := e.post(url.Values{"Action": {"DescribeVolumes"}})
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	require.Equal(t, "1500", resp.Header.Get("X-Amz-Retry-After"))
	require.Contains(t, body, "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>")
}

func TestThrottleStormRecoveredByRetries(t *testing.T) {
	e := newEnv(t, worldSeed())
	c := e.client(retrying(5))
	// Every first and second attempt of DescribeVolumes is throttled.
	e.sim.Arm(Fault{Kind: FaultThrottle, Action: "DescribeVolumes", Attempt: 1, Sticky: true})
	e.sim.Arm(Fault{Kind: FaultThrottle, Action: "DescribeVolumes", Attempt: 2, Sticky: true})
	for range 2 {
		out, err := c.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{})
		require.NoError(t, err)
		require.Len(t, out.Volumes, 4)
	}
	want := []callSummary{}
	for range 2 {
		want = append(want, callSummary{"DescribeVolumes", 1, 503, "RequestLimitExceeded"},
			callSummary{"DescribeVolumes", 2, 503, "RequestLimitExceeded"}, callSummary{"DescribeVolumes", 3, 200, ""})
	}
	require.Equal(t, want, summarize(e.sim.Journal()))
}

func TestNthCallAndSticky(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		want  []int // statuses of 5 DescribeInstances calls
	}{
		{"every call, one shot", Fault{Kind: FaultInternalError}, []int{500, 200, 200, 200, 200}},
		{"every call, sticky", Fault{Kind: FaultInternalError, Sticky: true}, []int{500, 500, 500, 500, 500}},
		{"third call, one shot", Fault{Kind: FaultInternalError, NthCall: 3}, []int{200, 200, 500, 200, 200}},
		{"from the second call, sticky", Fault{Kind: FaultInternalError, NthCall: 2, Sticky: true}, []int{200, 500, 500, 500, 500}},
		{"other action", Fault{Kind: FaultInternalError, Action: "DescribeVolumes", Sticky: true}, []int{200, 200, 200, 200, 200}},
		{"named resource", Fault{Kind: FaultInternalError, Resource: i1, Sticky: true}, []int{500, 200, 500, 200, 500}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, worldSeed())
			e.sim.Arm(tc.fault)
			var got []int
			for i := range 5 {
				in := &ec2.DescribeInstancesInput{InstanceIds: []string{i1}}
				if i%2 == 1 {
					in.InstanceIds = []string{i2}
				}
				_, err := e.ec2.DescribeInstances(ctx(t), in)
				status := 200
				if err != nil {
					_, status = apiCode(t, err)
				}
				got = append(got, status)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDisarmAndClear(t *testing.T) {
	e := newEnv(t, worldSeed())
	id := e.sim.Arm(Fault{Kind: FaultInternalError, Sticky: true})
	e.sim.Disarm(id)
	_, err := e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{})
	require.NoError(t, err, "disarmed fault does not fire")
	e.sim.Arm(Fault{Kind: FaultInternalError, Sticky: true})
	e.sim.Arm(Fault{Kind: FaultThrottle, Sticky: true})
	e.sim.ClearFaults()
	_, err = e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{})
	require.NoError(t, err, "cleared faults do not fire")
	e.sim.Arm(Fault{Kind: FaultStuckAttaching, Action: "DetachVolume"}) // invalid: never fires
	_, err = e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	_, att := e.attachState(v2)
	require.Equal(t, "attached", att, "an invalid fault never fires")
}

func TestFaultValidate(t *testing.T) {
	tests := []struct {
		f   Fault
		err string
	}{
		{Fault{Kind: "nope"}, `"nope"`},
		{Fault{Kind: FaultThrottle, Action: "RunInstances"}, `"RunInstances"`},
		{Fault{Kind: FaultBusy, Action: "AttachVolume"}, "DetachVolume"},
		{Fault{Kind: FaultLatency}, "latency"},
		{Fault{Kind: FaultThrottle, NthCall: -1}, "nthCall"},
		{Fault{Kind: FaultThrottle, Attempt: -1}, "attempt"},
		{Fault{Kind: FaultThrottle, RetryAfter: -time.Second}, "retryAfter"},
	}
	for _, tc := range tests {
		require.ErrorContains(t, tc.f.Validate(), tc.err, "%+v", tc.f)
	}
	require.NoError(t, Fault{Kind: FaultLatency, Latency: time.Second, Action: "AttachVolume"}.Validate())
}

func TestApplyThenFail(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultApplyThenFail, Action: "AttachVolume"})
	_, err := e.client(retrying(3)).AttachVolume(ctx(t), &ec2.AttachVolumeInput{
		VolumeId: aws.String(v2), InstanceId: aws.String(i2), Device: aws.String("/dev/xvdh")})
	code, status := apiCode(t, err)
	require.Equal(t, "VolumeInUse", code, "the SDK retried an attach that had happened")
	require.Equal(t, 400, status)
	require.Equal(t, []SeedAttachment{{InstanceID: i2, Device: "/dev/xvdh", State: "attached"}}, e.sim.VolumeAttachments(v2))
	require.Equal(t, []callSummary{{"AttachVolume", 1, 503, "Unavailable"}, {"AttachVolume", 2, 400, "VolumeInUse"}}, summarize(e.sim.Journal()))
}

func TestLatencyFaultOnFakeClock(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
	e.sim.Arm(Fault{Kind: FaultLatency, Action: "DescribeVolumes", Latency: 5 * time.Second})
	done := make(chan error, 1)
	go func() {
		_, err := e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{})
		done <- err
	}()
	require.Eventually(t, e.clk.HasWaiters, 5*time.Second, 5*time.Millisecond, "waiting for the request to wait on the clock")
	select {
	case err := <-done:
		t.Fatalf("call returned before the clock moved: %v", err)
	default:
	}
	e.clk.Step(5 * time.Second)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("call did not return after the latency elapsed")
	}
}

func TestHangUntilClientGivesUp(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultHang, Action: "StopInstances"})
	// The clock starts before the deadline is set, or the deadline can come
	// a few microseconds short of 200 ms after it.
	start := time.Now()
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := e.ec2.StopInstances(c, &ec2.StopInstancesInput{InstanceIds: []string{i1}})
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	require.Equal(t, "running", e.sim.InstanceState(i1), "a hung call changed nothing")
	require.Equal(t, []callSummary{{"StopInstances", 1, 0, "hang"}}, summarize(e.sim.Journal()))
}

func TestConnReset(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultConnReset, Action: "DescribeInstances"})
	_, err := e.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	require.Error(t, err)
	var ae smithy.APIError
	require.False(t, errors.As(err, &ae), "a reset is a transport error, not an API error: %v", err)
	// The standard retryer treats it as retryable.
	e.sim.Arm(Fault{Kind: FaultConnReset, Action: "DescribeInstances"})
	_, err = e.client(retrying(3)).DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	require.NoError(t, err)
	require.Equal(t, []callSummary{
		{"DescribeInstances", 1, 0, "conn-reset"}, {"DescribeInstances", 1, 0, "conn-reset"}, {"DescribeInstances", 2, 200, ""},
	}, summarize(e.sim.Journal()))
}

func TestBadXML(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultBadXML, Action: "AttachVolume"})
	_, err := e.attach(v2, i2, "/dev/xvdh")
	require.Error(t, err)
	var ae smithy.APIError
	require.False(t, errors.As(err, &ae), "truncated XML is a deserialization error: %v", err)
	require.Equal(t, "attached", e.sim.VolumeAttachments(v2)[0].State, "the call was performed before its answer was cut")
}

func TestAttachmentLimit(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultAttachmentLimit, Resource: i2})
	_, err := e.attach(v3, i3, "/dev/xvdh")
	require.NoError(t, err, "fault is scoped to i2")
	_, err = e.attach(v2, i2, "/dev/xvdh")
	code, status := apiCode(t, err)
	require.Equal(t, "AttachmentLimitExceeded", code)
	require.Equal(t, 400, status)
	require.Nil(t, e.sim.VolumeAttachments(v2))
}

func TestStuckAttaching(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
	e.sim.Arm(Fault{Kind: FaultStuckAttaching, Resource: v2})
	_, err := e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	e.clk.Step(10 * time.Minute)
	_, att := e.attachState(v2)
	require.Equal(t, "attaching", att, "stuck")
	_, err = e.detach(v2, true)
	require.NoError(t, err)
	e.clk.Step(time.Second)
	st, _ := e.attachState(v2)
	require.Equal(t, "available", st, "force detach clears a stuck attach")
}

func TestStuckDetachingAndBusy(t *testing.T) {
	tests := []struct {
		name   string
		kind   FaultKind
		during string
		clear  func(e *env)
	}{
		{"stuck detaching cleared by force", FaultStuckDetaching, "detaching", func(e *env) {
			_, err := e.detach(v1, true)
			require.NoError(e.t, err)
			e.clk.Step(time.Second)
		}},
		{"stuck detaching cleared by stop", FaultStuckDetaching, "detaching", func(e *env) {
			require.NoError(e.t, e.sim.SetInstanceState(i1, "stopped"))
		}},
		{"busy cleared by force", FaultBusy, "busy", func(e *env) {
			_, err := e.detach(v1, true)
			require.NoError(e.t, err)
			e.clk.Step(time.Second)
		}},
		{"busy cleared by stop", FaultBusy, "busy", func(e *env) {
			_, err := e.stop(i1, true)
			require.NoError(e.t, err)
			e.clk.Step(30 * time.Second)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
			e.sim.Arm(Fault{Kind: tc.kind, Resource: v1})
			out, err := e.detach(v1, false)
			require.NoError(t, err)
			require.Equal(t, types.VolumeAttachmentStateDetaching, out.State)
			e.clk.Step(time.Hour)
			st, att := e.attachState(v1)
			require.Equal(t, [2]string{"in-use", tc.during}, [2]string{st, att})
			again, err := e.detach(v1, false)
			require.NoError(t, err)
			require.Equal(t, types.VolumeAttachmentState(tc.during), again.State, "a plain detach does not help")
			e.clk.Step(time.Hour)
			_, att = e.attachState(v1)
			require.Equal(t, tc.during, att)
			tc.clear(e)
			st, att = e.attachState(v1)
			require.Equal(t, [2]string{"available", ""}, [2]string{st, att})
		})
	}
}

func TestBusyNeverOnStoppedInstance(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultBusy, Sticky: true})
	_, err := e.detach(v4, false) // v4 is on the stopped i4
	require.NoError(t, err)
	st, _ := e.attachState(v4)
	require.Equal(t, "available", st, "no guest OS to hold the device")
}

func TestForceStuck(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
	e.sim.Arm(Fault{Kind: FaultForceStuck, Resource: v1})
	_, err := e.detach(v1, true)
	require.NoError(t, err)
	e.clk.Step(time.Hour)
	_, att := e.attachState(v1)
	require.Equal(t, "detaching", att, "force detach stuck")
	_, err = e.detach(v1, true)
	require.NoError(t, err, "a second force detach")
	e.clk.Step(time.Second)
	st, _ := e.attachState(v1)
	require.Equal(t, "available", st, "the one-shot fault is spent; the second force works")
}

func TestStuckStopping(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
	e.sim.Arm(Fault{Kind: FaultStuckStopping, Resource: i1, Sticky: true})
	_, err := e.stop(i1, false)
	require.NoError(t, err)
	e.clk.Step(time.Hour)
	require.Equal(t, "stopping", e.sim.InstanceState(i1), "stuck")
	out, err := e.stop(i1, false)
	require.NoError(t, err)
	require.Equal(t, types.InstanceStateNameStopping, out.StoppingInstances[0].CurrentState.Name, "a plain stop does not help")
	e.clk.Step(time.Hour)
	require.Equal(t, "stopping", e.sim.InstanceState(i1))
	_, err = e.stop(i1, true)
	require.NoError(t, err)
	e.clk.Step(30 * time.Second)
	require.Equal(t, "stopped", e.sim.InstanceState(i1), "force stop clears it")
}

func TestImpairedFault(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultImpaired, Resource: i2, Sticky: true})
	for range 2 {
		out, err := e.ec2.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{i1, i2}})
		require.NoError(t, err)
		got := map[string][2]types.SummaryStatus{}
		for _, s := range out.InstanceStatuses {
			got[*s.InstanceId] = [2]types.SummaryStatus{s.InstanceStatus.Status, s.SystemStatus.Status}
		}
		require.Equal(t, map[string][2]types.SummaryStatus{i1: {"ok", "ok"}, i2: {"impaired", "impaired"}}, got)
	}
}

func TestDescribeLag(t *testing.T) {
	e := newEnv(t, worldSeed())
	_, err := e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	e.sim.Arm(Fault{Kind: FaultDescribeLag, Resource: v2})
	_, att := e.attachState(v2)
	require.Equal(t, "attaching", att, "volume view trails")
	require.Equal(t, types.AttachmentStatusAttached, e.instance(i2).BlockDeviceMappings[0].Ebs.Status, "instance view is current")
	_, att = e.attachState(v2)
	require.Equal(t, "attached", att, "the one-shot lag is spent")
}
