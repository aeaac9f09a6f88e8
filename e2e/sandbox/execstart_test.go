package sandbox

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/fleetsim"
)

func unit(name string, service ...string) fleetsim.UnitFile {
	u := fleetsim.UnitFile{Name: name}
	for i := 0; i+1 < len(service); i += 2 {
		u.Options = append(u.Options, fleetsim.UnitOption{Section: "Service", Name: service[i], Value: service[i+1]})
	}
	return u
}

func TestParseService(t *testing.T) {
	env := []string{"SANDBOX_BIN=/opt/bin/sb", "HOSTNAME=core1"}
	tests := []struct {
		name    string
		unit    fleetsim.UnitFile
		want    serviceSpec
		wantErr string
	}{
		{
			name: "specifiers and variables",
			unit: unit("postgres@vol-0123abcd.service", "ExecStart", "${SANDBOX_BIN} exec-postgres --volume %i --unit %n --prefix %p",
				"Restart", "on-failure", "RestartSec", "2", "KillSignal", "SIGINT", "TimeoutStopSec", "15"),
			want: serviceSpec{
				argv:    []string{"/opt/bin/sb", "exec-postgres", "--volume", "vol-0123abcd", "--unit", "postgres@vol-0123abcd.service", "--prefix", "postgres"},
				restart: "on-failure", restartDelay: 2 * time.Second, stopTimeout: 15 * time.Second, killSignal: syscall.SIGINT,
			},
		},
		{
			name: "quotes, escapes and ignored failure",
			unit: unit("x.service", "ExecStart", `-/bin/sh -c "echo \"a b\"; exit 1" 'lit $HOSTNAME' 100%%`),
			want: serviceSpec{
				argv:          []string{"/bin/sh", "-c", `echo "a b"; exit 1`, "lit core1", "100%"},
				ignoreFailure: true, restart: "no", restartDelay: 100 * time.Millisecond, stopTimeout: 90 * time.Second, killSignal: syscall.SIGTERM,
			},
		},
		{name: "relative command", unit: unit("x.service", "ExecStart", "sleep 1"), wantErr: "absolute path"},
		{name: "no ExecStart", unit: unit("x.service"), wantErr: "exactly one ExecStart"},
		{name: "bad Restart", unit: unit("x.service", "ExecStart", "/bin/true", "Restart", "sometimes"), wantErr: `Restart="sometimes"`},
		{name: "bad KillSignal", unit: unit("x.service", "ExecStart", "/bin/true", "KillSignal", "SIGWINCH"), wantErr: "KillSignal"},
		{name: "bad RestartSec", unit: unit("x.service", "ExecStart", "/bin/true", "RestartSec", "soon"), wantErr: "RestartSec"},
		{name: "unterminated quote", unit: unit("x.service", "ExecStart", `/bin/sh -c "oops`), wantErr: "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseService(tt.unit, env)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "got %+v want %+v", got, tt.want)
		})
	}
}
