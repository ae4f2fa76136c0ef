#!/usr/bin/env bash
# Runs INSIDE the v2 lane's VM (scripts/v2-lane.sh boots it): make sure /sys/fs/cgroup is
# a pure cgroup2 hierarchy with controllers, then run the lane's tests as root and leave
# the results in OUT (the scratch directory shared read-write with the host):
#   OUT/rc  pytest's exit status (missing: the guest never got that far)
#   OUT/junit.xml  OUT/pytest.log  OUT/summary.txt
set -uo pipefail
OUT=${1:?usage: guest.sh OUT}
cd "$(dirname "$0")/../.."
exec > >(tee -a "$OUT/guest.log") 2>&1

say() { echo "v2-lane guest: $*"; }
fail() { say "$*"; echo "$*" > "$OUT/summary.txt"; echo 3 > "$OUT/rc"; exit 3; }

# virtme-ng's init mounts cgroup2 at /sys/fs/cgroup; should another init mount v1
# hierarchies (or nothing), put a lone cgroup2 there ourselves
if [ -n "$(findmnt -rn -t cgroup -o TARGET)" ] \
        || [ "$(findmnt -rn -o FSTYPE /sys/fs/cgroup)" != cgroup2 ]; then
    say "not a pure cgroup2 hierarchy: mounting cgroup2 at /sys/fs/cgroup"
    findmnt -rn -R -o TARGET /sys/fs/cgroup | sort -r | while read -r m; do umount "$m"; done
    mount -t cgroup2 -o nsdelegate none /sys/fs/cgroup || fail "cannot mount cgroup2"
fi
[ -z "$(findmnt -rn -t cgroup -o TARGET)" ] || fail "cgroup v1 hierarchies are still mounted"
controllers=$(cat /sys/fs/cgroup/cgroup.controllers)
for c in cpuset cpu io memory pids; do
    case " $controllers " in *" $c "*) ;; *) fail "no '$c' controller in cgroup2: $controllers";; esac
done
say "kernel $(uname -r), $(nproc) cpus, cgroup2 controllers: $controllers"

# pytest's temporary files on the guest's own tmpfs (fast, gone with the VM)
base=$(mktemp -d /run/v2lane.XXXXXX)
export CI=true LXCPY_V2_LANE=1 PATH="$PWD/.venv/bin:$PATH"
.venv/bin/python -m pytest -q -p no:cacheprovider -rA --durations=0 -o timeout=900 \
    --basetemp "$base/t" --junitxml "$OUT/junit.xml" tests/v2lane/lane_*.py \
    > "$OUT/pytest.log" 2>&1
rc=$?
cat "$OUT/pytest.log"
{
    grep -E '^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) ' "$OUT/pytest.log"
    grep -E '^V2LANE-BENCH ' "$OUT/pytest.log"
    tail -n 1 "$OUT/pytest.log"
} > "$OUT/summary.txt"
echo "$rc" > "$OUT/rc"
exit "$rc"
