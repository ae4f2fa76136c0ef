"""ruff and mypy as configured in pyproject.toml: a finding fails the test.

ruff covers lxcpy/ and tests/; mypy covers all of lxcpy/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["lxcpy"]


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e .[test])")
    return found


def test_ruff_finds_nothing() -> None:
    r = subprocess.run([_tool("ruff"), "check", "lxcpy", "tests"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_finds_nothing() -> None:
    r = subprocess.run([_tool("mypy"), "--no-error-summary", "--follow-imports=silent", *CHECKED],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
