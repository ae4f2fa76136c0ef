"""lxc-execute's init finds the command in the container's PATH itself (runtime/init.py:
exec_path, execvpe) instead of os.execvpe, whose ``import warnings`` would un-share ~450 KiB
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


def _script(directory: Path) -> Path:
    """An executable file without a #! line: the kernel refuses it (ENOEXEC); LXC's
    lxc-init and lxc-attach run it through /bin/sh (glibc's execvp)."""
    directory.mkdir(exist_ok=True)
    script = directory / "lxcpy-script"
    script.write_text('echo "$$" "$@"\nexit 3\n')
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("by_path", [False, True])
def test_a_script_without_a_hashbang_line_runs_by_sh_as_pid_2(lxcpath: Path, tmp_path: Path,
                                                               by_path: bool) -> None:
    script = _script(tmp_path / "bin")  # no rootfs: the host's tree and its /bin/sh
    name = make(lxcpath, f"lxc.environment = PATH={script.parent}:/bin:/usr/bin\n")
    command = str(script) if by_path else script.name
    r = lxc("execute", "-n", name, "--", command, "a b", "c", lxcpath=lxcpath)
    assert (r.returncode, r.stdout, r.stderr) == (3, "2 a b c\n", "")


def test_lxc_attach_runs_a_script_without_a_hashbang_line_by_sh(lxcpath: Path,
                                                                 tmp_path: Path) -> None:
    script = _script(tmp_path / "bin")
    name = make(lxcpath)
    lxc("start", "-n", name, "-d", "--", "sleep", "1000", lxcpath=lxcpath, check=True)
    try:
        r = lxc("attach", "-n", name, "--", str(script), "x", lxcpath=lxcpath)
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)
    assert r.returncode == 3, r.stderr
    assert r.stdout.split()[1:] == ["x"] and r.stderr == ""


def test_lxc_start_runs_a_script_without_a_hashbang_line_by_sh_as_pid_1(
        lxcpath: Path, tmp_path: Path) -> None:
    script = _script(tmp_path / "bin")
    name = make(lxcpath)
    r = lxc("start", "-n", name, "-F", "--", str(script), "y", lxcpath=lxcpath, timeout=30)
    assert r.stdout.split() == ["1", "y"], (r.returncode, r.stdout, r.stderr)
