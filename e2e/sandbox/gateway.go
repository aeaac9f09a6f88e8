package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// gateway is a host's local TCP proxy to a shared service (etcd, fleet), on
// the host's own address, as a CoreOS host reaches etcd through its local
// proxy. Because it listens on the host's address, a firewall rule on that
// address cuts the host off from the service, which is how a partition ends
// the host's etcd session.
type gateway struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startGateway(listen, upstream string) (*gateway, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("gateway %s -> %s: %w", listen, upstream, err)
	}
	g := &gateway{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	g.wg.Add(1)
	go g.serve()
	return g, nil
}

// Addr is the listening address.
func (g *gateway) Addr() string { return g.ln.Addr().String() }

func (g *gateway) serve() {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		if !g.track(c) {
			c.Close()
			return
		}
		g.wg.Add(1)
		go g.pipe(c)
	}
}

// track registers c; false once the gateway is closing.
func (g *gateway) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns == nil {
		return false
	}
	g.conns[c] = struct{}{}
	return true
}

func (g *gateway) untrack(c net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, c)
}

func (g *gateway) pipe(down net.Conn) {
	defer g.wg.Done()
	defer g.untrack(down)
	defer down.Close()
	up, err := net.DialTimeout("tcp", g.upstream, 5*time.Second)
	if err != nil {
		return
	}
	if !g.track(up) {
		up.Close()
		return
	}
	defer g.untrack(up)
	defer up.Close()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			dst.Close()
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(up, down)
	go cp(down, up)
	<-done
	<-done
}

// Close stops accepting, closes every proxied connection and waits.
func (g *gateway) Close() {
	g.ln.Close()
	g.mu.Lock()
	for c := range g.conns {
		c.Close()
	}
	g.conns = nil
	g.mu.Unlock()
	g.wg.Wait()
}
