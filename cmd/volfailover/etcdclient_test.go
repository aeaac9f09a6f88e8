package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/controller"
)

// silentProxy forwards TCP to target until silenced; from then on it keeps
// every connection open and forwards nothing, as a member cut off by a
// firewall drop looks to a client: no reset, no answer.
type silentProxy struct {
	ln     net.Listener
	target string
	silent atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startSilentProxy(t *testing.T, target string) *silentProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &silentProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *silentProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies until silenced, then reads and drops.
func (p *silentProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *silentProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestEtcdClientLeavesASilentMember: the controller's etcd client is given
// two endpoints, one of which goes silent (a member cut off); its requests
// must move to the other endpoint instead of waiting on the silent one until
// TCP gives up. Every request is bounded by 20 s; without keepalive pings
// those sent to the silent endpoint would all run into that bound.
func TestEtcdClientLeavesASilentMember(t *testing.T) {
	proxy := startSilentProxy(t, strings.TrimPrefix(testEtcd, "http://"))
	o := controller.DefaultOptions()
	o.EtcdEndpoints = []string{"http://" + proxy.ln.Addr().String(), testEtcd}
	o.SessionTTL = 3 * time.Second
	cli, err := etcdClient(o)
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Both endpoints in use before the silence.
	for i := range 4 {
		_, err := cli.Put(ctx, "/etcdclient-test/warm", strings.Repeat("x", i))
		require.NoError(t, err, "put %d before the silence", i)
	}
	proxy.silent.Store(true)
	for i := range 6 {
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
			_, err = cli.Put(pctx, "/etcdclient-test/after", strings.Repeat("y", i))
			bound := pctx.Err()
			pcancel()
			require.NoError(t, bound, "put %d (attempt %d) ran into its 20 s bound on the silent endpoint", i, attempt)
			if err == nil {
				break
			}
		}
		require.NoError(t, err, "put %d after the silence", i)
	}
}
