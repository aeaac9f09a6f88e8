package ec2sim

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"
)

// The four stop methods of the EC2 user guide ("Methods for stopping an
// instance"): a default or Force stop shuts the guest OS down first, so the
// host runs on while the instance is stopping; SkipOsShutdown ends the guest
// at once and stops sooner, also when sent to an instance already stopping.
func TestStopMethods(t *testing.T) {
	type look struct {
		at      time.Duration // since the first stop
		state   string
		guestUp bool
	}
	for _, tc := range []struct {
		name   string
		force  bool
		skipOS bool
		// second, when set, is a Force+SkipOsShutdown stop sent at that time.
		second time.Duration
		looks  []look
	}{
		{"default", false, false, 0, []look{{0, "stopping", true}, {29 * time.Second, "stopping", true}, {30 * time.Second, "stopped", false}}},
		{"force is not a hard stop", true, false, 0, []look{{0, "stopping", true}, {29 * time.Second, "stopping", true}, {30 * time.Second, "stopped", false}}},
		{"skip os shutdown", false, true, 0, []look{{0, "stopping", false}, {4 * time.Second, "stopping", false}, {5 * time.Second, "stopped", false}}},
		{"force and skip os shutdown", true, true, 0, []look{{0, "stopping", false}, {5 * time.Second, "stopped", false}}},
		{"a hard stop hastens a stop under way", false, false, 2 * time.Second,
			[]look{{time.Second, "stopping", true}, {2 * time.Second, "stopping", false}, {6 * time.Second, "stopping", false}, {7 * time.Second, "stopped", false}}},
		{"a hard stop near the end does not delay it", false, false, 28 * time.Second,
			[]look{{28 * time.Second, "stopping", false}, {30 * time.Second, "stopped", false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
			out, err := e.ec2.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: []string{i1},
				Force: aws.Bool(tc.force), SkipOsShutdown: aws.Bool(tc.skipOS)})
			require.NoError(t, err)
			require.Equal(t, "stopping", string(out.StoppingInstances[0].CurrentState.Name))
			var now time.Duration
			step := func(to time.Duration) {
				if to > now {
					e.clk.Step(to - now)
					now = to
				}
			}
			sent := tc.second == 0
			for _, l := range tc.looks {
				if !sent && l.at >= tc.second {
					step(tc.second)
					out, err := e.hardStop(i1)
					require.NoError(t, err)
					require.Equal(t, "stopping", string(out.StoppingInstances[0].PreviousState.Name))
					sent = true
				}
				step(l.at)
				require.Equal(t, l.state, e.sim.InstanceState(i1), "state at %s", l.at)
				require.Equal(t, l.guestUp, e.sim.GuestRunning(i1), "guest running at %s", l.at)
			}
		})
	}
}

// Stop protection (the DisableApiStop attribute) refuses every stop, the
// forced hard stop included, with AWS's code and message
// (cloud-custodian/cloud-custodian#8007 records them).
func TestStopProtection(t *testing.T) {
	seed := worldSeed()
	seed.Instances[0].DisableAPIStop = true
	e := newEnv(t, seed, withFakeClock(fixedLatencies))
	_, err := e.hardStop(i1)
	code, status := apiCode(t, err)
	require.Equal(t, "OperationNotPermitted", code)
	require.Equal(t, 400, status)
	require.ErrorContains(t, err, "The instance '"+i1+"' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.")
	require.Equal(t, "running", e.sim.InstanceState(i1))
	require.True(t, e.sim.GuestRunning(i1))

	require.NoError(t, e.sim.SetStopProtection(i1, false))
	_, err = e.hardStop(i1)
	require.NoError(t, err)
	require.NoError(t, e.sim.SetStopProtection(i2, true))
	_, err = e.stop(i2, false)
	code, _ = apiCode(t, err)
	require.Equal(t, "OperationNotPermitted", code)
}
