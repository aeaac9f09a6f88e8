package ec2sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
	testclock "k8s.io/utils/clock/testing"
)

// IDs used across the tests.
func volID(n int) string  { return fmt.Sprintf("vol-%017x", n) }
func instID(n int) string { return fmt.Sprintf("i-%017x", n) }

var (
	i1, i2, i3, i4, i5 = instID(1), instID(2), instID(3), instID(4), instID(5)
	v1, v2, v3, v4     = volID(1), volID(2), volID(3), volID(4)
)

// worldSeed: i1, i2 running in 1a; i3 running in 1b; i4 stopped in 1a;
// i5 pending in 1a. v1 attached to i1 on xvdf; v2 available in 1a; v3
// available in 1b; v4 attached to stopped i4 on xvdg.
func worldSeed() *Seed {
	return &Seed{
		Instances: []SeedInstance{
			{ID: i1, AZ: "us-east-1a", PrivateIP: "10.0.1.1", State: "running", Tags: map[string]string{"Name": "core1"}},
			{ID: i2, AZ: "us-east-1a", PrivateIP: "10.0.1.2", State: "running", Tags: map[string]string{"Name": "core2"}},
			{ID: i3, AZ: "us-east-1b", PrivateIP: "10.0.2.3", State: "running", Tags: map[string]string{"Name": "edge3"}},
			{ID: i4, AZ: "us-east-1a", PrivateIP: "10.0.1.4", State: "stopped"},
			{ID: i5, AZ: "us-east-1a", PrivateIP: "10.0.1.5", State: "pending"},
		},
		Volumes: []SeedVolume{
			{ID: v1, AZ: "us-east-1a", Size: 50, Tags: map[string]string{"volfailover:managed": "true", "cluster": "db1"},
				Attachment: &SeedAttachment{InstanceID: i1, Device: "/dev/xvdf"}},
			{ID: v2, AZ: "us-east-1a", Size: 20, Tags: map[string]string{"volfailover:managed": "true", "cluster": "db2"}},
			{ID: v3, AZ: "us-east-1b", Size: 20, Tags: map[string]string{"cluster": "db*3"}},
			{ID: v4, AZ: "us-east-1a", Size: 10, Attachment: &SeedAttachment{InstanceID: i4, Device: "/dev/xvdg"}},
		},
	}
}

// env is a Sim behind an httptest server with an SDK client.
type env struct {
	t   *testing.T
	sim *Sim
	srv *httptest.Server
	clk *testclock.FakeClock
	// ec2 fails fast: no retries, so raw errors are visible.
	ec2 *ec2.Client
}

type envOpt func(*Options)

// withFakeClock drives the Sim with a fake clock and fixed aws-typical-like delays.
func withFakeClock(l Latencies) envOpt {
	return func(o *Options) {
		o.Clock = testclock.NewFakeClock(time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC))
		o.Latencies = &l
	}
}

// fixedLatencies are easy to step through: attach 2 s, detach 3 s, force 1 s, stop 30 s.
var fixedLatencies = Latencies{
	AttachMin: 2 * time.Second, AttachMax: 2 * time.Second,
	DetachMin: 3 * time.Second, DetachMax: 3 * time.Second,
	ForceDetachMin: time.Second, ForceDetachMax: time.Second,
	StopMin: 30 * time.Second, StopMax: 30 * time.Second,
	HardStopMin: 5 * time.Second, HardStopMax: 5 * time.Second,
}

func withRoot(dir string) envOpt { return func(o *Options) { o.Root = dir } }

func newEnv(t *testing.T, seed *Seed, opts ...envOpt) *env {
	t.Helper()
	o := Options{Profile: ProfileInstant}
	for _, f := range opts {
		f(&o)
	}
	sim, err := New(o)
	require.NoError(t, err, "new sim")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close) // runs first: releases hanging requests
	if seed != nil {
		require.NoError(t, sim.Apply(seed), "apply seed")
	}
	e := &env{t: t, sim: sim, srv: srv}
	if fc, ok := o.Clock.(*testclock.FakeClock); ok {
		e.clk = fc
	}
	e.ec2 = e.client(aws.NopRetryer{})
	return e
}

// client builds a real SDK client against the server with the given retryer.
func (e *env) client(r aws.Retryer) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.srv.URL),
		// The real transport of the test server, with request bodies buffered
		// (see BufferRequestBodies).
		HTTPClient: &http.Client{Transport: BufferRequestBodies(e.srv.Client().Transport)},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		Retryer: r,
	})
}

// retrying is a standard retryer with tiny backoff and no retry quota.
func retrying(attempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		o.RateLimiter = ratelimit.None
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiCode returns the EC2 error code and HTTP status of err.
func apiCode(t *testing.T, err error) (string, int) {
	t.Helper()
	require.Error(t, err, "want an API error")
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "want smithy.APIError, got %T: %v", err, err)
	var re *awshttp.ResponseError
	require.True(t, errors.As(err, &re), "want *awshttp.ResponseError, got %v", err)
	return ae.ErrorCode(), re.HTTPStatusCode()
}

// post sends a raw form POST to the EC2 endpoint.
func (e *env) post(form url.Values) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.srv.Client().Post(e.srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(e.t, err, "post %v", form)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err, "read body")
	return resp, string(b)
}

// volume reads one volume through the SDK.
func (e *env) volume(id string) types.Volume {
	e.t.Helper()
	out, err := e.ec2.DescribeVolumes(ctx(e.t), &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	require.NoError(e.t, err, "describe %s", id)
	require.Len(e.t, out.Volumes, 1, "describe %s", id)
	return out.Volumes[0]
}

// attachState is the volume state and its attachment's state ("" = none).
func (e *env) attachState(id string) (string, string) {
	v := e.volume(id)
	if len(v.Attachments) == 0 {
		return string(v.State), ""
	}
	require.Len(e.t, v.Attachments, 1, "attachments of %s", id)
	return string(v.State), string(v.Attachments[0].State)
}

// instance reads one instance through the SDK.
func (e *env) instance(id string) types.Instance {
	e.t.Helper()
	out, err := e.ec2.DescribeInstances(ctx(e.t), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	require.NoError(e.t, err, "describe %s", id)
	require.Len(e.t, out.Reservations, 1)
	require.Len(e.t, out.Reservations[0].Instances, 1)
	return out.Reservations[0].Instances[0]
}

func (e *env) attach(vol, inst, dev string) (*ec2.AttachVolumeOutput, error) {
	return e.ec2.AttachVolume(ctx(e.t), &ec2.AttachVolumeInput{VolumeId: aws.String(vol), InstanceId: aws.String(inst), Device: aws.String(dev)})
}

func (e *env) detach(vol string, force bool) (*ec2.DetachVolumeOutput, error) {
	return e.ec2.DetachVolume(ctx(e.t), &ec2.DetachVolumeInput{VolumeId: aws.String(vol), Force: aws.Bool(force)})
}

func (e *env) stop(inst string, force bool) (*ec2.StopInstancesOutput, error) {
	return e.ec2.StopInstances(ctx(e.t), &ec2.StopInstancesInput{InstanceIds: []string{inst}, Force: aws.Bool(force)})
}

// hardStop is StopInstances with Force and SkipOsShutdown, the fence.
func (e *env) hardStop(inst string) (*ec2.StopInstancesOutput, error) {
	return e.ec2.StopInstances(ctx(e.t), &ec2.StopInstancesInput{InstanceIds: []string{inst}, Force: aws.Bool(true), SkipOsShutdown: aws.Bool(true)})
}

// lastCall is the latest journal entry.
func (e *env) lastCall() Call {
	j := e.sim.Journal()
	require.NotEmpty(e.t, j, "journal is empty")
	return j[len(j)-1]
}
