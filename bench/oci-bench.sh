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

# the cycle, and a timer: wall time and the CPU time (user + system) of each command's
# whole process tree -- the container's init too, which leaves its creator (a subreaper
# collects it) -- runc's and ours interleaved, one warm-up each, medians
cat > "$work/cycle.sh" <<'EOS'
rt=$1 root=$2 bundle=$3 id=b$RANDOM$RANDOM
"$rt" --root "$root" create --bundle "$bundle" "$id" </dev/null >/dev/null 2>&1
"$rt" --root "$root" start "$id"
while "$rt" --root "$root" state "$id" 2>/dev/null | grep -q '"running"'; do :; done
"$rt" --root "$root" delete --force "$id"
EOS
cat > "$work/measure.py" <<'EOS'
import ctypes, json, os, resource, statistics, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us
def once(argv):
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall * 1000, (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000
runs, commands = int(sys.argv[1]), json.loads(sys.argv[2])
results = [[] for _ in commands]
for c in commands:
    once(c)
for _ in range(runs):
    for c, r in zip(commands, results):
        r.append(once(c))
print(" ".join(f"{statistics.median(x[0] for x in r):.0f} {statistics.median(x[1] for x in r):.0f}"
               for r in results))
EOS
pair() {  # JSON list of two argv lists -> "wall cpu wall cpu"
    python3 "$work/measure.py" "$runs" "$1"
}
podman_run() {  # runtime -> argv JSON
    printf '["podman", %s, "--runtime", "%s", "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "localhost/oci-bench", "true"]' \
        "$(printf '"%s", ' $PODMAN_OPTS | sed 's/, $//')" "$1"
}
run_all() {
    read -r c_runc c_runc_cpu c_ours c_ours_cpu < <(pair "[[\"bash\", \"$work/cycle.sh\", \"$(command -v runc)\", \"$work/runc-root\", \"$work/bundle\"], [\"bash\", \"$work/cycle.sh\", \"$ours\", \"$work/ours-root\", \"$work/bundle\"]]")
    read -r p_runc p_runc_cpu p_ours p_ours_cpu < <(pair "[$(podman_run "$(command -v runc)"), $(podman_run "$ours")]")
}
run_all
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
{
    echo "# lxcpy-oci beside runc"
    echo
    echo "Written by \`bash bench/oci-bench.sh $runs\` on $(date -u '+%Y-%m-%d %H:%M UTC'): medians"
    echo "of $runs runs after a warm-up, runc's and lxcpy-oci's interleaved ($(runc --version | head -1),"
    echo "$(podman --version), $install_mode; load average $(cut -d' ' -f1 /proc/loadavg) at the end)."
    echo "CPU is user + system time of the whole process tree (the container's init included),"
    echo "which the machine's other load disturbs less than the wall time."
    echo
    echo "| what | runc wall | lxcpy-oci wall | ratio | runc CPU | lxcpy-oci CPU | ratio |"
    echo "|---|---|---|---|---|---|---|"
    echo "| create + start + wait + delete (\`true\`) | $c_runc ms | $c_ours ms | $(ratio "$c_ours" "$c_runc") | $c_runc_cpu ms | $c_ours_cpu ms | $(ratio "$c_ours_cpu" "$c_runc_cpu") |"
    echo "| podman run --rm IMAGE true | $p_runc ms | $p_ours ms | $(ratio "$p_ours" "$p_runc") | $p_runc_cpu ms | $p_ours_cpu ms | $(ratio "$p_ours_cpu" "$p_runc_cpu") |"
} > "$out"
cat "$out"
