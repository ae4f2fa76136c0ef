"""The small init of lxc-execute: PID 1 of the container, the command is PID 2.

It reaps every zombie, forwards SIGTERM/SIGINT/SIGHUP/SIGUSR1/SIGUSR2/SIGPWR (and a few
more) to the command, and exits with the command's status (128+N for death by signal N).
When PID 1 exits, the kernel kills whatever is left in the PID namespace.
"""

from __future__ import annotations

import _signal as signal  # not signal: its IntEnums (enum) cost every start
import errno
import os

from lxcpy import kernel as k
from lxcpy.errors import exec_status

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from typing import Protocol

    from lxcpy.runtime.sync import Channel

    class ChildSpec(Protocol):
        """What the init reads of runtime.child's ChildSpec (child calls init, not back)."""

        argv: list[str]
        prog: str
        name: str

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGPWR, signal.SIGQUIT, signal.SIGCONT, signal.SIGWINCH)


def print_error(prog: str, name: str, message: str) -> None:
    import sys

    sys.stderr.write(f"{prog}: {name}: {message}\n")
    sys.stderr.flush()


def run_init(spec: ChildSpec, chan: Channel, env: dict[str, str]) -> None:
    k.set_process_name("init")
    # A process in the container must not reach our host binary through /proc/1/exe.
    # (A non-root user's container: its root cannot write root's binary, and the user must
    # reach /proc/1/ns to attach; become_root made it dumpable.)
    from lxcpy.paths import USER_MODE

    if not USER_MODE:
        k.prctl(k.PR_SET_DUMPABLE, 0)
    # The forwarders are in place before the command exists and before RUNNING is
    # reported: PID 1 drops a signal it has no handler for, so a Ctrl-C right after
    # RUNNING would be lost. What arrives before the command has a PID waits in `early`.
    target = [0]
    early: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if target[0] <= 0:
            early.append(signum)
            return
        try:
            os.kill(target[0], signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    failure = b""
    try:
        pid = _spawn(spec.argv, env)
    except OSError:
        pid = -1  # the fork below reproduces the error exactly as before
    if pid < 0:
        pid, failure = _fork_exec(spec, chan, env)

    command_status: int | None = None
    if failure:
        err = int(failure)
        code = exec_status(err)
        print_error(spec.prog, spec.name, f"{spec.argv[0]}: {os.strerror(err)}")
        command_status = code
    target[0] = pid
    for signum in early:
        forward(signum, None)
    from lxcpy.runtime import sync

    sync.fault_point("running")
    chan.send(sync.RUNNING, command_pid=pid)
    chan.close()
    while True:
        try:
            child, status = os.wait()
        except ChildProcessError:
            break
        if child == pid and command_status is None:
            code = os.waitstatus_to_exitcode(status)
            command_status = code if code >= 0 else 128 - code
            break
    os._exit(command_status if command_status is not None else 0)


def _spawn(argv: list[str], env: dict[str, str]) -> int:
    """posix_spawn the command (vfork + exec: ~0.6 ms, where fork() of this big Python
    process and exec cost 3-8 ms); PATH from ``env`` like execvpe. Any error raises.

    The PATH search looks (no spawn per directory): every failed spawn would use up a PID,
    and the command must be PID 2, as in LXC.
    """
    path = argv[0]
    if "/" not in path:
        for directory in exec_path(env):
            candidate = os.path.join(directory, path)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                path = candidate
                break
        else:
            raise FileNotFoundError(errno.ENOENT, path)
    if not _runs_by_itself(path):
        return -1  # a script without #! (execvpe's /bin/sh) or worse: the fork path
    return os.posix_spawn(path, argv, env)


def _runs_by_itself(path: str) -> bool:
    """An ELF binary or a #! script: what posix_spawn runs (a failed spawn would use up
    PID 2); anything else - ENOEXEC's /bin/sh, a binfmt_misc format - goes through fork."""
    if not os.path.isfile(path):  # (opening a device could act on it)
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        head = os.read(fd, 4)
    except OSError:
        return False
    finally:
        os.close(fd)
    return head == b"\x7fELF" or head[:2] == b"#!"


def exec_path(env: dict[str, str]) -> list[str]:
    """os.get_exec_path(env) for a str environment, without its ``import warnings``: that
    import, here after the fork, un-shares ~450 KiB of the supervisor's pages (20 running:
    each of the two processes' PSS -220 KiB), and after pivot_root it cannot be found."""
    path_list = env.get("PATH")
    return (os.defpath if path_list is None else path_list).split(os.pathsep)


def execvpe(argv: list[str], env: dict[str, str]) -> None:
    """os.execvpe, as the C library's execvp runs a command: PATH from ``env`` (see
    exec_path: without os.get_exec_path's import), and a file the kernel cannot run for
    want of a ``#!`` line (ENOEXEC) is run by /bin/sh, as LXC's lxc-init, lxc-attach and
    start run it (glibc's execvp). Raises what os.execvpe would: the first error other
    than ENOENT/ENOTDIR, else the last."""
    name = argv[0]
    if os.path.dirname(name):
        _execve_or_sh(name, argv, env)
    saved: OSError | None = None
    last: OSError = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
    for directory in exec_path(env):
        try:
            _execve_or_sh(os.path.join(directory, name), argv, env)
        except (FileNotFoundError, NotADirectoryError) as exc:
            last = exc
        except OSError as exc:
            last = exc
            if saved is None:
                saved = exc
    raise saved if saved is not None else last


def _execve_or_sh(path: str, argv: list[str], env: dict[str, str]) -> None:
    try:
        os.execve(path, argv, env)
    except OSError as exc:
        if exc.errno != errno.ENOEXEC:
            raise
        try:  # glibc's maybe_script_execute: the shell gets the file and the arguments
            os.execve("/bin/sh", ["/bin/sh", path, *argv[1:]], env)
        except OSError:
            raise exc from None  # no shell: the file's own error, not the shell's


def _fork_exec(spec: ChildSpec, chan: Channel, env: dict[str, str]) -> tuple[int, bytes]:
    """fork + exec (PATH as execvpe); returns (pid, the exec's errno as text, empty when
    it succeeded)."""
    exec_r, exec_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(exec_r)
        chan.close()
        try:
            execvpe(spec.argv, env)
        except OSError as exc:
            os.write(exec_w, str(exc.errno).encode())
        os._exit(127)
    os.close(exec_w)
    failure = os.read(exec_r, 32)
    os.close(exec_r)
    return pid, failure
