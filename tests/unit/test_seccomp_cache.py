"""Compiled seccomp programs are reused by content, and only from root's own files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lxcpy.config.seccomp import Action, Policy, Rule
from lxcpy.kernel import seccomp

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the cache is root's")


def policy(errno: int = 1, line: int = 1, file: str = "a.json") -> Policy:
    return Policy(file, 2, Action("allow"),
                  (Rule("mount", Action("errno", errno), line), Rule("reboot", Action("kill"), 2)))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "seccomp"
    monkeypatch.setattr(seccomp, "CACHE_DIR", str(path))
    return path


def test_a_second_compile_is_read_back(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = seccomp.compile_policy(policy())
    assert len(list(cache.iterdir())) == 1 and cache.stat().st_mode & 0o777 == 0o700

    def no_compile(_: Policy) -> int:
        raise AssertionError("compiled again")

    monkeypatch.setattr(seccomp, "_build", no_compile)
    # the same rules from another file and other lines: the same program
    assert seccomp.compile_policy(policy(line=7, file="b.json")) == first


def test_another_rule_is_another_program(cache: Path) -> None:
    a = seccomp.compile_policy(policy(errno=1))
    b = seccomp.compile_policy(policy(errno=2))
    assert a != b and len(list(cache.iterdir())) == 2
    assert b == seccomp.compile_policy(policy(errno=2))


def test_a_file_others_could_write_is_not_trusted(cache: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real = seccomp.compile_policy(policy())
    (entry,) = cache.iterdir()
    entry.write_bytes(b"\0" * 8)  # a forged program (allow everything) ...
    entry.chmod(0o666)  # ... in a file not only root could have written
    assert seccomp.compile_policy(policy()) == real
    entry.write_bytes(b"\0" * 8)
    entry.chmod(0o600)
    cache.chmod(0o777)  # or in a directory others may write
    assert seccomp.compile_policy(policy()) == real
