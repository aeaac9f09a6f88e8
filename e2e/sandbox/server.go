package sandbox

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// httpServer is an http.Server on a loopback listener, owned by the sandbox.
type httpServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

func serveHTTP(addr string, h http.Handler) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := &httpServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // http.ErrServerClosed after Close
	}()
	return s, nil
}

// URL is http://<listen address>.
func (s *httpServer) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server, drops open connections and waits for Serve.
func (s *httpServer) Close() {
	s.srv.Close()
	<-s.done
}
