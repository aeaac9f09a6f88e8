package fleet

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	require.Equal(t, "unix:///var/run/fleet.sock", cfg.Endpoint)
	require.NoError(t, cfg.Validate())
	c, err := NewClient(cfg)
	require.NoError(t, err)
	require.Equal(t, "http://fleet/fleet/v1", c.base)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // "" = valid
		base    string // expected base URL when valid
	}{
		{name: "http", mutate: func(c *Config) { c.Endpoint = "http://127.0.0.1:49153" }, base: "http://127.0.0.1:49153/fleet/v1"},
		{name: "http with prefix", mutate: func(c *Config) { c.Endpoint = "http://127.0.0.1:8080/proxy/" }, base: "http://127.0.0.1:8080/proxy/fleet/v1"},
		{name: "https with tls", mutate: func(c *Config) {
			c.Endpoint = "https://fleet.local:443"
			c.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}, base: "https://fleet.local:443/fleet/v1"},
		{name: "unix", mutate: func(c *Config) { c.Endpoint = "unix:///run/fleet/api.sock" }, base: "http://fleet/fleet/v1"},
		{name: "no retries", mutate: func(c *Config) { c.RetryMax = 0 }, base: "http://fleet/fleet/v1"},
		{name: "empty endpoint", mutate: func(c *Config) { c.Endpoint = "" }, wantErr: "Endpoint is empty"},
		{name: "bad scheme", mutate: func(c *Config) { c.Endpoint = "ftp://host" }, wantErr: `Endpoint "ftp://host": scheme "ftp" must be http, https or unix`},
		{name: "no scheme", mutate: func(c *Config) { c.Endpoint = "127.0.0.1:8080" }, wantErr: `Endpoint "127.0.0.1:8080"`},
		{name: "http without host", mutate: func(c *Config) { c.Endpoint = "http:///x" }, wantErr: "missing host"},
		{name: "query", mutate: func(c *Config) { c.Endpoint = "http://h:1/?a=b" }, wantErr: "query, fragment and user info are not allowed"},
		{name: "relative unix", mutate: func(c *Config) { c.Endpoint = "unix://var/run/fleet.sock" }, wantErr: `Endpoint "unix://var/run/fleet.sock": unix socket path must be absolute`},
		{name: "opaque unix", mutate: func(c *Config) { c.Endpoint = "unix:fleet.sock" }, wantErr: "unix socket path must be absolute"},
		{name: "unix directory", mutate: func(c *Config) { c.Endpoint = "unix:///var/run/" }, wantErr: "names a directory"},
		{name: "tls with http", mutate: func(c *Config) { c.Endpoint = "http://h:1"; c.TLS = &tls.Config{MinVersion: tls.VersionTLS12} }, wantErr: `TLS is set but Endpoint "http://h:1" is not https`},
		{name: "zero timeout", mutate: func(c *Config) { c.Timeout = 0 }, wantErr: "Timeout 0s must be > 0"},
		{name: "negative timeout", mutate: func(c *Config) { c.Timeout = -time.Second }, wantErr: "Timeout -1s must be > 0"},
		{name: "negative retries", mutate: func(c *Config) { c.RetryMax = -1 }, wantErr: "RetryMax -1 must be >= 0"},
		{name: "zero wait min", mutate: func(c *Config) { c.RetryWaitMin = 0 }, wantErr: "RetryWaitMin 0s must be > 0"},
		{name: "max below min", mutate: func(c *Config) { c.RetryWaitMax = 100 * time.Millisecond }, wantErr: "RetryWaitMax 100ms must be >= RetryWaitMin 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			c, err := NewClient(cfg)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tt.wantErr)
				require.Nil(t, c)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.base, c.base)
		})
	}
}
