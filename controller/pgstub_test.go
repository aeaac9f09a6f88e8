package controller

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// pgStub stands in for Postgres on one host address: it answers an SSLRequest
// with 'N' and a protocol 3.0 startup with AuthenticationOk + ReadyForQuery,
// which is what health.ProbePostgres and ProbePostgresReady look for.
type pgStub struct {
	ln   net.Listener
	port int
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startPGStub(addr string) (*pgStub, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &pgStub{ln: ln, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns[conn] = true
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer func() {
					p.mu.Lock()
					delete(p.conns, conn)
					p.mu.Unlock()
					conn.Close()
				}()
				serveStub(conn)
			}()
		}
	}()
	return p, nil
}

func serveStub(conn net.Conn) {
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(conn, hdr[:4]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		if n < 8 || n > 10000 {
			return
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(conn, body); err != nil {
			return
		}
		switch code := binary.BigEndian.Uint32(body[:4]); code {
		case 80877103: // SSLRequest
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return
			}
		case 196608: // protocol 3.0 startup
			auth := []byte{'R', 0, 0, 0, 8, 0, 0, 0, 0}
			ready := []byte{'Z', 0, 0, 0, 5, 'I'}
			_, _ = conn.Write(append(auth, ready...))
			_, _ = io.Copy(io.Discard, conn) // until Terminate + close
			return
		default:
			return
		}
	}
}

// Close stops listening and waits for open connections to end.
func (p *pgStub) Close() {
	if err := p.ln.Close(); err != nil && errors.Is(err, net.ErrClosed) {
		return // already closed
	}
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
