"""lxc-execute's init looks the command up in PATH itself (init.exec_path, execvpe), as
os.get_exec_path/os.execvpe do but without their ``import warnings``: that import, in the
init after the fork, un-shares ~450 KiB of pages it shares with the supervisor."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lxcpy.runtime import init


@pytest.mark.parametrize("path", ["/bin:/usr/bin", "", ":/bin:", "/nonexistent", None])
def test_exec_path_is_get_exec_path(path: str | None) -> None:
    env = {"HOME": "/"} if path is None else {"PATH": path}
    assert init.exec_path(env) == os.get_exec_path(env)


def _outcome(call) -> tuple[type, int | None]:
    with pytest.raises(OSError) as info:
        call()
    return type(info.value), info.value.errno


def _dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """PATH directories: one without the name, one with it not executable, one missing."""
    empty, noexec = tmp_path / "empty", tmp_path / "noexec"
    empty.mkdir()
    noexec.mkdir()
    f = noexec / "lxcpy-no-such-cmd"
    f.write_text("#!/bin/sh\n")
    f.chmod(stat.S_IRUSR)  # as root: exec still needs an x bit
    return empty, noexec, tmp_path / "missing"


@pytest.mark.parametrize("order", [(0, 2), (0, 1, 2), (2, 1), (1,)])
def test_execvpe_raises_what_os_execvpe_raises(tmp_path: Path, order: tuple[int, ...]) -> None:
    # only names that cannot be run: a successful exec would replace the test process
    dirs = _dirs(tmp_path)
    env = {"PATH": os.pathsep.join(str(dirs[i]) for i in order)}
    argv = ["lxcpy-no-such-cmd"]
    ours = _outcome(lambda: init.execvpe(argv, env))
    theirs = _outcome(lambda: os.execvpe(argv[0], argv, env))
    assert ours == theirs


def test_execvpe_with_a_slash_execs_that_path(tmp_path: Path) -> None:
    argv = [str(tmp_path / "absent")]
    env = {"PATH": "/bin:/usr/bin"}  # not searched: the name has a slash
    assert _outcome(lambda: init.execvpe(argv, env)) == (FileNotFoundError, 2)


def test_spawn_finds_the_command_without_importing_warnings() -> None:
    src = str(Path(init.__file__).parents[2])
    code = ("import sys, os\n"
            f"sys.path.insert(0, {src!r})\n"
            "from lxcpy.runtime import init\n"
            "pid = init._spawn(['true'], {'PATH': '/nonexistent:/bin:/usr/bin'})\n"
            "assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0\n"
            "assert 'warnings' not in sys.modules, 'warnings imported'\n")
    # -I -S as lxcpy's launchers run: nothing imported warnings before
    p = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("search", [False, True])
def test_execvpe_runs_a_file_without_a_hashbang_line_by_sh(tmp_path: Path,
                                                            search: bool) -> None:
    """glibc's execvp (LXC's lxc-init, lxc-attach, start): ENOEXEC -> /bin/sh FILE ARGS."""
    script = tmp_path / "lxcpy-script"
    script.write_text('printf "%s|" "$0" "$@" > "$OUT"\nexit 5\n')
    script.chmod(0o755)
    out = tmp_path / "out"
    env = {"PATH": f"{tmp_path / 'missing'}:{tmp_path}", "OUT": str(out)}
    argv = ["lxcpy-script" if search else str(script), "a b", "c"]
    pid = os.fork()
    if pid == 0:
        try:
            init.execvpe(argv, env)
        finally:
            os._exit(99)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 5
    assert out.read_text() == f"{script}|a b|c|"


def test_execvpe_keeps_the_files_own_error_when_it_is_not_enoexec(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    argv = [str(directory)]  # a directory: EACCES, not a job for the shell
    assert _outcome(lambda: init.execvpe(argv, {})) == (PermissionError, 13)
