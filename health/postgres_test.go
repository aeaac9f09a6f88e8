package health

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// fakeServer accepts TCP connections on 127.0.0.1 and hands each to handle. What the
// handler reports goes to the returned channel. The listener and every handler are
// stopped and waited for at cleanup.
func fakeServer(t *testing.T, handle func(conn net.Conn, report func(string))) (string, <-chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	reports := make(chan string, 16)
	report := func(s string) {
		select {
		case reports <- s:
		default:
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { _ = conn.Close() }()
				handle(conn, report)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String(), reports
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// nextReport waits for what a fake server saw.
func nextReport(t *testing.T, reports <-chan string) string {
	t.Helper()
	select {
	case r := <-reports:
		return r
	case <-time.After(5 * time.Second):
		require.FailNow(t, "waited 5s for the fake server's report")
		return ""
	}
}

// readSSLRequest reads 8 bytes and reports whether they are an SSLRequest.
func readSSLRequest(conn net.Conn, report func(string)) bool {
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8)
	if _, err := io.ReadFull(conn, buf); err != nil {
		report("read ssl request: " + err.Error())
		return false
	}
	want := []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}
	if !bytes.Equal(buf, want) {
		report("ssl request bytes wrong")
		return false
	}
	return true
}

// afterAnswer reports how the client ended the conversation: "eof" for an orderly end.
func afterAnswer(conn net.Conn, report func(string)) {
	n, err := io.Copy(io.Discard, conn)
	switch {
	case err != nil:
		report("after answer: " + err.Error())
	case n > 0:
		report("after answer: unexpected bytes")
	default:
		report("eof")
	}
}

// holdUntilClientCloses never answers; it returns when the client gives up.
func holdUntilClientCloses(conn net.Conn, _ func(string)) {
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.Copy(io.Discard, conn)
}

// closeAtOnce closes without reading. Whether the probe then reads an orderly end or a
// reset depends on whether its request reached the server before the close: both must
// read as a server that closed.
func closeAtOnce(net.Conn, func(string)) {}

// closeInOrder closes with a FIN; called after the request was read, so that no unread
// byte turns the close into a reset and the probe reads io.EOF every time.
func closeInOrder(c net.Conn, _ func(string)) { _ = c.Close() }

// resetConn closes with a reset (SO_LINGER 0), as a server that aborts does; the probe
// reads ECONNRESET every time.
func resetConn(c net.Conn, report func(string)) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		report("not a tcp connection")
		return
	}
	if err := tc.SetLinger(0); err != nil {
		report("set linger: " + err.Error())
		return
	}
	_ = tc.Close()
}

// afterSSLRequest reads the SSLRequest and then runs end.
func afterSSLRequest(end func(net.Conn, func(string))) func(net.Conn, func(string)) {
	return func(c net.Conn, report func(string)) {
		if readSSLRequest(c, report) {
			end(c, report)
		}
	}
}

func TestProbePostgresFakeServers(t *testing.T) {
	cases := []struct {
		name    string
		handle  func(net.Conn, func(string))
		wantErr []string // substrings; none means success
		wantIs  error    // an error the chain must hold, if any
		report  string   // what the server must have seen, if anything
	}{
		{name: "answers N", handle: func(c net.Conn, report func(string)) {
			if readSSLRequest(c, report) {
				_, _ = c.Write([]byte{'N'})
				afterAnswer(c, report)
			}
		}, report: "eof"},
		{name: "answers E", handle: func(c net.Conn, report func(string)) {
			if readSSLRequest(c, report) {
				_, _ = c.Write([]byte("EFATAL"))
			}
		}, wantErr: []string{`byte 0x45 'E', want 'S' or 'N'`}},
		{name: "an http server", handle: func(c net.Conn, _ func(string)) {
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		}, wantErr: []string{"0x48 'H'"}},
		{name: "answers S then no tls", handle: func(c net.Conn, report func(string)) {
			if readSSLRequest(c, report) {
				_, _ = c.Write([]byte("Sgarbage that is no tls record"))
			}
		}, wantErr: []string{"tls handshake after 'S'"}},
		{name: "closes at once", handle: closeAtOnce, wantErr: []string{"closed the connection without answering"}},
		{name: "closes after the request", handle: afterSSLRequest(closeInOrder),
			wantErr: []string{"closed the connection without answering"}, wantIs: io.EOF},
		{name: "resets after the request", handle: afterSSLRequest(resetConn),
			wantErr: []string{"closed the connection without answering"}, wantIs: syscall.ECONNRESET},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, reports := fakeServer(t, tc.handle)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			err := ProbePostgres(ctx, addr)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				require.Contains(t, err.Error(), addr)
				for _, w := range tc.wantErr {
					require.Contains(t, err.Error(), w)
				}
			}
			if tc.report != "" {
				require.Equal(t, tc.report, nextReport(t, reports))
			}
		})
	}
}

// startupThen is a fake backend that checks the startup message and then runs answer.
func startupThen(answer func(be *pgproto3.Backend, c net.Conn, report func(string))) func(net.Conn, func(string)) {
	return func(c net.Conn, report func(string)) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		be := pgproto3.NewBackend(c, c)
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			report("receive startup: " + err.Error())
			return
		}
		sm, ok := msg.(*pgproto3.StartupMessage)
		if !ok || sm.ProtocolVersion != pgproto3.ProtocolVersion30 ||
			sm.Parameters["user"] != "postgres" || sm.Parameters["database"] != "postgres" ||
			sm.Parameters["application_name"] != "volfailover-probe" {
			report("startup message wrong")
			return
		}
		answer(be, c, report)
	}
}

func sendError(code, msg string) func(*pgproto3.Backend, net.Conn, func(string)) {
	return func(be *pgproto3.Backend, _ net.Conn, _ func(string)) {
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg})
		_ = be.Flush()
	}
}

func TestProbePostgresReadyFakeServers(t *testing.T) {
	cases := []struct {
		name     string
		handle   func(net.Conn, func(string))
		wantErr  []string
		notReady bool
		code     string // SQLSTATE of a *ServerError in the chain
		wantIs   error  // an error the chain must hold, if any
		report   string
	}{
		{name: "authentication ok then terminate", handle: startupThen(func(be *pgproto3.Backend, c net.Conn, report func(string)) {
			be.Send(&pgproto3.AuthenticationOk{})
			be.Send(&pgproto3.ParameterStatus{Name: "server_version", Value: "15"})
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			_ = be.Flush()
			msg, err := be.Receive()
			if err != nil {
				report("receive terminate: " + err.Error())
				return
			}
			if _, ok := msg.(*pgproto3.Terminate); !ok {
				report("got a message other than terminate")
				return
			}
			afterAnswer(c, report)
		}), report: "eof"},
		{name: "md5 password request, closed without terminate", handle: startupThen(func(be *pgproto3.Backend, c net.Conn, report func(string)) {
			be.Send(&pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 2, 3, 4}})
			_ = be.Flush()
			afterAnswer(c, report)
		}), report: "eof"},
		{name: "sasl request", handle: startupThen(func(be *pgproto3.Backend, _ net.Conn, _ func(string)) {
			be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
			_ = be.Flush()
		})},
		{name: "starting up", handle: startupThen(sendError("57P03", "the database system is starting up")),
			notReady: true, code: "57P03", wantErr: []string{"postgres not ready", "the database system is starting up"}},
		{name: "in recovery mode", handle: startupThen(sendError("57P03", "the database system is in recovery mode")),
			notReady: true, code: "57P03", wantErr: []string{"in recovery mode"}},
		{name: "no hba entry", handle: startupThen(sendError("28000", `no pg_hba.conf entry for host "127.0.0.1"`)),
			code: "28000", wantErr: []string{"server refused the startup", "SQLSTATE 28000"}},
		{name: "unexpected message", handle: startupThen(func(be *pgproto3.Backend, _ net.Conn, _ func(string)) {
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			_ = be.Flush()
		}), wantErr: []string{"type 0x5a 'Z'"}},
		{name: "absurd length", handle: startupThen(func(_ *pgproto3.Backend, c net.Conn, _ func(string)) {
			_, _ = c.Write([]byte{'E', 0x7f, 0xff, 0xff, 0xff})
		}), wantErr: []string{"has length 2147483647"}},
		{name: "truncated message", handle: startupThen(func(_ *pgproto3.Backend, c net.Conn, _ func(string)) {
			_, _ = c.Write([]byte{'E', 0, 0, 0, 100, 'S'})
		}), wantErr: []string{"read body of message type 'E'"}},
		{name: "short authentication request", handle: startupThen(func(_ *pgproto3.Backend, c net.Conn, _ func(string)) {
			_, _ = c.Write([]byte{'R', 0, 0, 0, 6, 0, 0})
		}), wantErr: []string{"authentication request of 2 bytes"}},
		{name: "closes at once", handle: closeAtOnce, wantErr: []string{"closed the connection without answering"}},
		{name: "closes after the startup", handle: startupThen(func(_ *pgproto3.Backend, c net.Conn, report func(string)) {
			closeInOrder(c, report)
		}), wantErr: []string{"closed the connection without answering"}, wantIs: io.EOF},
		{name: "resets after the startup", handle: startupThen(func(_ *pgproto3.Backend, c net.Conn, report func(string)) {
			resetConn(c, report)
		}), wantErr: []string{"closed the connection without answering"}, wantIs: syscall.ECONNRESET},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, reports := fakeServer(t, tc.handle)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			err := ProbePostgresReady(ctx, addr)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				require.Contains(t, err.Error(), addr)
				for _, w := range tc.wantErr {
					require.Contains(t, err.Error(), w)
				}
			}
			require.Equal(t, tc.notReady, errors.Is(err, ErrNotReady), "errors.Is(%v, ErrNotReady)", err)
			var se *ServerError
			if tc.code != "" {
				require.ErrorAs(t, err, &se)
				require.Equal(t, tc.code, se.Code)
				require.Equal(t, "FATAL", se.Severity)
			} else {
				require.False(t, errors.As(err, &se), "no server error expected in %v", err)
			}
			if tc.report != "" {
				require.Equal(t, tc.report, nextReport(t, reports))
			}
		})
	}
}

// TestProbesGiveUp covers the ways a probe must fail fast: an address nobody listens on,
// a server that never answers (the context's deadline holds), and a cancelled context.
func TestProbesGiveUp(t *testing.T) {
	probes := []struct {
		name  string
		probe func(context.Context, string) error
	}{
		{"ProbePostgres", ProbePostgres},
		{"ProbePostgresReady", ProbePostgresReady},
	}
	for _, p := range probes {
		t.Run(p.name+"/closed port", func(t *testing.T) {
			addr := closedPort(t)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			start := time.Now()
			err := p.probe(ctx, addr)
			require.ErrorContains(t, err, "connection refused")
			require.ErrorContains(t, err, "dial")
			require.Less(t, time.Since(start), time.Second, "a refused dial should fail at once")
		})
		t.Run(p.name+"/never answers", func(t *testing.T) {
			addr, _ := fakeServer(t, holdUntilClientCloses)
			const deadline = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			err := p.probe(ctx, addr)
			elapsed := time.Since(start)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.GreaterOrEqual(t, elapsed, deadline-10*time.Millisecond, "gave up before the deadline")
			require.Less(t, elapsed, deadline+time.Second, "the deadline was not honoured")
		})
		t.Run(p.name+"/cancelled while waiting", func(t *testing.T) {
			addr, _ := fakeServer(t, holdUntilClientCloses)
			ctx, cancel := context.WithCancel(t.Context())
			timer := time.AfterFunc(200*time.Millisecond, cancel)
			defer timer.Stop()
			start := time.Now()
			err := p.probe(ctx, addr)
			require.ErrorIs(t, err, context.Canceled)
			require.Less(t, time.Since(start), DefaultProbeTimeout, "cancel should end the probe before the default deadline")
		})
	}
}
