#!/usr/bin/env bash
# Install everything lxcpy needs on a Debian 12 machine, as root: system packages and a
# virtual environment in .venv with lxcpy and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3 python3-venv python3-dev gcc libcap-dev libseccomp2 busybox-static iproute2 uidmap procps
          util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v '^WARNING' || true
.venv/bin/python -c 'import click, pyroute2, prctl, lxcpy' >/dev/null
