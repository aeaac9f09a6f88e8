package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"time"
)

// Protocol codes of the PostgreSQL startup phase.
const (
	sslRequestCode  = 80877103
	protocolVersion = 196608 // 3.0
	maxStartupLen   = 10000
)

// StandIn answers the controller's Postgres probes on one address the way a
// ready PostgreSQL does: 'N' to an SSLRequest, AuthenticationOk and
// ReadyForQuery to a startup message. It stands in for the database of a
// simulated host, whose only job in the scale benchmark is to look alive.
type StandIn struct {
	ln     net.Listener
	log    *ProbeLog
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// ListenStandIn starts a stand-in on addr; log (optional) records the arrival
// time of every connection.
func ListenStandIn(ctx context.Context, addr string, log *ProbeLog) (*StandIn, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen postgres stand-in on %s: %w", addr, err)
	}
	if log == nil {
		log = &ProbeLog{}
	}
	s := &StandIn{ln: ln, log: log, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listening address.
func (s *StandIn) Addr() string { return s.ln.Addr().String() }

// Close stops listening, drops open connections and waits for every handler:
// the host is gone.
func (s *StandIn) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *StandIn) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.log.Add(time.Now(), remoteIP(c.RemoteAddr().String()))
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			serveStartup(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// serveStartup plays the server side of the startup phase and returns when
// the client is done or misbehaves.
func serveStartup(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	for {
		code, err := readStartup(c)
		if err != nil {
			return
		}
		switch code {
		case sslRequestCode:
			if _, err := c.Write([]byte{'N'}); err != nil {
				return
			}
		case protocolVersion:
			// AuthenticationOk, then ReadyForQuery (idle).
			msg := []byte{'R', 0, 0, 0, 8, 0, 0, 0, 0, 'Z', 0, 0, 0, 5, 'I'}
			if _, err := c.Write(msg); err != nil {
				return
			}
			// Wait for Terminate or the close.
			_, _ = io.Copy(io.Discard, c)
			return
		default:
			return
		}
	}
}

// readStartup reads one length-prefixed startup-phase message and returns its code.
func readStartup(r io.Reader) (uint32, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 8 || n > maxStartupLen {
		return 0, errors.New("startup message length out of range")
	}
	if _, err := io.CopyN(io.Discard, r, int64(n-8)); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(hdr[4:]), nil
}

// ProbeLog records when probes arrived and from which address, across many
// stand-ins and the health endpoint, so that the end of a reconcile round
// can be seen from outside. volfailover sends its probes from its host's
// private IP (health.HTTPProberOptions.Source, the Postgres probe's dialer),
// so the leader's probes are told apart from the follower's.
type ProbeLog struct {
	mu     sync.Mutex
	probes []probe
}

type probe struct {
	at  time.Time
	src string
}

// Add records one probe from the source IP src ("" if unknown).
func (p *ProbeLog) Add(t time.Time, src string) {
	p.mu.Lock()
	p.probes = append(p.probes, probe{at: t, src: src})
	p.mu.Unlock()
}

// Reset forgets every probe.
func (p *ProbeLog) Reset() {
	p.mu.Lock()
	p.probes = nil
	p.mu.Unlock()
}

// NthIn returns the arrival of the nth probe from src in [from, to), and
// false when fewer arrived (then the last one, or the zero time if none).
func (p *ProbeLog) NthIn(from, to time.Time, src string, n int) (time.Time, bool) {
	p.mu.Lock()
	var in []time.Time
	for _, pr := range p.probes {
		if pr.src == src && !pr.at.Before(from) && pr.at.Before(to) {
			in = append(in, pr.at)
		}
	}
	p.mu.Unlock()
	sort.Slice(in, func(i, j int) bool { return in[i].Before(in[j]) })
	switch {
	case n >= 1 && len(in) >= n:
		return in[n-1], true
	case len(in) > 0:
		return in[len(in)-1], false
	}
	return time.Time{}, false
}

// Between returns how many probes arrived in [from, to) and the last of them.
func (p *ProbeLog) Between(from, to time.Time) (n int, last time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.probes {
		if !pr.at.Before(from) && pr.at.Before(to) {
			n++
			if pr.at.After(last) {
				last = pr.at
			}
		}
	}
	return n, last
}

// remoteIP is the IP of a host:port address, "" if it has none.
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return host
}
