package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// ErrStallUnsupported is returned by StallMember when the member's WAL is
// not on the sandbox's fsync-delaying file system (no root, no /dev/fuse).
var ErrStallUnsupported = errors.New("stalling fsync needs root and /dev/fuse")

// slowFsyncFS is a FUSE passthrough of a backing directory whose fsync and
// fdatasync calls wait for a settable delay before the real fsync of the
// backing file: a disk whose flushes stall, as etcd's WAL sees it. It is
// served by the sandbox process, not by the etcd member whose WAL it holds,
// so a SIGKILLed member leaves the mount working and a member never serves
// its own page faults.
type slowFsyncFS struct {
	srv   *fuse.Server
	delay *atomic.Int64 // nanoseconds each fsync waits
}

// mountSlowFsync mounts backing at dir. It needs root and /dev/fuse.
func mountSlowFsync(backing, dir string) (*slowFsyncFS, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: running as uid %d", ErrStallUnsupported, os.Geteuid())
	}
	for _, d := range []string{backing, dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("mount slow-fsync fs: create %s: %w", d, err)
		}
	}
	inner, err := fs.NewLoopbackRoot(backing)
	if err != nil {
		return nil, fmt.Errorf("mount slow-fsync fs: loopback of %s: %w", backing, err)
	}
	lb, ok := inner.(*fs.LoopbackNode)
	if !ok {
		return nil, fmt.Errorf("mount slow-fsync fs: loopback root is a %T, not *fs.LoopbackNode", inner)
	}
	delay := &atomic.Int64{}
	root := &slowNode{LoopbackNode: lb, delay: delay}
	lb.RootData.RootNode = root
	srv, err := fs.Mount(dir, root, &fs.Options{MountOptions: fuse.MountOptions{
		// As root, mount(2) directly instead of through fusermount;
		// AllowOther lets the members (root, but another group) in.
		DirectMount: true, AllowOther: true, FsName: backing, Name: "sandbox-slowfsync",
	}})
	if err != nil {
		return nil, fmt.Errorf("%w: mount %s: %w", ErrStallUnsupported, dir, err)
	}
	return &slowFsyncFS{srv: srv, delay: delay}, nil
}

// SetDelay sets how long every later fsync waits; 0 ends the stall.
func (f *slowFsyncFS) SetDelay(d time.Duration) { f.delay.Store(int64(d)) }

// Unmount unmounts; the members using it must have stopped.
func (f *slowFsyncFS) Unmount() error {
	if err := f.srv.Unmount(); err != nil {
		return fmt.Errorf("unmount slow-fsync fs: %w", err)
	}
	return nil
}

// slowNode is a loopback node whose fsync waits first.
type slowNode struct {
	*fs.LoopbackNode
	delay *atomic.Int64
}

var (
	_ fs.NodeWrapChilder = (*slowNode)(nil)
	_ fs.NodeFsyncer     = (*slowNode)(nil)
)

// WrapChild makes every node below the root a slowNode too.
func (n *slowNode) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	lb, ok := ops.(*fs.LoopbackNode)
	if !ok {
		return ops
	}
	return &slowNode{LoopbackNode: lb, delay: n.delay}
}

// Fsync waits for the delay (or the caller giving up), then syncs the
// backing file as the loopback would.
func (n *slowNode) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if d := time.Duration(n.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return syscall.EINTR
		}
	}
	if fsy, ok := f.(fs.FileFsyncer); ok {
		return fsy.Fsync(ctx, flags)
	}
	return syscall.ENOTSUP
}
