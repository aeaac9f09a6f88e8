package admin

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error classes a script can branch on; the CLI maps them to exit codes.
var (
	// ErrInvalid marks input that is wrong as given (a flag, an argument, a
	// target that cannot work); nothing was written. Exit code 2.
	ErrInvalid = errors.New("invalid input")
	// ErrUnreachable marks a dependency (etcd, fleet, EC2) that did not answer
	// in time. Exit code 3.
	ErrUnreachable = errors.New("unreachable")
	// ErrConflict marks a write refused because etcd changed under it, or
	// because the state forbids it (a move already in progress). Exit code 1.
	ErrConflict = errors.New("conflict")
)

// invalid returns an ErrInvalid error naming the field and the value.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// etcdErr wraps an etcd call's error with what was being done, marking it
// ErrUnreachable when etcd did not answer (deadline, no connection).
func etcdErr(what string, err error) error {
	if Unreachable(err) {
		return fmt.Errorf("%s: %w: etcd: %w", what, ErrUnreachable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Unreachable reports whether err means the remote side did not answer:
// a deadline, a refused or dropped connection, or etcd having no leader.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnreachable) {
		return true
	}
	if errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrTimeout) ||
		errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail) || errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost) {
		return true
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Unavailable, codes.DeadlineExceeded:
			return true
		}
	}
	return false
}
