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
#                                the override keys PREFIX/pause and PREFIX/volumes/…
#   users volfailover (the agents) and volfailover-operator with those roles.
#
# etcd grants permissions on key ranges [key, range_end): one exact key, or
# with --prefix=true every key that starts with it. volfailover lays its keys
# out so that the operators' keys form exactly two such ranges and nothing of
# the controller's falls into them:
#   PREFIX/pause           one key, granted exactly (not as a prefix, which
#                          would also match PREFIX/pause-anything)
#   PREFIX/volumes/        only overrides live here:
#                          PREFIX/volumes/<vol>/pause, PREFIX/volumes/<vol>/switchover
# The controller's own keys (election/, hosts/, owners, witness/, journal/,
# history/, damping/, outbox/, outbox-failed/) are outside both ranges, so an
# operator's credentials can pause, resume and request a switchover (with
# etcdctl or `volfailover pause|resume|switchover`) but cannot forge a journal
# record, a registration or a leader key.
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

user volfailover volfailover-controller
user volfailover-operator volfailover-operator

cat <<MSG
roles and users are in place. If auth is not on yet:
  $ETCDCTL user add root && $ETCDCTL user grant-role root root && $ETCDCTL auth enable
Agents: VOLFAILOVER_ETCD_USERNAME=volfailover and the password in
VOLFAILOVER_ETCD_PASSWORD_FILE (see /etc/volfailover.env).
Operators: volfailover --etcd-username volfailover-operator --etcd-password-file …
MSG
