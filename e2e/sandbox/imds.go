package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// imdsIdentity is what one host's instance metadata service reports.
type imdsIdentity struct {
	InstanceID, AZ, Region, PrivateIP string
}

// imds is a host's EC2 instance metadata service (IMDSv2: a PUT for a
// session token, then GETs carrying it), serving only the identity paths
// volfailover reads. It listens on 127.0.0.1 rather than the host's address
// because the real IMDS is link-local and stays reachable in a network
// partition.
type imds struct {
	srv   *http.Server
	ln    net.Listener
	token string
	id    imdsIdentity
	done  chan struct{}
}

func startIMDS(id imdsIdentity) (*imds, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("imds for %s: %w", id.InstanceID, err)
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		ln.Close()
		return nil, fmt.Errorf("imds token: %w", err)
	}
	m := &imds{ln: ln, token: hex.EncodeToString(tok), id: id, done: make(chan struct{})}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(m.done)
		_ = m.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return m, nil
}

// URL is the endpoint to hand to the SDK's IMDS client.
func (m *imds) URL() string { return "http://" + m.ln.Addr().String() }

func (m *imds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ttl, err := strconv.Atoi(r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		if err != nil || ttl < 1 || ttl > 21600 {
			http.Error(w, "bad X-aws-ec2-metadata-token-ttl-seconds", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", strconv.Itoa(ttl))
		fmt.Fprint(w, m.token)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("X-Aws-Ec2-Metadata-Token") != m.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/latest/meta-data/instance-id":
		fmt.Fprint(w, m.id.InstanceID)
	case "/latest/meta-data/placement/availability-zone":
		fmt.Fprint(w, m.id.AZ)
	case "/latest/meta-data/placement/region":
		fmt.Fprint(w, m.id.Region)
	case "/latest/meta-data/local-ipv4":
		fmt.Fprint(w, m.id.PrivateIP)
	case "/latest/dynamic/instance-identity/document":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"instanceId": m.id.InstanceID, "availabilityZone": m.id.AZ,
			"region": m.id.Region, "privateIp": m.id.PrivateIP,
			"accountId": "000000000000", "architecture": "x86_64", "instanceType": "m5.large",
			"imageId": "ami-00000000", "version": "2017-09-30",
		})
	default:
		http.NotFound(w, r)
	}
}

// Close stops the server and waits for it.
func (m *imds) Close() {
	m.srv.Close()
	<-m.done
}
