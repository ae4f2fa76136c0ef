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

# Debian's own interpreter, the one the packages above installed and a fresh Debian host runs
# as python3: another python3 earlier on PATH (pyenv's here) is a shared-libpython build
# without PGO/LTO that starts every command ~20% slower (bench/NOTES.md).
python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v '^WARNING' || true
.venv/bin/python -c 'import click, pyroute2, prctl, lxcpy' >/dev/null

# The man pages and bash completion ([tool.setuptools.data-files]) go where a regular pip
# install puts them; an editable install skips data files (setuptools), so they are linked
# there (live: `python -m lxcpy.cli.docs` regenerates them in place). man finds
# .venv/share/man through .venv/bin on PATH.
mkdir -p .venv/share/man/man1 .venv/share/bash-completion/completions
for page in man/man1/*.1; do
  ln -sfn "$PWD/$page" ".venv/share/man/man1/${page##*/}"
done
find .venv/share/man/man1 -xtype l -delete  # a page no longer generated
ln -sfn "$PWD/completion/lxc" .venv/share/bash-completion/completions/lxc
