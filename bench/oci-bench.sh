#!/bin/bash
# lxcpy-oci beside runc, as ratios in one run (as root):
#   bash bench/oci-bench.sh [RUNS] [OUT.md]     (default 10 runs, bench/OCI-BENCH.md)
# 1. `create` + `start` + wait for the exit + `delete` of a busybox bundle running `true`
# 2. `podman run --rm --network none IMAGE true` with each runtime (an image imported
#    offline from a busybox-static tree; podman's storage is a throwaway directory)
# Medians of RUNS timed runs after one warm-up, in a network namespace of their own.
# lxcpy-oci is a regular (non-editable) install of the work tree with compiled bytecode in
# bench/.venv-bench, made as bench/run.sh makes it (this environment sets
# PYTHONDONTWRITEBYTECODE=1: an editable install recompiles every module on every start);
# LXCPY_OCI=PATH times another lxcpy-oci instead.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
out=${2:-$here/bench/OCI-BENCH.md}
[ "$(id -u)" = 0 ] || { echo "oci-bench: run as root" >&2; exit 1; }
if [ -z "${OCI_BENCH_NETNS:-}" ]; then  # never near the host's interfaces
    OCI_BENCH_NETNS=1 exec unshare --net -- bash "$0" "$@"
fi
ip link set lo up
install_mode="a regular install of lxcpy with compiled bytecode (bench/.venv-bench, as bench/run.sh makes it)"
if [ -n "${LXCPY_OCI:-}" ]; then
    ours=$LXCPY_OCI
    install_mode="$ours"
else
    venv=$here/bench/.venv-bench
    if [ ! -x "$venv/bin/python" ]; then
        "$("$here/.venv/bin/python" -c 'import sys; print(sys._base_executable)')" -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check click pyroute2 python-prctl \
            2>&1 | grep -v '^WARNING'
    fi
    src=$(mktemp -d /tmp/oci-bench-src.XXXXXX)
    (cd "$here" && cp -a pyproject.toml lxcpy bin README.md man completion "$src/")
    find "$src" -name __pycache__ -prune -exec rm -rf {} +
    "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$src" \
        2>&1 | grep -v '^WARNING'
    rm -rf "$src"
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    "$venv/bin/python" -m compileall -q -j 0 "$site" >/dev/null
    for launcher in $(grep -l "lxcpy's launcher" "$venv"/bin/lxc-* "$venv"/bin/lxcpy-* 2>/dev/null); do
        sed -i '1s|^\(#!.*python[0-9.]*\)$|\1 -IS|' "$launcher"  # as bench/run.sh
    done
    ours=$venv/bin/lxcpy-oci
    (cd / && "$venv/bin/python" -c 'import lxcpy; assert "site-packages" in lxcpy.__file__') ||
        { echo "oci-bench: the install into $venv failed" >&2; exit 1; }
fi
for p in runc podman busybox; do
    command -v $p >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y \
        "$([ $p = busybox ] && echo busybox-static || echo $p)" >/dev/null
done
work=$(mktemp -d /tmp/oci-bench.XXXXXX)
trap 'podman $PODMAN_OPTS rmi -a -f >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/"{proc,dev,sys,tmp}
cp "$(command -v busybox)" "$work/bundle/rootfs/bin/busybox"
for a in true sh; do ln -s busybox "$work/bundle/rootfs/bin/$a"; done
(cd "$work/bundle" && "$ours" spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/; s/\["sh"\]/["true"]/' config.json)
tar -C "$work/bundle/rootfs" -cf "$work/image.tar" .
PODMAN_OPTS="--root $work/storage --runroot $work/run --tmpdir $work/tmp --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
podman $PODMAN_OPTS import "$work/image.tar" localhost/oci-bench:latest >/dev/null

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
cycle() {  # runtime root
    local rt=$1 root=$2 id=b$RANDOM$RANDOM
    "$rt" --root "$root" create --bundle "$work/bundle" "$id" </dev/null >/dev/null 2>&1
    "$rt" --root "$root" start "$id"
    while "$rt" --root "$root" state "$id" 2>/dev/null | grep -q '"running"'; do :; done
    "$rt" --root "$root" delete --force "$id"
}
measure() {  # command... -> median milliseconds
    local i t0 times=()
    "$@" >/dev/null 2>&1
    for i in $(seq "$runs"); do
        t0=$(now); "$@" >/dev/null 2>&1; times+=($(( ($(now) - t0) / 1000000 )))
    done
    printf "%s\n" "${times[@]}" | median
}
export -f cycle now
run_all() {
    c_runc=$(measure cycle "$(command -v runc)" "$work/runc-root")
    c_ours=$(measure cycle "$ours" "$work/ours-root")
    p_runc=$(measure podman $PODMAN_OPTS --runtime "$(command -v runc)" run --rm --network none \
        --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 localhost/oci-bench true)
    p_ours=$(measure podman $PODMAN_OPTS --runtime "$ours" run --rm --network none \
        --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 localhost/oci-bench true)
}
run_all
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
{
    echo "# lxcpy-oci beside runc"
    echo
    echo "Written by \`bash bench/oci-bench.sh $runs\` on $(date -u '+%Y-%m-%d %H:%M UTC'): medians"
    echo "of $runs runs after a warm-up ($(runc --version | head -1), $(podman --version),"
    echo "$install_mode)."
    echo
    echo "| what | runc | lxcpy-oci | ratio |"
    echo "|---|---|---|---|"
    echo "| create + start + wait + delete (\`true\`) | $c_runc ms | $c_ours ms | $(ratio "$c_ours" "$c_runc") |"
    echo "| podman run --rm IMAGE true | $p_runc ms | $p_ours ms | $(ratio "$p_ours" "$p_runc") |"
} > "$out"
cat "$out"
