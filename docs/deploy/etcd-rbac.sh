#!/bin/sh
# etcd roles and users for volfailover (etcd v3 auth). Run once, with etcdctl
# pointed at the cluster (ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, … as usual) and as
# a user allowed to manage auth (root, once auth is on).
#
#   PREFIX=/volfailover ./etcd-rbac.sh
#
# It creates:
#   role volfailover-controller  read-write on every key under PREFIX
#   role volfailover-operator    read on every key under PREFIX; write ONLY on
#                                the override keys PREFIX/pause and PREFIX/volumes/…,
#                                the flap-damping records PREFIX/damping/… and the
#                                arming records PREFIX/armed/…
#   users volfailover (the agents) and volfailover-operator with those roles.
#
# etcd grants permissions on key ranges [key, range_end): one exact key, or
# with --prefix=true every key that starts with it. volfailover lays its keys
# out so that the operators' keys form exactly four such ranges and nothing
# else of the controller's falls into them:
#   PREFIX/pause           one key, granted exactly (not as a prefix, which
#                          would also match PREFIX/pause-anything)
#   PREFIX/volumes/        the overrides PREFIX/volumes/<vol>/pause, …/switchover
#                          and …/failover; also the leader's published primary
#                          (…/primary) and its hook outcome (…/hook), which an
#                          operator could therefore overwrite: treat the
#                          operator credentials as able to misdirect clients that
#                          follow …/primary until the next move publishes anew
#   PREFIX/armed/          the leader's record that a volume's Postgres was seen
#                          serving; `volfailover disarm VOL` deletes one
#   PREFIX/damping/        the leader's record of each volume's recent automatic
#                          failovers; `volfailover clear-damping VOL` deletes one
#                          after the cause of the flapping is fixed (or when it
#                          does not parse, which damps the volume for good)
# The controller's other keys (election/, hosts/, owners, witness/, journal/,
# history/, outbox/, outbox-failed/) are outside these ranges, so an
# operator's credentials can pause, resume, request or abort a switchover,
# request a manual failover, disarm a volume and clear a damping record
# (`volfailover pause|resume|switchover|failover|abort|disarm|clear-damping`) but cannot forge a journal record, a registration or a leader
# key. Writing a damping record can at most make the leader hold back an
# automatic failover (as a pause does) or allow one sooner; it moves nothing.
#
# Re-running is harmless: existing roles and users are kept, grants repeated.
set -eu

PREFIX=${PREFIX:-/volfailover}
ETCDCTL=${ETCDCTL:-etcdctl}

case "$PREFIX" in
/*/ | "" | /) echo "PREFIX $PREFIX: must start with / and not end with /" >&2; exit 2 ;;
/*) ;;
*) echo "PREFIX $PREFIX: must start with /" >&2; exit 2 ;;
esac

role() { $ETCDCTL role get "$1" >/dev/null 2>&1 || $ETCDCTL role add "$1"; }
user() {
	# The password is read from the terminal (or stdin) by etcdctl; it is never on the command line.
	$ETCDCTL user get "$1" >/dev/null 2>&1 || $ETCDCTL user add "$1" --interactive=true
	$ETCDCTL user grant-role "$1" "$2"
}

role volfailover-controller
$ETCDCTL role grant-permission volfailover-controller --prefix=true readwrite "$PREFIX/"

role volfailover-operator
$ETCDCTL role grant-permission volfailover-operator --prefix=true read "$PREFIX/"
$ETCDCTL role grant-permission volfailover-operator write "$PREFIX/pause"
$ETCDCTL role grant-permission volfailover-operator --prefix=true write "$PREFIX/volumes/"
$ETCDCTL role grant-permission volfailover-operator --prefix=true write "$PREFIX/damping/"
$ETCDCTL role grant-permission volfailover-operator --prefix=true write "$PREFIX/armed/"

user volfailover volfailover-controller
user volfailover-operator volfailover-operator

cat <<MSG
roles and users are in place. If auth is not on yet:
  $ETCDCTL user add root && $ETCDCTL user grant-role root root && $ETCDCTL auth enable
Agents: VOLFAILOVER_ETCD_USERNAME=volfailover and the password in
VOLFAILOVER_ETCD_PASSWORD_FILE (see /etc/volfailover.env).
Operators: volfailover --etcd-username volfailover-operator --etcd-password-file …
MSG
