#!/usr/bin/env bash
# lxcpy vs the C LXC, in one run, on the same configs, in a throwaway lxcpath and network
# namespace; writes bench/RESULTS.md. As root on Debian 12:
#
#   bash bench/run.sh                 # measure, write bench/results/latest.json + RESULTS.md
#   bash bench/run.sh --save-before   # the same, and keep this run as the "before" column
#   bash bench/run.sh --report-only   # rebuild RESULTS.md from the saved JSON files
#   bash bench/run.sh --ref HEAD       # measure a commit (git archive) instead of the work tree
#                                      # (others' uncommitted edits stay out of the numbers)
#
# Installs what it needs: Debian's lxc (5.0.2) and hyperfine, lxcpy's own set-up
# (scripts/install.sh), and a REGULAR (non-editable) install of lxcpy with compiled
# bytecode in bench/.venv-bench (this environment sets PYTHONDONTWRITEBYTECODE=1, so an
# editable install would recompile every module on every start).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench
RESULTS=$BENCH/results
VENV=$BENCH/.venv-bench
save_before=0
report_only=0
ref=""
while [ $# -gt 0 ]; do
  case $1 in
    --save-before) save_before=1 ;;
    --report-only) report_only=1 ;;
    --ref) ref=${2:?--ref needs a commit}; shift ;;
    *) echo "usage: bash bench/run.sh [--save-before|--report-only] [--ref COMMIT]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run me as root" >&2; exit 1; }
[ -z "$ref" ] || ref=$(git rev-parse --short "$ref^{commit}")  # fixed now: HEAD moves meanwhile
mkdir -p "$RESULTS"

if [ "$report_only" = 1 ]; then
  "$VENV/bin/python" "$BENCH/report.py" --latest "$RESULTS/latest.json" \
    --before "$RESULTS/before.json" --output "$BENCH/RESULTS.md"
  exit 0
fi

started=$(date +%s)
say() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# ---- 1. what the benchmark needs ---------------------------------------------------------
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/lxc-execute ] || need+=(lxc)
if [ "${#need[@]}" -gt 0 ]; then
  say "apt-get install ${need[*]}"
  # keep Debian's lxc-net from creating lxcbr0 on the host while installing
  guard=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; guard=1
  fi
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${need[@]}" >/dev/null
  [ "$guard" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
# lxcpy's own set-up only when .venv lacks it: re-running it reinstalls the editable package
# under other engineers' running tests
if [ -f scripts/install.sh ] && ! .venv/bin/python -c 'import click, pyroute2, prctl, lxcpy' 2>/dev/null; then
  say "bash scripts/install.sh"
  bash scripts/install.sh
fi

# ---- 2. a regular install of lxcpy with compiled bytecode ---------------------------------
if ! bash scripts/regular-install.sh "$VENV" ${ref:+"$ref"}; then
  say "not measuring a stale install"; exit 1
fi
what="the working tree"
[ -n "$ref" ] && what="git $(git rev-parse --short "$ref") (git archive, without uncommitted edits)"
install_mode="regular pip install (non-editable) of $what into bench/.venv-bench; site-packages byte-compiled with compileall; lxcpy's launchers given \`-IS\` on their \`#!\` line"

# ---- 3. measure, in a throwaway lxcpath and network namespace -----------------------------
work=$(mktemp -d /tmp/lxcpybench.XXXXXX)
LXCPYBENCH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
export LXCPYBENCH_HOST_NETNS
pivot_existed=()
for h in /sys/fs/cgroup/*/; do [ -d "$h/lxc.pivot" ] && pivot_existed+=("$h"); done
cleanup() {
  set +e
  if [ -s "$work/netns-inode" ]; then
    "$VENV/bin/python" "$BENCH/harness.py" --kill-netns "$(cat "$work/netns-inode")"
  fi
  for lp in "$work/lp-lxc" "$work/lp-lxcpy"; do
    rm -rf "/run/lxc/lock/${lp#/}"
    d=$("$VENV/bin/python" -c 'import sys; from lxcpy.paths import lxcpath_rundir; print(lxcpath_rundir(sys.argv[1]))' "$lp" 2>/dev/null)
    [ -n "$d" ] && [ -d "$d" ] && rm -rf "$d"
  done
  rmdir -p "/run/lxc/lock${work}" 2>/dev/null
  # cgroups of our containers (all named lbC-* / lbP-*), deepest first, only if empty
  find /sys/fs/cgroup -depth -type d \( -name 'lxc.payload.lb[CP]-*' -o -name 'lxc.monitor.lb[CP]-*' \) \
    -exec rmdir {} \; 2>/dev/null
  for h in /sys/fs/cgroup/*/; do
    if [ -d "$h/lxc.pivot" ] && [[ ! " ${pivot_existed[*]} " =~ " $h " ]]; then
      rmdir "$h/lxc.pivot" 2>/dev/null
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

raw=$RESULTS/raw
rm -rf "$raw"; mkdir -p "$raw"
say "measuring (throwaway lxcpaths in $work, private network namespace)"
(cd "$work" && timeout -k 30 780 unshare --net --mount --propagation private \
  bash "$BENCH/netns-wrap.sh" "$VENV/bin/python" "$BENCH/harness.py" \
    --work "$work" --lxcpy-bin "$VENV/bin" --python "$VENV/bin/python" \
    --raw "$raw" --out "$RESULTS/latest.json" ${BENCH_ONLY:+--only "$BENCH_ONLY"}) || say "harness exited with $?"

BENCH_REF=$ref "$VENV/bin/python" "$BENCH/report.py" --annotate "$RESULTS/latest.json" \
  --install-mode "$install_mode" --seconds "$(( $(date +%s) - started ))"
if [ "$save_before" = 1 ]; then
  cp "$RESULTS/latest.json" "$RESULTS/before.json"
  say "kept this run as bench/results/before.json"
fi
"$VENV/bin/python" "$BENCH/report.py" --latest "$RESULTS/latest.json" \
  --before "$RESULTS/before.json" --output "$BENCH/RESULTS.md"
say "wrote bench/RESULTS.md in $(( $(date +%s) - started )) s"
