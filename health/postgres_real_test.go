package health

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// probeRounds is how many probes each quiet-log check sends.
const probeRounds = 20

// TestProbesAgainstRealPostgres runs the probes against a real PostgreSQL 15, first with
// ssl on and trust authentication, then reloaded with ssl off and scram-sha-256 over
// TCP, and proves from the server log that none of them leaves a line.
func TestProbesAgainstRealPostgres(t *testing.T) {
	srv := startPostgres(t, true)

	quiet := func(t *testing.T, name string, probe func(ctx context.Context) error) {
		t.Helper()
		srv.settle(t) // the last check's marker connection included
		before := srv.logSize(t)
		for i := range probeRounds {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			err := probe(ctx)
			cancel()
			require.NoError(t, err, "probe %d", i)
		}
		srv.settle(t)
		marker := srv.mark(t, name)
		lines := srv.newLogLines(t, before, marker)
		require.Len(t, lines, 1, "after %d probes the log should hold only the marker line, got:\n%s", probeRounds, strings.Join(lines, "\n"))
		require.Contains(t, lines[0], marker)
	}

	t.Run("log check sees a cancel request", func(t *testing.T) {
		// The control: the method below must be able to see a logged probe. A
		// CancelRequest for a made-up PID is logged, which is why no probe uses it.
		srv.settle(t) // the last check's marker connection included
		before := srv.logSize(t)
		conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
		require.NoError(t, err)
		req := make([]byte, 16)
		binary.BigEndian.PutUint32(req[0:], 16)
		binary.BigEndian.PutUint32(req[4:], 80877102)
		binary.BigEndian.PutUint32(req[8:], 999999)
		binary.BigEndian.PutUint32(req[12:], 12345)
		_, err = conn.Write(req)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err = io.Copy(io.Discard, conn) // the server closes without answering
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		srv.settle(t)
		lines := srv.newLogLines(t, before, srv.mark(t, "cancel"))
		require.Len(t, lines, 2, "want the cancel line and the marker, got:\n%s", strings.Join(lines, "\n"))
		require.Contains(t, lines[0], "cancel request")
		t.Logf("a cancel request logs: %s", lines[0])
	})

	t.Run("closing right after S is logged", func(t *testing.T) {
		// Why ProbePostgres completes the TLS handshake when the server says 'S'.
		srv.settle(t) // the last check's marker connection included
		before := srv.logSize(t)
		conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
		require.NoError(t, err)
		req, err := (&pgproto3.SSLRequest{}).Encode(nil)
		require.NoError(t, err)
		_, err = conn.Write(req)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		var b [1]byte
		_, err = io.ReadFull(conn, b[:])
		require.NoError(t, err)
		require.Equal(t, byte('S'), b[0])
		require.GreaterOrEqual(t, srv.backends(t), 1, "the backend of the open connection is counted, so settle waits for it")
		require.NoError(t, conn.Close())
		srv.settle(t)
		lines := srv.newLogLines(t, before, srv.mark(t, "bare_s"))
		require.Len(t, lines, 2, "want the ssl complaint and the marker, got:\n%s", strings.Join(lines, "\n"))
		require.Contains(t, lines[0], "SSL")
		t.Logf("closing after 'S' logs: %s", lines[0])
	})

	t.Run("ssl on: ProbePostgres handshakes and logs nothing", func(t *testing.T) {
		answer, err := probeSSL(t.Context(), nil, srv.Addr)
		require.NoError(t, err)
		require.Equal(t, byte('S'), answer, "got %q want 'S'", answer)
		quiet(t, "ssl_on", func(ctx context.Context) error { return ProbePostgres(ctx, srv.Addr) })
	})

	t.Run("trust: ProbePostgresReady sees AuthenticationOk and logs nothing", func(t *testing.T) {
		auth, err := probeReady(t.Context(), nil, srv.Addr)
		require.NoError(t, err)
		require.Equal(t, uint32(pgproto3.AuthTypeOk), auth)
		quiet(t, "trust", func(ctx context.Context) error { return ProbePostgresReady(ctx, srv.Addr) })
	})

	srv.writeProbeConf(t, false)
	srv.writeHBA(t, "scram-sha-256")
	srv.reload(t)
	waitFor(t, 10*time.Second, "ssl off and scram after reload", func() bool {
		answer, err := probeSSL(t.Context(), nil, srv.Addr)
		if err != nil || answer != 'N' {
			return false
		}
		auth, err := probeReady(t.Context(), nil, srv.Addr)
		return err == nil && auth == pgproto3.AuthTypeSASL
	})

	t.Run("ssl off: ProbePostgres sees N and logs nothing", func(t *testing.T) {
		quiet(t, "ssl_off", func(ctx context.Context) error { return ProbePostgres(ctx, srv.Addr) })
	})

	t.Run("scram: ProbePostgresReady sees a password request and logs nothing", func(t *testing.T) {
		quiet(t, "scram", func(ctx context.Context) error { return ProbePostgresReady(ctx, srv.Addr) })
	})

	t.Run("default deadline without a context deadline", func(t *testing.T) {
		require.NoError(t, ProbePostgres(t.Context(), srv.Addr))
		require.NoError(t, ProbePostgresReady(t.Context(), srv.Addr))
	})
}
