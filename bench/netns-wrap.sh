#!/usr/bin/env bash
# Run "$@" in a private network namespace whose /sys is that namespace's sysfs, with the
# host's cgroup tree bound back at /sys/fs/cgroup (the C LXC reads
# /sys/class/net/<bridge>/bridge to find a bridge, and needs the cgroup tree to freeze).
# Usage: unshare --net --mount --propagation private bash bench/netns-wrap.sh CMD...
# (called by bench/run.sh; the mount namespace is private, nothing leaks to the host)
set -euo pipefail
host=${LXCPYBENCH_HOST_NETNS:?set by bench/run.sh: the inode of the host network namespace}
[ "$(stat -L -c %i /proc/self/ns/net)" != "$host" ] || {
  echo "netns-wrap.sh: refusing to run in the host's network namespace" >&2; exit 1; }
aside=$(mktemp -d /tmp/lxcpybench-cg.XXXXXX)
mount --rbind /sys/fs/cgroup "$aside"
mount -t sysfs sysfs /sys
mount --move "$aside" /sys/fs/cgroup
rmdir "$aside"
ip link set lo up
exec "$@"
