#!/usr/bin/env bash
# A regular (non-editable) install of lxcpy, as a distribution would make it: bytecode
# compiled, lxcpy's launchers run as `python -IS` (no site module, no PYTHON* variables).
# bench/run.sh measures this install; scripts/regular-lane.sh tests it.
#
#   bash scripts/regular-install.sh VENV [COMMIT]   # COMMIT: git archive it (without the
#                                                   # work tree's uncommitted edits)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:?usage: regular-install.sh VENV [COMMIT]}
ref=${2:-}
say() { echo "[regular-install $(date +%H:%M:%S)] $*" >&2; }

# the interpreter scripts/install.sh gives lxcpy (Debian's own where there is one)
base_python=python3
if [ -x .venv/bin/python ]; then
  base_python=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
fi
[ -x /usr/bin/python3 ] && base_python=/usr/bin/python3
if [ -x "$venv/bin/python" ] && [ "$(readlink -f "$("$venv/bin/python" -c 'import sys; print(sys._base_executable)')")" != "$(readlink -f "$base_python")" ]; then
  say "$venv was made from another interpreter: making it again from $base_python"
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv from $base_python"
  "$base_python" -m venv "$venv"
fi
src=$(mktemp -d /tmp/lxcpy-regular-src.XXXXXX)
# build from a copy: a build in the tree would leave build/ and egg-info behind
if [ -n "$ref" ]; then
  # man/ and completion/ too: pyproject's data-files name them, and a build without them
  # fails (the old install would then be used)
  git archive "$ref" pyproject.toml lxcpy bin README.md man completion | tar -x -C "$src"
else
  cp -a pyproject.toml lxcpy bin man completion "$src/"
  [ -f README.md ] && cp README.md "$src/"
fi
find "$src" -name __pycache__ -prune -exec rm -rf {} +
"$venv/bin/python" -c 'import tomllib,sys; print("\n".join(tomllib.load(open(sys.argv[1],"rb"))["project"]["dependencies"]))' \
  pyproject.toml > "$src/requirements.txt"
say "pip install (regular, non-editable) lxcpy into $venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$src/requirements.txt" 2>&1 | grep -v '^WARNING' || true
if ! "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$src" \
    > "$src.log" 2>&1; then
  grep -v '^WARNING' "$src.log" | tail -20 >&2; rm -rf "$src" "$src.log"
  say "pip install of lxcpy failed"; exit 1
fi
rm -rf "$src" "$src.log"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$venv/bin/python" -m compileall -q -j 0 "$site" >/dev/null || true
# lxcpy's launchers run as `python -IS` (isolated, no site module: ~2-3 ms a start); pip
# writes a bare `#!python` line, so the flag is added here (the launchers find their
# site-packages themselves). A kernel passes one shebang argument: -IS, not -I -S.
for launcher in $(grep -l "lxcpy's launcher" "$venv"/bin/lxc-* "$venv"/bin/lxcpy-* 2>/dev/null); do
  sed -i '1s|^\(#!.*python[0-9.]*\)$|\1 -IS|' "$launcher"
done
(cd / && "$venv/bin/python" -c 'import lxcpy, sys; assert "site-packages" in lxcpy.__file__, lxcpy.__file__')
