package ec2sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"
)

// do sends a request to the test surface and returns status and body.
func (e *env) do(method, path, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx(e.t), method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, string(b)
}

func TestSimHTTPSurface(t *testing.T) {
	e := newEnv(t, nil)
	seed := `{"instances":[{"id":"` + i1 + `","az":"us-east-1a","privateIp":"127.0.1.1","state":"running"},
		{"id":"` + i2 + `","az":"us-east-1a","state":"running"}],
		"volumes":[{"id":"` + v1 + `","az":"us-east-1a","size":50,"attachment":{"instanceId":"` + i1 + `","device":"/dev/xvdf"}}]}`
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"seed", "POST", "/_sim/seed", seed, 200, `"volumes":1`},
		{"seed again", "POST", "/_sim/seed", seed, 400, "already exists"},
		{"seed unknown field", "POST", "/_sim/seed", `{"machines":[]}`, 400, `unknown field \"machines\"`},
		{"state", "POST", "/_sim/instances/" + i2 + "/state", `{"state":"stopped"}`, 200, `"state":"stopped"`},
		{"state bad value", "POST", "/_sim/instances/" + i2 + "/state", `{"state":"napping"}`, 400, `\"napping\"`},
		{"state unknown field", "POST", "/_sim/instances/" + i2 + "/state", `{"state":"running","now":true}`, 400, `unknown field \"now\"`},
		{"state unknown instance", "POST", "/_sim/instances/" + instID(99) + "/state", `{"state":"running"}`, 404, instID(99)},
		{"state back to running", "POST", "/_sim/instances/" + i2 + "/state", `{"state":"running"}`, 200, `"running"`},
		{"status", "POST", "/_sim/instances/" + i1 + "/status", `{"instanceStatus":"impaired","systemStatus":"ok"}`, 200, i1},
		{"status bad value", "POST", "/_sim/instances/" + i1 + "/status", `{"instanceStatus":"sad"}`, 400, `\"sad\"`},
		{"status trailing data", "POST", "/_sim/instances/" + i1 + "/status", `{"instanceStatus":"ok"}{}`, 400, "trailing data"},
		{"fault bad kind", "POST", "/_sim/faults", `{"kind":"meteor"}`, 400, `\"meteor\"`},
		{"fault bad duration", "POST", "/_sim/faults", `{"kind":"latency","latency":"soon"}`, 400, `latency: \"soon\"`},
		{"fault unknown field", "POST", "/_sim/faults", `{"kind":"throttle","every":2}`, 400, `unknown field \"every\"`},
		{"delete unknown fault", "DELETE", "/_sim/faults/fault-999", "", 404, "fault-999"},
		{"wrong method", "PUT", "/_sim/journal", "", 404, "no test endpoint PUT /_sim/journal"},
		{"unknown path", "GET", "/_sim/nothing", "", 404, "no test endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(tc.method, tc.path, tc.body)
			require.Equal(t, tc.status, status, body)
			require.Contains(t, body, tc.contains)
		})
	}

	t.Run("faults arm, fire and disarm", func(t *testing.T) {
		status, body := e.do("POST", "/_sim/faults", `{"kind":"throttle","action":"DescribeVolumes","sticky":true,"retryAfter":"250ms"}`)
		require.Equal(t, http.StatusCreated, status, body)
		var armed struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(body), &armed))
		require.NotEmpty(t, armed.ID)
		_, err := e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{})
		code, _ := apiCode(t, err)
		require.Equal(t, "RequestLimitExceeded", code)
		status, _ = e.do("DELETE", "/_sim/faults/"+armed.ID, "")
		require.Equal(t, http.StatusNoContent, status)
		_, err = e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{})
		require.NoError(t, err)
		e.do("POST", "/_sim/faults", `{"kind":"internal-error","sticky":true}`)
		status, _ = e.do("DELETE", "/_sim/faults", "")
		require.Equal(t, http.StatusNoContent, status)
		_, err = e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{})
		require.NoError(t, err)
	})

	t.Run("journal and volumes", func(t *testing.T) {
		status, body := e.do("GET", "/_sim/journal", "")
		require.Equal(t, http.StatusOK, status)
		var calls []Call
		require.NoError(t, json.Unmarshal([]byte(body), &calls))
		require.Len(t, calls, 3)
		require.Equal(t, "DescribeVolumes", calls[0].Action)
		require.Equal(t, 503, calls[0].Status)
		require.Equal(t, "RequestLimitExceeded", calls[0].Code)
		require.Equal(t, []string{"DescribeVolumes"}, calls[0].Params["Action"])
		require.NotEmpty(t, calls[0].RequestID)
		require.Equal(t, 1, calls[0].Attempt)
		status, _ = e.do("DELETE", "/_sim/journal", "")
		require.Equal(t, http.StatusNoContent, status)
		require.Empty(t, e.sim.Journal())

		status, body = e.do("GET", "/_sim/volumes", "")
		require.Equal(t, http.StatusOK, status)
		var vols []VolumeInfo
		require.NoError(t, json.Unmarshal([]byte(body), &vols))
		require.Len(t, vols, 1)
		require.Equal(t, v1, vols[0].ID)
		require.Equal(t, "in-use", vols[0].State)
		require.Equal(t, "attached", vols[0].Attachments[0].State)
		require.Equal(t, i1, vols[0].Attachments[0].InstanceID)
	})
}
