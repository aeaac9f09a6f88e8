package awsops

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// env is an awsops Client talking through the real SDK to an ec2sim.
type env struct {
	sim *ec2sim.Sim
	c   *Client
	url string
}

// testCreds are fixed credentials; ec2sim accepts any signature.
var testCreds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
})

// testOptions are fast options: millisecond retries and waits.
func testOptions(endpoint string) Options {
	o := DefaultOptions()
	o.Region = "us-east-1"
	o.Endpoint = endpoint
	o.Credentials = testCreds
	o.RetryBaseDelay = 2 * time.Millisecond
	o.RetryMaxDelay = 20 * time.Millisecond
	o.Wait = WaitOptions{
		Initial: 2 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2,
		StuckAttaching: 300 * time.Millisecond, StuckDetaching: 300 * time.Millisecond,
	}
	o.Buckets = roomyBuckets()
	return o
}

// roomyBuckets are buckets no test outside budget_test.go comes near, so
// the client-side budget never slows the tests that poll every millisecond.
func roomyBuckets() map[string]Bucket {
	out := AccountBuckets()
	for k := range out {
		out[k] = Bucket{Size: 1e6, Refill: 1e6}
	}
	return out
}

// newEnv starts an ec2sim seeded with seed (latencies lat, nil = instant)
// behind httptest and builds a Client on it; mod may adjust the options.
func newEnv(t *testing.T, seed *ec2sim.Seed, lat *ec2sim.Latencies, mod func(*Options)) *env {
	t.Helper()
	sim, err := ec2sim.New(ec2sim.Options{Latencies: lat})
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	if seed != nil {
		require.NoError(t, sim.Apply(seed))
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	o := testOptions(srv.URL)
	if mod != nil {
		mod(&o)
	}
	c, err := New(t.Context(), o)
	require.NoError(t, err)
	return &env{sim: sim, c: c, url: srv.URL}
}

// ctx returns a test context with a deadline, so no test can hang.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func vid(n int) string { return fmt.Sprintf("vol-%017x", n) }
func iid(n int) string { return fmt.Sprintf("i-%017x", n) }

const (
	azA = "us-east-1a"
	azB = "us-east-1b"
)

// inst seeds a running instance in az.
func inst(n int, az string) ec2sim.SeedInstance {
	return ec2sim.SeedInstance{ID: iid(n), AZ: az, PrivateIP: fmt.Sprintf("10.0.%d.%d", n/250, n%250+1), State: "running"}
}

// managedVol seeds a managed volume in az, attached to instance `on` as
// device when on > 0.
func managedVol(n int, az string, on int, device string) ec2sim.SeedVolume {
	v := ec2sim.SeedVolume{ID: vid(n), AZ: az, Size: 10, Tags: map[string]string{DefaultManagedTagKey: "true"}}
	if on > 0 {
		v.Attachment = &ec2sim.SeedAttachment{InstanceID: iid(on), Device: device}
	}
	return v
}

// calls returns the journal entries of one action.
func calls(j []ec2sim.Call, action string) []ec2sim.Call {
	var out []ec2sim.Call
	for _, c := range j {
		if c.Action == action {
			out = append(out, c)
		}
	}
	return out
}

// mutations returns the journal entries that could change the world.
func mutations(j []ec2sim.Call) []ec2sim.Call {
	var out []ec2sim.Call
	for _, c := range j {
		if c.Mutating() {
			out = append(out, c)
		}
	}
	return out
}

// attachmentState returns the state of vol's attachment to inst, or "".
func attachmentState(s *ec2sim.Sim, vol, inst string) string {
	for _, a := range s.VolumeAttachments(vol) {
		if a.InstanceID == inst {
			return a.State
		}
	}
	return ""
}
