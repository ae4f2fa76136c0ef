#!/usr/bin/env bash
# Install, then run the whole test suite as root. Everything runs inside a network
# namespace of its own (unshare --net): no test can touch the host's interfaces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
exec unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"' pytest "$@"
