"""lxc-execute's init finds the command in the container's PATH itself (runtime/init.py:
exec_path, _execvpe) instead of os.execvpe, whose ``import warnings`` would un-share ~450 KiB
of the supervisor's pages in every init and cannot run after pivot_root. What it must keep:
execvpe's search order and its error (the first one other than ENOENT/ENOTDIR, else
ENOENT), 127/126 and one line naming the command, and the command as PID 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import lxc, make

pytestmark = pytest.mark.root


def test_a_name_found_in_a_later_path_entry_runs_as_pid_2(lxcpath: Path,
                                                          probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.environment = PATH=/nonexistent:/usr/nothing:/bin\n",
                rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "--", "sh", "-c", "echo $$", lxcpath=lxcpath)
    assert (r.returncode, r.stdout, r.stderr) == (0, "2\n", "")


def test_a_name_nowhere_in_path_is_127_after_pivot_root(lxcpath: Path,
                                                       probe_rootfs: Path) -> None:
    name = make(lxcpath, rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "--", "lxcpy-no-such-command", lxcpath=lxcpath)
    assert r.returncode == 127
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "lxcpy-no-such-command: No such file or directory" in lines[0]


def test_a_name_found_only_without_x_bit_is_126_permission_denied(lxcpath: Path,
                                                                  tmp_path: Path) -> None:
    # no rootfs (LXC's lxc-execute runs in the host's tree): PATH can name our directories
    empty, noexec = tmp_path / "empty", tmp_path / "noexec"
    empty.mkdir()
    noexec.mkdir()
    (noexec / "lxcpy-cmd").write_text("#!/bin/sh\necho ran\n")
    (noexec / "lxcpy-cmd").chmod(0o644)
    name = make(lxcpath, f"lxc.environment = PATH={empty}:{noexec}:/nonexistent\n")
    r = lxc("execute", "-n", name, "--", "lxcpy-cmd", lxcpath=lxcpath)
    assert r.returncode == 126, (r.stdout, r.stderr)
    assert "ran" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "lxcpy-cmd: Permission denied" in lines[0]
