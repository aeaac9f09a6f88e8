package sandbox

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// PostgresOptions configure ExecPostgres; the environment fields come from
// the unit's SANDBOX_* variables.
type PostgresOptions struct {
	Volume   string // vol-…, the unit's instance
	HostRoot string // SANDBOX_HOST_ROOT
	HostIP   string // SANDBOX_HOST_IP
	BinDir   string // SANDBOX_POSTGRES_BIN, default DefaultPostgresBin
}

var volumeIDRe = regexp.MustCompile(`^vol-([0-9a-f]{8}|[0-9a-f]{17})$`)

// PostgresOptionsFromEnv fills the environment fields from SANDBOX_*.
func PostgresOptionsFromEnv(volume string) PostgresOptions {
	o := PostgresOptions{
		Volume:   volume,
		HostRoot: os.Getenv("SANDBOX_HOST_ROOT"), HostIP: os.Getenv("SANDBOX_HOST_IP"),
		BinDir: os.Getenv("SANDBOX_POSTGRES_BIN"),
	}
	if o.BinDir == "" {
		o.BinDir = DefaultPostgresBin
	}
	return o
}

// Validate names the first bad field.
func (o PostgresOptions) Validate() error {
	var errs []error
	if !volumeIDRe.MatchString(o.Volume) {
		errs = append(errs, fmt.Errorf("volume: %q is not an EBS volume ID", o.Volume))
	}
	if !filepath.IsAbs(o.HostRoot) {
		errs = append(errs, fmt.Errorf("SANDBOX_HOST_ROOT: %q must be an absolute path", o.HostRoot))
	}
	if ip := strings.Split(o.HostIP, "."); len(ip) != 4 || ip[0] != "127" {
		errs = append(errs, fmt.Errorf("SANDBOX_HOST_IP: %q must be a 127.x.y.z address", o.HostIP))
	}
	if !filepath.IsAbs(o.BinDir) {
		errs = append(errs, fmt.Errorf("SANDBOX_POSTGRES_BIN: %q must be an absolute path", o.BinDir))
	}
	return errors.Join(errs...)
}

// ExecPostgres is the body of the postgres@ unit: it finds the volume's
// device on this host (refusing to start without it, as a mount dependency
// would), initialises the data directory on first start, and replaces the
// current process with PostgreSQL 15 listening on the host's address. As root
// it runs PostgreSQL as the postgres system user. It returns only on error.
func ExecPostgres(ctx context.Context, o PostgresOptions) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("exec postgres: %w", err)
	}
	dev, err := FindVolumeDevice(o.HostRoot, o.Volume)
	if err != nil {
		return fmt.Errorf("exec postgres: %w", err)
	}
	target, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return fmt.Errorf("exec postgres: resolve %s: %w", dev, err)
	}
	uid, gid, asRoot, err := postgresUser()
	if err != nil {
		return fmt.Errorf("exec postgres: %w", err)
	}
	// The postgres user must traverse the volume's directory.
	if asRoot {
		if err := os.Chmod(target, 0o755); err != nil {
			return fmt.Errorf("exec postgres: open up %s: %w", target, err)
		}
	}
	data := filepath.Join(dev, "pgdata")
	sock := filepath.Join(o.HostRoot, "run", "postgresql")
	if err := ownedDir(sock, 0o755, uid, gid, asRoot); err != nil {
		return fmt.Errorf("exec postgres: socket dir: %w", err)
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := initdb(ctx, o.BinDir, data, uid, gid, asRoot); err != nil {
			return fmt.Errorf("exec postgres: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("exec postgres: check %s: %w", data, err)
	}
	if err := removeStalePID(data); err != nil {
		return fmt.Errorf("exec postgres: %w", err)
	}
	bin := filepath.Join(o.BinDir, "postgres")
	argv := []string{bin, "-D", data,
		"-c", "listen_addresses=" + o.HostIP,
		"-c", "port=" + strconv.Itoa(PostgresPort),
		"-c", "unix_socket_directories=" + sock,
		"-c", "fsync=on",
		"-c", "synchronous_commit=on",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=40",
	}
	if asRoot {
		if err := syscall.Setgroups([]int{gid}); err != nil {
			return fmt.Errorf("exec postgres: setgroups: %w", err)
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("exec postgres: setgid %d: %w", gid, err)
		}
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("exec postgres: setuid %d: %w", uid, err)
		}
	}
	if err := syscall.Exec(bin, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", bin, err)
	}
	return nil
}

// postgresUser returns the postgres system user's IDs when running as root.
func postgresUser() (uid, gid int, asRoot bool, err error) {
	if os.Geteuid() != 0 {
		return os.Getuid(), os.Getgid(), false, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, true, fmt.Errorf("running as root needs the postgres system user: %w", err)
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, true, fmt.Errorf("postgres uid %q: %w", u.Uid, err)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, true, fmt.Errorf("postgres gid %q: %w", u.Gid, err)
	}
	return uid, gid, true, nil
}

func ownedDir(dir string, mode os.FileMode, uid, gid int, chown bool) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	if chown {
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return nil
}

// pgHBA trusts the postgres user from loopback: sandbox only.
const pgHBA = `# volfailover sandbox ONLY: the postgres user is trusted without a password.
local all postgres trust
host  all postgres 127.0.0.0/8 trust
`

// initdb creates the cluster in a scratch directory and renames it into
// place, so a start interrupted mid-initdb leaves nothing half-made.
func initdb(ctx context.Context, binDir, data string, uid, gid int, asRoot bool) error {
	scratch := data + ".init"
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("clear %s: %w", scratch, err)
	}
	if err := ownedDir(scratch, 0o700, uid, gid, asRoot); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), "-D", scratch, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Dir = "/"
	if asRoot {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb %s: %w", scratch, err)
	}
	hba := filepath.Join(scratch, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte(pgHBA), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", hba, err)
	}
	if asRoot {
		if err := os.Chown(hba, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", hba, err)
		}
	}
	if err := os.RemoveAll(data); err != nil {
		return fmt.Errorf("clear %s: %w", data, err)
	}
	if err := os.Rename(scratch, data); err != nil {
		return fmt.Errorf("move cluster into %s: %w", data, err)
	}
	return nil
}

// removeStalePID deletes postmaster.pid when the PID it names is not a
// running postgres: the file was left by a Postgres that died with its host,
// and on one machine its PID may since belong to an unrelated process, which
// would make PostgreSQL refuse to start. A live postgres keeps its lock.
func removeStalePID(data string) error {
	pidFile := filepath.Join(data, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", pidFile, err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err == nil && pid > 0 {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			return nil // alive: PostgreSQL itself refuses to start, as it should
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", pidFile, err)
	}
	return nil
}

// RunExecPostgres is the exec-postgres command line: the --volume flag, the
// rest from SANDBOX_*. It returns an exit code only on failure;
// the volfailover-sandbox binary and test binaries (as SandboxBin) share it.
func RunExecPostgres(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("exec-postgres", flag.ContinueOnError)
	fs.SetOutput(stderr)
	volume := fs.String("volume", "", "EBS volume ID whose Postgres to run (the unit's %i)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "exec-postgres: unexpected arguments %q\n", fs.Args())
		return 2
	}
	err := ExecPostgres(ctx, PostgresOptionsFromEnv(*volume))
	fmt.Fprintf(stderr, "exec-postgres: %v\n", err)
	return 1
}
