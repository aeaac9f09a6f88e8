package health

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// pgBinDir holds the PostgreSQL 15 server binaries from Debian's postgresql-15 package.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// pgServer is a real PostgreSQL started for a test on 127.0.0.1 and a port of its own,
// with its unix socket in its own directory and its log (stderr) in a file.
type pgServer struct {
	Addr    string
	Port    int
	dir     string // the whole tree, removed at cleanup
	dataDir string
	sockDir string
	logPath string
	cred    *syscall.Credential // nil unless the test runs as root
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postmaster has exited
	waitErr error         // valid once exited is closed
}

// waitFor polls cond until it holds or timeout passes, failing the test with what it
// waited for.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, timeout, 20*time.Millisecond, "waited %s for %s", timeout, what)
}

// startPostgres runs initdb in a fresh directory and starts postgres on it. As root it
// runs both as the postgres system user, in a tree that user owns. With ssl, the server
// gets a self-signed certificate and ssl = on.
func startPostgres(t *testing.T, ssl bool) *pgServer {
	t.Helper()
	for _, bin := range []string{"initdb", "postgres"} {
		p := filepath.Join(pgBinDir, bin)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("real postgres tests need %s: %v", p, err)
		}
	}

	// os.MkdirTemp makes 0700 directories; the tree must be reachable by the postgres
	// user, so it is opened up and handed over.
	dir, err := os.MkdirTemp("", "volfailover-health-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	s := &pgServer{
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		sockDir: filepath.Join(dir, "sock"),
		logPath: filepath.Join(dir, "postgres.log"),
	}
	require.NoError(t, os.Mkdir(s.sockDir, 0o755))
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root: postgres refuses root, and the postgres system user is missing")
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		require.NoError(t, err)
		gid, err := strconv.ParseUint(u.Gid, 10, 32)
		require.NoError(t, err)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, p := range []string{dir, s.sockDir} {
			require.NoError(t, os.Chown(p, int(uid), int(gid)))
		}
	}

	initdb := s.command(t.Context(), "initdb", "-D", s.dataDir, "-U", "postgres", "--auth=trust",
		"--no-sync", "--locale=C", "-E", "UTF8", "--no-instructions")
	out, err := initdb.CombinedOutput()
	require.NoError(t, err, "initdb: %s", out)

	if ssl {
		s.writeCertificate(t)
	}
	s.writeProbeConf(t, ssl)
	conf, err := os.OpenFile(filepath.Join(s.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conf, "\ninclude 'probe.conf'\n")
	require.NoError(t, errors.Join(err, conf.Close()))

	// The port is found free and then handed to postgres; another process may take it in
	// between, so a failed bind is retried with a new port.
	for attempt := 1; ; attempt++ {
		err := s.start(t)
		if err == nil {
			return s
		}
		require.Less(t, attempt, 3, "start postgres: %v", err)
	}
}

// command builds a command for one of the server binaries, as the postgres user when
// running as root.
func (s *pgServer) command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(pgBinDir, bin), args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C", "TZ=UTC"}
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

// start launches the postmaster on a free port and waits until it accepts connections.
// It returns an error only for a lost race on the port.
func (s *pgServer) start(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.Port = l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))

	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	defer func() { _ = logf.Close() }()
	start := s.logSize(t)

	// Not CommandContext: the server is stopped by signal in cleanup, not killed.
	s.cmd = s.command(context.WithoutCancel(t.Context()), "postgres", "-D", s.dataDir, "-p", strconv.Itoa(s.Port))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	require.NoError(t, s.cmd.Start())
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	ready := false
	waitFor(t, 30*time.Second, "postgres to accept connections or exit", func() bool {
		select {
		case <-s.exited:
			return true
		default:
		}
		ready = strings.Contains(s.logSince(t, start), "database system is ready to accept connections")
		return ready
	})
	if !ready {
		text := s.logSince(t, start)
		if strings.Contains(text, "could not bind") || strings.Contains(text, "Address already in use") {
			return fmt.Errorf("port %d taken: %s", s.Port, text)
		}
		require.FailNow(t, "postgres exited at start", "%v: %s", s.waitErr, text)
	}
	t.Cleanup(func() { s.stop(t) })
	return nil
}

// stop asks for a fast shutdown and waits for it, killing the server if it hangs.
func (s *pgServer) stop(t *testing.T) {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		return
	case <-time.After(15 * time.Second):
	}
	t.Errorf("postgres did not stop within 15s of SIGINT; killing it")
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// reload makes the server re-read its configuration files.
func (s *pgServer) reload(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGHUP))
}

// writeProbeConf writes the settings the tests rely on; they are re-read on reload.
func (s *pgServer) writeProbeConf(t *testing.T, ssl bool) {
	t.Helper()
	onOff := map[bool]string{true: "on", false: "off"}[ssl]
	conf := strings.Join([]string{
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = '" + s.sockDir + "'",
		"log_connections = off",
		"log_disconnections = off",
		"logging_collector = off",
		"fsync = off",
		"ssl = " + onOff,
		"ssl_cert_file = 'server.crt'",
		"ssl_key_file = 'server.key'",
		"",
	}, "\n")
	s.writeDataFile(t, "probe.conf", []byte(conf), 0o644)
}

// writeHBA replaces pg_hba.conf: the unix socket always trusted, TCP with hostMethod.
func (s *pgServer) writeHBA(t *testing.T, hostMethod string) {
	t.Helper()
	hba := "local all all trust\nhost all all 127.0.0.1/32 " + hostMethod + "\n"
	s.writeDataFile(t, "pg_hba.conf", []byte(hba), 0o600)
}

// writeDataFile writes a file in the data directory, owned by the server's user.
func (s *pgServer) writeDataFile(t *testing.T, name string, data []byte, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(s.dataDir, name)
	require.NoError(t, os.WriteFile(p, data, mode))
	require.NoError(t, os.Chmod(p, mode))
	if s.cred != nil {
		require.NoError(t, os.Chown(p, int(s.cred.Uid), int(s.cred.Gid)))
	}
}

// writeCertificate gives the server a self-signed certificate for 127.0.0.1.
func (s *pgServer) writeCertificate(t *testing.T) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	s.writeDataFile(t, "server.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	s.writeDataFile(t, "server.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

func (s *pgServer) logSize(t *testing.T) int64 {
	t.Helper()
	fi, err := os.Stat(s.logPath)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return fi.Size()
}

func (s *pgServer) logSince(t *testing.T, off int64) string {
	t.Helper()
	b, err := os.ReadFile(s.logPath)
	require.NoError(t, err)
	if off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// mark makes the server write one known line: a startup on the trusted unix socket for
// a database that does not exist, answered and logged as FATAL. Once the line is in the
// log, every connection closed before the mark has been dealt with. It returns the
// marker, the database name.
// auxTitles are the process titles of the postmaster's fixed helpers; every other
// child serves (or is about to serve) a connection.
var auxTitles = []string{"checkpointer", "background writer", "walwriter",
	"autovacuum launcher", "autovacuum worker", "logical replication launcher", "archiver", "startup"}

// backends counts the postmaster's children that serve a connection.
func (s *pgServer) backends(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone since the listing
		}
		// The command name is in parentheses and may hold spaces; the parent's PID is
		// the second field after it.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) < 2 || f[1] != strconv.Itoa(s.cmd.Process.Pid) {
			continue
		}
		title, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if !slices.ContainsFunc(auxTitles, func(a string) bool { return strings.Contains(string(title), "postgres: "+a) }) {
			n++
		}
	}
	return n
}

// settle waits until the backends of connections the test closed have exited. A
// backend logs on its way out, after the client has gone, so a log read before
// then can miss its line or, worse, hand it to the next check.
func (s *pgServer) settle(t *testing.T) {
	t.Helper()
	waitFor(t, 10*time.Second, "every backend of a closed connection to exit", func() bool {
		return s.backends(t) == 0
	})
}

func (s *pgServer) mark(t *testing.T, name string) string {
	t.Helper()
	db := "volfailover_mark_" + name
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(s.sockDir, ".s.PGSQL."+strconv.Itoa(s.Port)))
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "postgres", "database": db}})
	require.NoError(t, fe.Flush())
	// Authentication (trusted) comes first, then the database lookup fails.
	for {
		msg, err := fe.Receive()
		require.NoError(t, err)
		switch m := msg.(type) {
		case *pgproto3.AuthenticationOk:
			continue
		case *pgproto3.ErrorResponse:
			require.Equal(t, "3D000", m.Code, "marker startup: %s", m.Message)
			return db
		default:
			require.FailNow(t, "marker startup", "got %T, want AuthenticationOk or ErrorResponse", msg)
		}
	}
}

// newLogLines returns the log lines written since off, once the marker has appeared.
func (s *pgServer) newLogLines(t *testing.T, off int64, marker string) []string {
	t.Helper()
	var text string
	waitFor(t, 10*time.Second, "marker "+marker+" in the postgres log", func() bool {
		text = s.logSince(t, off)
		return strings.Contains(text, marker)
	})
	return strings.Split(strings.TrimRight(text, "\n"), "\n")
}
