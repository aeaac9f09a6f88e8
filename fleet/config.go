package fleet

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/utils/clock"
)

// DefaultEndpoint is where fleetd listens by default: its systemd-activated unix socket.
const DefaultEndpoint = "unix:///var/run/fleet.sock"

// unixHost is the placeholder host name put in request URLs sent over a unix socket.
const unixHost = "fleet"

// Config holds what NewClient needs. Build it from DefaultConfig and override fields.
type Config struct {
	// Endpoint is fleet's API address: http://host:port, https://host:port (an optional
	// path prefix is kept) or unix:///absolute/path.sock. Default DefaultEndpoint.
	Endpoint string
	// Timeout bounds one HTTP attempt, including reading the response. Default 10s.
	Timeout time.Duration
	// RetryMax is how many times a retryable failure (connection error, 429, 5xx) is
	// retried after the first attempt; 0 disables retries. Default 4.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff between attempts; a
	// Retry-After header on 429/503 takes precedence. Defaults 200ms and 5s.
	RetryWaitMin, RetryWaitMax time.Duration
	// TLS configures https endpoints; nil uses the system roots. Only valid with https.
	TLS *tls.Config
	// Logger receives retryablehttp's messages at debug level. Default zerolog.Nop().
	Logger zerolog.Logger
	// Clock paces WaitUnitActive and WaitUnitStopped polls. nil means clock.RealClock{}.
	Clock clock.Clock
	// UserAgent is sent on every request so that fleet's logs (and the emulator's journal)
	// can tell which controller instance made a call. Default "volfailover".
	UserAgent string
}

// DefaultConfig returns a Config for fleetd's default unix socket.
func DefaultConfig() Config {
	return Config{
		Endpoint:     DefaultEndpoint,
		Timeout:      10 * time.Second,
		RetryMax:     4,
		RetryWaitMin: 200 * time.Millisecond,
		RetryWaitMax: 5 * time.Second,
		Logger:       zerolog.Nop(),
	}
}

// endpoint is a validated Config.Endpoint: the base URL requests are sent to and, for a
// unix socket, the socket path the transport dials.
type endpoint struct {
	base       string // scheme://host[/prefix], no trailing slash
	socketPath string // set for unix endpoints
}

// Validate reports the first impossible setting, naming the field and its value.
func (c Config) Validate() error {
	if _, err := parseEndpoint(c.Endpoint); err != nil {
		return err
	}
	if c.TLS != nil && !strings.HasPrefix(c.Endpoint, "https://") {
		return fmt.Errorf("fleet config: TLS is set but Endpoint %q is not https", c.Endpoint)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("fleet config: Timeout %s must be > 0", c.Timeout)
	}
	if c.RetryMax < 0 {
		return fmt.Errorf("fleet config: RetryMax %d must be >= 0", c.RetryMax)
	}
	if c.RetryWaitMin <= 0 {
		return fmt.Errorf("fleet config: RetryWaitMin %s must be > 0", c.RetryWaitMin)
	}
	if c.RetryWaitMax < c.RetryWaitMin {
		return fmt.Errorf("fleet config: RetryWaitMax %s must be >= RetryWaitMin %s", c.RetryWaitMax, c.RetryWaitMin)
	}
	return nil
}

func parseEndpoint(raw string) (endpoint, error) {
	if raw == "" {
		return endpoint{}, fmt.Errorf("fleet config: Endpoint is empty (want http://, https:// or unix://)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("fleet config: Endpoint %q: %w", raw, err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return endpoint{}, fmt.Errorf("fleet config: Endpoint %q: query, fragment and user info are not allowed", raw)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return endpoint{}, fmt.Errorf("fleet config: Endpoint %q: missing host", raw)
		}
		return endpoint{base: u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/")}, nil
	case "unix":
		if u.Opaque != "" || u.Host != "" || !path.IsAbs(u.Path) {
			return endpoint{}, fmt.Errorf("fleet config: Endpoint %q: unix socket path must be absolute (unix:///path/to.sock)", raw)
		}
		if strings.HasSuffix(u.Path, "/") {
			return endpoint{}, fmt.Errorf("fleet config: Endpoint %q: unix socket path names a directory", raw)
		}
		return endpoint{base: "http://" + unixHost, socketPath: u.Path}, nil
	default:
		return endpoint{}, fmt.Errorf("fleet config: Endpoint %q: scheme %q must be http, https or unix", raw, u.Scheme)
	}
}
