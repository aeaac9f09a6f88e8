package health

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// DefaultProbeTimeout bounds a Postgres probe whose context carries no deadline.
const DefaultProbeTimeout = 2 * time.Second

// closeGrace is how long a probe waits, after it has its answer, for the server to close
// its end. Waiting lets the server see an orderly end (nothing to log) before the socket
// goes away; Postgres closes within microseconds.
const closeGrace = 250 * time.Millisecond

// maxMessageBody caps the first server message a readiness probe will read. An
// authentication request or an ErrorResponse is a few hundred bytes.
const maxMessageBody = 16 << 10

// ProbeUser, ProbeDatabase and ProbeApplicationName are what ProbePostgresReady puts in
// its startup message, so that the connection is recognisable in pg_stat_activity.
const (
	ProbeUser            = "postgres"
	ProbeDatabase        = "postgres"
	ProbeApplicationName = "volfailover-probe"
)

// SQLSTATECannotConnectNow is the code of "the database system is starting up",
// "is shutting down" and "is in recovery mode".
const SQLSTATECannotConnectNow = "57P03"

// ErrNotReady is returned by ProbePostgresReady when the postmaster answers but the
// database does not accept connections yet (SQLSTATE 57P03).
var ErrNotReady = errors.New("postgres not ready")

// ServerError is an ErrorResponse sent by the server in answer to a startup message.
type ServerError struct {
	Severity, Code, Message string
}

// Error gives the severity, message and SQLSTATE, as psql shows them.
func (e *ServerError) Error() string {
	return fmt.Sprintf("%s: %s (SQLSTATE %s)", e.Severity, e.Message, e.Code)
}

// ProbePostgres proves that the postmaster at addr answers the wire protocol, without
// credentials and without leaving a line in the server log. It sends an SSLRequest and
// expects the one-byte answer 'S' or 'N'. After 'S' it completes a TLS handshake and
// closes it cleanly, because a server left waiting for a handshake that never comes logs
// "could not accept SSL connection". It never sends a CancelRequest, which the server
// logs. The answer comes even while the database is still recovering: it proves the
// postmaster lives, not that the database serves (see ProbePostgresReady).
func ProbePostgres(ctx context.Context, addr string) error {
	_, err := probeSSL(ctx, nil, addr)
	return err
}

// PostgresProber probes from a chosen source address. A host with several
// addresses (or the sandbox's hosts, one loopback address each) then sends
// its probes from its own address, so a network fault between two hosts
// cuts exactly their probes.
type PostgresProber struct {
	// Source is the local address to dial from; nil lets the system choose.
	Source net.IP
}

// Probe is ProbePostgres from p.Source.
func (p PostgresProber) Probe(ctx context.Context, addr string) error {
	_, err := probeSSL(ctx, p.Source, addr)
	return err
}

// Ready is ProbePostgresReady from p.Source.
func (p PostgresProber) Ready(ctx context.Context, addr string) error {
	_, err := probeReady(ctx, p.Source, addr)
	return err
}

// probeSSL is ProbePostgres, also returning the server's answer byte.
func probeSSL(ctx context.Context, src net.IP, addr string) (byte, error) {
	ctx, cancel := withProbeDeadline(ctx)
	defer cancel()
	conn, stop, err := dialProbe(ctx, src, addr)
	if err != nil {
		return 0, fmt.Errorf("probe postgres %s: %w", addr, err)
	}
	defer stop()
	defer func() { _ = conn.Close() }()

	req, err := (&pgproto3.SSLRequest{}).Encode(nil)
	if err != nil {
		return 0, fmt.Errorf("probe postgres %s: encode ssl request: %w", addr, err)
	}
	if _, err := conn.Write(req); err != nil {
		return 0, fmt.Errorf("probe postgres %s: send ssl request: %w", addr, ioErr(ctx, err))
	}
	var answer [1]byte
	if _, err := io.ReadFull(conn, answer[:]); err != nil {
		if closedByServer(err) {
			return 0, fmt.Errorf("probe postgres %s: server closed the connection without answering the ssl request: %w", addr, err)
		}
		return 0, fmt.Errorf("probe postgres %s: read ssl answer: %w", addr, ioErr(ctx, err))
	}
	switch answer[0] {
	case 'N':
		closePolitely(ctx, conn)
		return 'N', nil
	case 'S':
		// Only liveness is checked and nothing is sent over the session, so the server's
		// certificate is not verified.
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			return 'S', fmt.Errorf("probe postgres %s: tls handshake after 'S': %w", addr, ioErr(ctx, err))
		}
		closePolitely(ctx, tc)
		return 'S', nil
	default:
		return answer[0], fmt.Errorf("probe postgres %s: ssl request answered with byte 0x%02x %q, want 'S' or 'N'",
			addr, answer[0], answer[0])
	}
}

// ProbePostgresReady reports whether the database at addr accepts connections, as
// pg_isready does: it sends a startup message (protocol 3.0, user and database
// "postgres") and reads the first answer. Any authentication request, AuthenticationOk
// included, means ready; an ErrorResponse with SQLSTATE 57P03 wraps ErrNotReady and
// carries the server's message; any other ErrorResponse is a *ServerError. No password
// is ever sent: after an authentication request the connection is closed, after
// AuthenticationOk a Terminate is sent first. Neither leaves a line in the server log.
func ProbePostgresReady(ctx context.Context, addr string) error {
	_, err := probeReady(ctx, nil, addr)
	return err
}

// probeReady is ProbePostgresReady, also returning the authentication type the server
// asked for.
func probeReady(ctx context.Context, src net.IP, addr string) (uint32, error) {
	ctx, cancel := withProbeDeadline(ctx)
	defer cancel()
	conn, stop, err := dialProbe(ctx, src, addr)
	if err != nil {
		return 0, fmt.Errorf("probe postgres readiness %s: %w", addr, err)
	}
	defer stop()
	defer func() { _ = conn.Close() }()

	startup := &pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{
			"user":             ProbeUser,
			"database":         ProbeDatabase,
			"application_name": ProbeApplicationName,
		},
	}
	msg, err := startup.Encode(nil)
	if err != nil {
		return 0, fmt.Errorf("probe postgres readiness %s: encode startup message: %w", addr, err)
	}
	if _, err := conn.Write(msg); err != nil {
		return 0, fmt.Errorf("probe postgres readiness %s: send startup message: %w", addr, ioErr(ctx, err))
	}
	typ, body, err := readMessage(conn)
	if err != nil {
		return 0, fmt.Errorf("probe postgres readiness %s: read answer to startup message: %w", addr, ioErr(ctx, err))
	}
	switch typ {
	case 'R':
		if len(body) < 4 {
			return 0, fmt.Errorf("probe postgres readiness %s: authentication request of %d bytes, want at least 4", addr, len(body))
		}
		auth := binary.BigEndian.Uint32(body)
		if auth == pgproto3.AuthTypeOk {
			term, err := (&pgproto3.Terminate{}).Encode(nil)
			if err == nil {
				_, _ = conn.Write(term)
			}
		}
		closePolitely(ctx, conn)
		return auth, nil
	case 'E':
		var er pgproto3.ErrorResponse
		if err := er.Decode(body); err != nil {
			return 0, fmt.Errorf("probe postgres readiness %s: decode error response: %w", addr, err)
		}
		se := &ServerError{Severity: er.Severity, Code: er.Code, Message: er.Message}
		if se.Code == SQLSTATECannotConnectNow {
			return 0, fmt.Errorf("probe postgres readiness %s: %w: %w", addr, ErrNotReady, se)
		}
		return 0, fmt.Errorf("probe postgres readiness %s: server refused the startup: %w", addr, se)
	default:
		return 0, fmt.Errorf("probe postgres readiness %s: first message has type 0x%02x %q, want 'R' (authentication) or 'E' (error)",
			addr, typ, typ)
	}
}

// readMessage reads one backend message: a type byte, a length that counts itself, a body.
func readMessage(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if closedByServer(err) {
			return 0, nil, fmt.Errorf("server closed the connection without answering: %w", err)
		}
		return 0, nil, err
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[1:])))
	if n < 4 || n-4 > maxMessageBody {
		return hdr[0], nil, fmt.Errorf("message type 0x%02x %q has length %d, want 4..%d", hdr[0], hdr[0], n, maxMessageBody+4)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return hdr[0], nil, fmt.Errorf("read body of message type %q: %w", hdr[0], err)
	}
	return hdr[0], body, nil
}

// closedByServer reports whether a read failed because the server closed the connection.
// A server that closes without reading what the probe sent makes its kernel answer with
// a reset rather than an orderly end, depending on whether the probe's bytes arrived
// before the close; which of the two the probe sees is a race, so both mean the same. An
// end in the middle of a message (io.ErrUnexpectedEOF) is a close too.
func closedByServer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// withProbeDeadline gives ctx the default probe deadline when it has none.
func withProbeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultProbeTimeout)
}

// dialProbe connects to addr and ties the connection's deadline to ctx: the deadline is
// set from ctx, and cancelling ctx unblocks any read or write at once. stop releases the
// tie.
func dialProbe(ctx context.Context, src net.IP, addr string) (net.Conn, func() bool, error) {
	var d net.Dialer
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", ioErr(ctx, err))
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			_ = conn.Close()
			return nil, nil, fmt.Errorf("set deadline: %w", err)
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return conn, stop, nil
}

// closeWriter is a connection whose sending half can be closed alone (TCP, TLS).
type closeWriter interface {
	net.Conn
	CloseWrite() error
}

// closePolitely ends the conversation so that the server sees an orderly end: it closes
// the sending half (a FIN, or a TLS close_notify), then reads until the server closes
// its end or closeGrace passes. The caller still closes conn.
func closePolitely(ctx context.Context, conn net.Conn) {
	cw, ok := conn.(closeWriter)
	if !ok {
		return
	}
	if err := cw.CloseWrite(); err != nil {
		return
	}
	grace := time.Now().Add(closeGrace)
	if dl, ok := ctx.Deadline(); ok && dl.Before(grace) {
		grace = dl
	}
	if ctx.Err() != nil || conn.SetReadDeadline(grace) != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(conn, maxMessageBody))
}

// ioErr adds the context's error to an I/O error caused by the context ending, so callers
// can tell a deadline from a refusal with errors.Is.
func ioErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil {
		// The connection's deadline is the context's, and its timer may fire first.
		var ne net.Error
		if dl, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}
