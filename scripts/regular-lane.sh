#!/usr/bin/env bash
# The regular-install lane: the integration tests that run every kind of container start
# and every client, against a regular (non-editable) install whose launchers run
# `python -IS` (scripts/regular-install.sh; what bench/ measures and what a distribution
# would ship). The editable .venv's launchers run `site`, whose imports hide a module the
# code needs after entering a container's mount namespace (lxc-attach's `warnings` was
# one); here nothing hides it. As root, after scripts/install.sh (pytest runs from .venv).
#
#   bash scripts/regular-lane.sh [PYTEST-ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d /tmp/lxcpy-regular.XXXXXX)
trap 'rm -rf "$venv"' EXIT
rmdir "$venv"  # regular-install.sh makes the venv there
bash scripts/regular-install.sh "$venv"
tests=(tests/integration/test_execute.py tests/integration/test_execute_path.py
       tests/integration/test_attach_confinement.py tests/integration/test_stop_kill.py
       tests/integration/test_supervisor_clients.py tests/integration/test_error_table.py
       tests/integration/test_contain.py tests/integration/test_network.py
       tests/integration/test_seccomp.py tests/integration/test_userns.py
       tests/integration/test_devices.py tests/integration/test_unshare_device.py)
LXCPY_TEST_BIN=$venv/bin unshare --net -- sh -c \
  'ip link set lo up && exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"' \
  pytest "${tests[@]}" "$@"
