#!/usr/bin/env bash
# The pure cgroup v2 test lane (issue 13): boot Debian's kernel under qemu's emulation
# (TCG; a nested KVM guest hangs here) with virtme-ng — the host's file system shared
# read-only, one scratch directory read-write, no network — mount only cgroup2 in the
# guest and run tests/v2lane/lane_*.py there as root (tests/v2lane/guest.sh).
#
#   bash scripts/v2-lane.sh            # as root; installs what it needs (idempotent)
#
# Results: build/v2lane/{summary.txt,junit.xml,pytest.log,guest.log,console.log} (V2LANE_OUT to move).
# Exit: 0 every lane test passed; 1 a test failed; 2 the guest never reported (boot
# failure, crash); 3 the guest has no pure cgroup2 hierarchy; 124 overall time-out
# (V2LANE_TIMEOUT seconds, default 1500). No qemu, mount or temporary directory is left.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${V2LANE_OUT:-$REPO/build/v2lane}
LIMIT=${V2LANE_TIMEOUT:-1500}
VM_VENV=$REPO/.venv-vm  # virtme-ng lives apart from lxcpy's venv (git ignores it)
started=$(date +%s)

say() { echo "v2-lane: $*"; }

install_deps() {
    local need=()
    command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
    compgen -G '/boot/vmlinuz-*-amd64' >/dev/null || need+=(linux-image-amd64)
    command -v busybox >/dev/null || need+=(busybox-static)  # virtme-ng's initramfs
    if [ ${#need[@]} -gt 0 ]; then
        say "installing ${need[*]}"
        apt-get update -q >/dev/null
        # only adds a kernel image under /boot; the running kernel and the boot loader stay
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${need[@]}" >/dev/null
    fi
    if [ ! -x "$VM_VENV/bin/vng" ]; then
        say "installing virtme-ng into $VM_VENV"
        python3 -m venv "$VM_VENV"
        "$VM_VENV/bin/pip" install -q virtme-ng
    fi
    [ -x .venv/bin/lxc-execute ] || bash scripts/install.sh
}

# Debian's newest kernel whose modules are installed (the guest loads 9p and virtio from them)
pick_kernel() {
    local k v best=
    for k in /boot/vmlinuz-*-amd64; do
        v=${k#/boot/vmlinuz-}
        [ -d "/lib/modules/$v/kernel" ] && best=$k
    done
    [ -n "$best" ] || { say "no Debian kernel with modules under /boot"; exit 2; }
    echo "$best"
}

install_deps
kernel=$(pick_kernel)
work=$(mktemp -d /tmp/v2lane.XXXXXX)
scratch=$work/share  # the guest's one writable directory
console=$work/console.log  # qemu opens its stdout anew: a file of its own, never ours
mkdir -m 0755 "$scratch"
lane_pid=

cleanup() {
    local pid
    if [ -n "$lane_pid" ]; then
        # timeout leads its own process group: qemu and vng are in it; end only those
        kill -TERM "$lane_pid" 2>/dev/null || true
        for pid in $(pgrep -g "$lane_pid" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

vng=(vng --disable-kvm --force-9p -r "$kernel" --cpus 2 --memory 2G --rwdir "$scratch"
     --exec "bash tests/v2lane/guest.sh $scratch")
# the guest must have no network: vng's default is qemu's -net none (no --network given);
# check the qemu command line it would run before running it
qemu_line=$(PATH="$VM_VENV/bin:$PATH" "${vng[@]}" --dry-run </dev/null 2>&1 | grep qemu-system)
if [[ $qemu_line != *"-net none"* || $qemu_line == *-netdev* || $qemu_line == *-nic* ]]; then
    say "refusing to boot: the qemu command line has a network: $qemu_line"
    exit 2
fi

say "booting $kernel under TCG ($(nproc) cpus), time limit ${LIMIT}s"
# vng finds virtme-run on PATH
PATH="$VM_VENV/bin:$PATH" timeout -k 20 "$LIMIT" "${vng[@]}" </dev/null >"$console" 2>&1 &
lane_pid=$!
status=0
wait "$lane_pid" || status=$?
# vng killed by timeout before it reaped qemu: end what is left of that group, by pid,
# and wait (bounded) until it is gone
for _ in $(seq 50); do
    leftover=$(pgrep -g "$lane_pid" 2>/dev/null || true)
    [ -n "$leftover" ] || break
    for pid in $leftover; do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.2
done
lane_pid=

rm -rf "$OUT"
mkdir -p "$OUT"
cp -r "$scratch"/. "$OUT"/
cp "$console" "$OUT"/console.log
elapsed=$(( $(date +%s) - started ))
if [ "$status" -ne 0 ]; then
    echo "---- guest console (last 60 lines) ----"
    tail -n 60 "$console"
fi

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    say "TIMED OUT after ${LIMIT}s (wall time ${elapsed}s)"
    exit 124
fi
if [ ! -s "$OUT/rc" ]; then
    say "the guest never reported (vng exit $status): boot failure? wall time ${elapsed}s"
    exit 2
fi
rc=$(cat "$OUT/rc")
echo "---- v2 lane summary ($OUT) ----"
cat "$OUT/summary.txt"
say "wall time ${elapsed}s, guest pytest exit $rc"
case "$rc" in
    0) exit 0 ;;
    3) exit 3 ;;
    *) exit 1 ;;
esac
