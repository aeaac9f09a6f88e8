package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/volfailover/volfailover/admin"
	"github.com/volfailover/volfailover/controller"
)

// adminEnv is what the admin commands take from the process: the clock and
// the environment. Tests substitute both.
type adminEnv struct {
	now    func() time.Time
	getenv func(string) (string, bool)
	// environ lists the environment as KEY=VALUE, to find VOLFAILOVER_*
	// variables no flag reads; nil skips that check.
	environ func() []string
	// who names the operator ("user@host") in default reasons.
	who string
}

func processEnv() adminEnv {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		who += "@" + h
	}
	return adminEnv{now: time.Now, getenv: os.LookupEnv, environ: os.Environ, who: who}
}

// envName is the environment variable that sets a flag when it is not given:
// VOLFAILOVER_ and the flag's name in upper case with _ for -.
func envName(flag string) string {
	return "VOLFAILOVER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envAnnotation marks the flags that also read a VOLFAILOVER_* variable.
const envAnnotation = "volfailover_env"

// markEnv makes flag readable from its environment variable and says so in its usage.
func markEnv(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		f := fs.Lookup(n)
		f.Usage += " (env " + envName(n) + ")"
		_ = fs.SetAnnotation(n, envAnnotation, []string{envName(n)})
	}
}

// applyEnv sets every env-marked flag not given on the command line from its
// variable; a bad value, or a VOLFAILOVER_* variable no flag reads, is a
// usage error naming the variable.
func applyEnv(cmd *cobra.Command, env adminEnv) error {
	if err := checkEnv(cmd, env); err != nil {
		return err
	}
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Annotations[envAnnotation] == nil {
			return
		}
		v, ok := env.getenv(envName(f.Name))
		if !ok {
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			err = sv.Replace(splitList(v))
		} else {
			err = f.Value.Set(v)
		}
		if err != nil {
			err = usageErr(fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
		}
	})
	return err
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// etcdFlags are the connection flags every admin command shares.
type etcdFlags struct {
	endpoints    []string
	prefix       string
	certFile     string
	keyFile      string
	caFile       string
	username     string
	passwordFile string
	dialTimeout  time.Duration
	timeout      time.Duration
}

func (f *etcdFlags) register(fs *pflag.FlagSet) {
	d := controller.DefaultOptions()
	fs.StringSliceVar(&f.endpoints, "etcd-endpoints", []string{"http://127.0.0.1:2379"}, "etcd client URLs, comma-separated")
	fs.StringVar(&f.prefix, "key-prefix", d.KeyPrefix, "root of volfailover's etcd keys")
	fs.StringVar(&f.certFile, "etcd-cert-file", "", "client certificate for etcd (with --etcd-key-file)")
	fs.StringVar(&f.keyFile, "etcd-key-file", "", "client key for etcd")
	fs.StringVar(&f.caFile, "etcd-ca-file", "", "CA bundle that verifies the etcd servers")
	fs.StringVar(&f.username, "etcd-username", "", "etcd user (password from --etcd-password-file or VOLFAILOVER_ETCD_PASSWORD)")
	fs.StringVar(&f.passwordFile, "etcd-password-file", "", "file holding the etcd password")
	fs.DurationVar(&f.dialTimeout, "etcd-dial-timeout", d.EtcdDialTimeout, "bound on the first connection to etcd")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound on the whole command's calls to each dependency")
	markEnv(fs, "etcd-endpoints", "key-prefix", "etcd-cert-file", "etcd-key-file", "etcd-ca-file",
		"etcd-username", "etcd-password-file", "etcd-dial-timeout", "timeout")
}

// options checks the flags with the controller's own rules (so what run
// accepts, the CLI accepts) and returns them as controller options.
func (f *etcdFlags) options(env adminEnv) (controller.Options, error) {
	o := controller.DefaultOptions()
	o.EtcdEndpoints = f.endpoints
	o.EtcdCertFile, o.EtcdKeyFile, o.EtcdCAFile = f.certFile, f.keyFile, f.caFile
	o.EtcdUsername = f.username
	o.EtcdDialTimeout = f.dialTimeout
	o.KeyPrefix = f.prefix
	if f.username != "" {
		pw, err := etcdPassword(env, f.username, f.passwordFile)
		if err != nil {
			return o, err
		}
		o.EtcdPassword = pw
	}
	if err := o.Validate(); err != nil {
		return o, usageErr(err)
	}
	if f.timeout <= 0 {
		return o, usageErr(fmt.Errorf("timeout: %s must be positive", f.timeout))
	}
	return o, nil
}

// client opens an etcd client; clientv3 dials lazily, so an unreachable
// etcd shows up on the first call, bounded by --timeout.
func (f *etcdFlags) client(o controller.Options) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   o.EtcdEndpoints,
		DialTimeout: o.EtcdDialTimeout,
		Username:    o.EtcdUsername,
		Password:    o.EtcdPassword,
		Logger:      zap.NewNop(),
	}
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return nil, usageErr(err)
	}
	cfg.TLS = tlsCfg
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w: %w", o.EtcdEndpoints, admin.ErrUnreachable, err)
	}
	return cli, nil
}

func (f *etcdFlags) tlsConfig() (*tls.Config, error) {
	https := false
	for _, ep := range f.endpoints {
		https = https || strings.HasPrefix(ep, "https://")
	}
	if f.certFile == "" && f.caFile == "" {
		if https {
			return &tls.Config{MinVersion: tls.VersionTLS12}, nil
		}
		return nil, nil
	}
	info := transport.TLSInfo{CertFile: f.certFile, KeyFile: f.keyFile, TrustedCAFile: f.caFile}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd TLS (cert %q, key %q, ca %q): %w", f.certFile, f.keyFile, f.caFile, err)
	}
	return c, nil
}

// withAdmin parses the shared flags, opens etcd, and runs fn under --timeout.
func withAdmin(cmd *cobra.Command, f *etcdFlags, env adminEnv, fn func(ctx context.Context, a *admin.Admin) error) error {
	return openAdmin(cmd, f, env, func(a *admin.Admin) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
		defer cancel()
		return fn(ctx, a)
	})
}

// openAdmin parses the shared flags, opens etcd and hands fn the Admin; fn
// bounds its own calls (status --watch makes one bounded call per round).
// An error because etcd did not answer names the endpoints that were tried,
// so the operator can tell a wrong address from a down cluster.
func openAdmin(cmd *cobra.Command, f *etcdFlags, env adminEnv, fn func(a *admin.Admin) error) error {
	if err := applyEnv(cmd, env); err != nil {
		return err
	}
	o, err := f.options(env)
	if err != nil {
		return err
	}
	cli, err := f.client(o)
	if err != nil {
		return err
	}
	defer cli.Close()
	a, err := admin.New(admin.Config{Etcd: cli, Prefix: o.KeyPrefix, Now: env.now, By: env.who})
	if err != nil {
		return usageErr(err)
	}
	return withEndpoints(fn(a), o.EtcdEndpoints)
}

// withEndpoints adds the etcd endpoints tried to an unreachable-etcd error.
func withEndpoints(err error, endpoints []string) error {
	if err == nil || !(errors.Is(err, admin.ErrUnreachable) || admin.Unreachable(err)) {
		return err
	}
	return fmt.Errorf("%w (etcd endpoints tried: %s)", err, strings.Join(endpoints, ","))
}

// etcdPassword finds the password of an etcd user: the file wins over
// VOLFAILOVER_ETCD_PASSWORD; a flag would show it in ps and shell history.
func etcdPassword(env adminEnv, username, passwordFile string) (string, error) {
	pw, ok := env.getenv("VOLFAILOVER_ETCD_PASSWORD")
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return "", usageErr(fmt.Errorf("etcd-password-file %q: %w", passwordFile, err))
		}
		pw, ok = strings.TrimSpace(string(b)), true
	}
	if !ok || pw == "" {
		return "", usageErr(fmt.Errorf("etcd-username %q: no password (set --etcd-password-file or VOLFAILOVER_ETCD_PASSWORD)", username))
	}
	return pw, nil
}
