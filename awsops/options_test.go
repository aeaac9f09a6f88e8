package awsops

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mod     func(*Options)
		wantErr string // "" = valid
	}{
		{"defaults with region", func(*Options) {}, ""},
		{"gov region", func(o *Options) { o.Region = "us-gov-west-1" }, ""},
		{"endpoint http", func(o *Options) { o.Endpoint = "http://127.0.0.1:8080" }, ""},
		{"missing region", func(o *Options) { o.Region = "" }, "Region is required"},
		{"bad region", func(o *Options) { o.Region = "useast1" }, `Region "useast1"`},
		{"az as region", func(o *Options) { o.Region = "us-east-1a" }, `Region "us-east-1a"`},
		{"endpoint scheme", func(o *Options) { o.Endpoint = "ftp://x" }, `Endpoint "ftp://x" must use http or https`},
		{"endpoint no host", func(o *Options) { o.Endpoint = "http://" }, `Endpoint "http://" has no host`},
		{"endpoint unparsable", func(o *Options) { o.Endpoint = "http://[::1" }, `Endpoint "http://[::1" is not a URL`},
		{"imds endpoint", func(o *Options) { o.IMDSEndpoint = "169.254.169.254" }, `IMDSEndpoint "169.254.169.254" must use http or https`},
		{"empty tag key", func(o *Options) { o.ManagedTagKey = "" }, "ManagedTagKey is empty"},
		{"instance tag", func(o *Options) { o.InstanceTagKey, o.InstanceTagValue = DefaultInstanceTagKey, "c1" }, ""},
		{"instance tag value without key", func(o *Options) { o.InstanceTagValue = "c1" }, `InstanceTagValue "c1" is set without InstanceTagKey`},
		{"instance tag key too long", func(o *Options) { o.InstanceTagKey = strings.Repeat("k", 129) }, "InstanceTagKey"},
		{"instance tag value too long", func(o *Options) {
			o.InstanceTagKey, o.InstanceTagValue = DefaultInstanceTagKey, strings.Repeat("v", 257)
		}, "InstanceTagValue"},
		{"zero attempts", func(o *Options) { o.MaxAttempts = 0 }, "MaxAttempts 0 must be at least 1"},
		{"negative read attempts", func(o *Options) { o.ReadMaxAttempts = -1 }, "ReadMaxAttempts -1"},
		{"retry base", func(o *Options) { o.RetryBaseDelay = -time.Millisecond }, "RetryBaseDelay -1ms"},
		{"contract-only fields: added ones zero", func(o *Options) {
			o.ReadMaxAttempts, o.RetryBaseDelay, o.RetryMaxDelay, o.Wait.StuckDetaching = 0, 0, 0, 0
		}, ""},
		{"retry max below base", func(o *Options) { o.RetryMaxDelay = time.Millisecond }, "RetryMaxDelay 1ms must be at least RetryBaseDelay 1s"},
		{"wait initial", func(o *Options) { o.Wait.Initial = 0 }, "Wait.Initial 0s"},
		{"wait max", func(o *Options) { o.Wait.Max = time.Millisecond }, "Wait.Max 1ms must be at least Wait.Initial 250ms"},
		{"wait factor", func(o *Options) { o.Wait.Factor = 0.5 }, "Wait.Factor 0.5"},
		{"stuck attaching", func(o *Options) { o.Wait.StuckAttaching = 0 }, "Wait.StuckAttaching 0s"},
		{"stuck detaching", func(o *Options) { o.Wait.StuckDetaching = -time.Second }, "Wait.StuckDetaching -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Region = "us-east-1"
			tc.mod(&o)
			err := o.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	_, err := New(t.Context(), DefaultOptions())
	require.ErrorContains(t, err, "Region is required")
}

func TestJitterBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{1, 1, 10 * time.Millisecond},
		{2, 1, 20 * time.Millisecond},
		{3, 0.5, 20 * time.Millisecond},
		{10, 1, 100 * time.Millisecond}, // capped
		{4, 0, 0},
	} {
		got := jitterBackoff(tc.attempt, 10*time.Millisecond, 100*time.Millisecond, tc.r)
		require.Equal(t, tc.want, got, "attempt %d r %g: got %s want %s", tc.attempt, tc.r, got, tc.want)
	}
}

// A caller's own *http.Client is used as is (AWS_CA_BUNDLE, when set in the
// environment, must not make New fail).
func TestNewWithHTTPClient(t *testing.T) {
	e := newEnv(t, pairSeed(), nil, func(o *Options) {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	})
	vols, err := e.c.ManagedVolumes(testCtx(t, 5*time.Second))
	require.NoError(t, err)
	require.Len(t, vols, 3)
}
