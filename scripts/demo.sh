#!/usr/bin/env bash
# The seed's quick start, as written, in a throwaway network namespace where a veth end
# named eth0 stands in for the host's NIC (so it is safe on any machine):
#     lxc-create -n foo -f etc/lxc/lxc-macvlan.conf
#     lxc-execute -n foo /bin/bash
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
export LXC_LXCPATH; LXC_LXCPATH=$(mktemp -d /tmp/lxcpy-demo.XXXXXX)
# the lxcpath's run directory (/run/lxcpy/<hash>) goes with it
rundir=$(.venv/bin/python -c 'import sys; from lxcpy.paths import lxcpath_rundir as r; print(r(sys.argv[1]))' "$LXC_LXCPATH")
trap 'rm -rf "$LXC_LXCPATH" "$rundir"' EXIT
unshare --net -- bash -euo pipefail -c '
  ip link set lo up
  ip link add eth0 type veth peer name eth0-peer   # stands in for the NIC
  ip link set eth0 up; ip link set eth0-peer up
  set -x
  lxc-create -n foo -f etc/lxc/lxc-macvlan.conf
  lxc-execute -n foo -- /bin/bash -c "echo hostname: \$(hostname); ip addr"
  lxc-destroy -n foo
'
