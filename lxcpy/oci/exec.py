"""``exec``: a new process in a running container, as runc's ``exec``.

The caller forks a joiner that enters the init's namespaces (user first, mount last) and
cgroup, and forks the process itself (a PID namespace applies to children only); the
joiner then exits at once, so the process is re-parented to the caller, a subreaper
(PR_SET_CHILD_SUBREAPER) — or, once a ``--detach``ed caller has exited, to its own
subreaper (podman's conmon), which is what the OCI contract needs. The confinement is the
running init's (capability bounding set, no_new_privs, the very seccomp filter create
compiled), further lowered by the process's uid/gid.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct
import termios
from dataclasses import dataclass, field

from lxcpy import kernel as k
from lxcpy.oci.state import StateError

ORDER = ("user", "cgroup", "ipc", "uts", "net", "pid", "mnt")


@dataclass
class Process:
    args: list[str]
    env: list[tuple[str, str]] = field(default_factory=list)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    groups: list[int] = field(default_factory=list)
    terminal: bool = False
    no_new_privs: bool = False
    caps_add: list[str] = field(default_factory=list)  # --cap: kept though the init lacks them
    bounding: list[str] | None = None  # --process's capabilities.bounding: exactly these
    cgroup_paths: list[str] | None = None  # --cgroup: the sub-cgroups to join instead


def run(init_pid: int, cgroup_paths: list[str], seccomp_file: str, proc: Process,
        console_master_to: str | None, pid_file: str | None, detach: bool,
        preserve_fds: int) -> int:
    from lxcpy.runtime.confine import Running, running_confinement

    running: Running = running_confinement(
        _SeccompPaths(seccomp_file), init_pid)  # type: ignore[arg-type]
    if proc.cgroup_paths is not None:
        cgroup_paths = proc.cgroup_paths
    fds = []
    for ns in ORDER:
        if not k.same_namespace("self", init_pid, ns):
            fds.append((ns, os.open(k.ns_path(init_pid, ns), os.O_RDONLY | os.O_CLOEXEC)))
    # then the init's root: without a mount namespace of its own (or in a joined one) it is
    # a detached tree (lxcpy.runtime.ocimounts.enter_tree), not that namespace's /
    fds.append(("root", os.open(f"/proc/{init_pid}/root",
                                os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)))
    console = None
    if proc.terminal:  # connected now: its path is the host's, the joiner's view is not
        console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            console.connect(console_master_to or "")
        except OSError as exc:
            console.close()
            raise StateError(f"cannot connect to the console socket {console_master_to}: "
                             f"{exc.strerror}") from None
    k.prctl(k.PR_SET_CHILD_SUBREAPER, 1)
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    joiner = os.fork()
    if joiner == 0:
        os.close(report_r)
        code = 1
        try:
            _joiner(cgroup_paths, fds, running, proc, console, report_w, preserve_fds)
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported as one line
            _write(report_w, f"error {exc}")
        os._exit(code)
    os.close(report_w)
    for _, fd in fds:
        os.close(fd)
    if console is not None:
        console.close()
    data = b""
    while chunk := os.read(report_r, 4096):
        data += chunk
    os.close(report_r)
    os.waitpid(joiner, 0)
    text = data.decode(errors="replace")
    if not text.startswith("pid "):
        raise StateError(text.removeprefix("error ").strip() or "exec failed")
    pid_text, _, failure = text[4:].partition(" ")
    pid = int(pid_text)
    if failure:
        _reap(pid)
        raise StateError(failure.strip())
    if pid_file:
        tmp = f"{pid_file}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(str(pid))
        os.rename(tmp, pid_file)
    if detach:
        return 0
    return _reap(pid)


class _SeccompPaths:
    """running_confinement() reads ``paths.seccomp``: the filter create recorded."""

    def __init__(self, seccomp: str) -> None:
        self.seccomp = seccomp or "/nonexistent-lxcpy-oci-seccomp"


def _reap(pid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def _write(fd: int, text: str) -> None:
    try:
        os.write(fd, text.encode(errors="replace"))
    except OSError:
        pass


def _joiner(cgroup_paths: list[str], fds: list[tuple[str, int]], running: object,
            proc: Process, console: socket.socket | None, report_w: int,
            preserve_fds: int) -> None:
    from lxcpy.runtime.confine import confine, preload

    k.prctl(k.PR_SET_DUMPABLE, 0)
    for path in cgroup_paths:
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        except FileNotFoundError:
            continue
    preload(running.seccomp)  # type: ignore[attr-defined]
    import warnings  # noqa: F401 - os.execvpe imports it, after the chroot below
    drop = running.drop()  # type: ignore[attr-defined]
    if proc.bounding is not None:
        import prctl

        drop = [c for c in prctl.ALL_CAP_NAMES if c not in proc.bounding]
    # --cap: the process gets them in every set but the ambient one, as runc 1.1's exec
    drop = [c for c in drop if c not in proc.caps_add]
    for ns, fd in fds:
        if ns == "root":
            os.fchdir(fd)
            os.chroot(".")
            os.close(fd)
            continue
        k.setns(fd, k.NAMESPACES[ns][0])
        os.close(fd)
        if ns == "user":
            os.setgroups([])
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
    slave = -1
    if console is not None:
        slave = _container_pty(console)
    exec_r, exec_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(exec_r)
        try:
            if slave >= 0:
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for target in (0, 1, 2):
                    os.dup2(slave, target)
            keep_to = 3 + preserve_fds
            for fd in range(3, keep_to):
                try:
                    os.set_inheritable(fd, True)
                except OSError:
                    pass
            # nothing of ours reaches the process (runc CVE-2024-21626 class)
            os.closerange(keep_to, exec_w)
            os.closerange(exec_w + 1, 1 << 20)
            os.chdir(proc.cwd)
            # as the init (runc's order): the ids, keeping the capabilities; then the
            # capability drop, no_new_privs and the filter last
            import prctl

            k.prctl(8, 1)  # PR_SET_KEEPCAPS
            os.setgroups(proc.groups)
            os.setgid(proc.gid)
            os.setuid(proc.uid)
            k.prctl(8, 0)
            for name in prctl.ALL_CAP_NAMES:  # setuid() cleared the effective set
                if getattr(prctl.cap_permitted, name):
                    setattr(prctl.cap_effective, name, True)
            confine(drop, running.no_new_privs or proc.no_new_privs,  # type: ignore[attr-defined]
                    running.seccomp)  # type: ignore[attr-defined]
            env = dict(proc.env)
            os.execvpe(proc.args[0], proc.args, env)
        except OSError as exc:
            _write(exec_w, f"exec failed: {proc.args[0]}: "
                   f"{exc.strerror or os.strerror(exc.errno or errno.EIO)}")
        except BaseException as exc:  # noqa: BLE001
            _write(exec_w, f"exec failed: {exc}")
        os._exit(127)
    os.close(exec_w)
    failure = b""
    while chunk := os.read(exec_r, 4096):
        failure += chunk
    _write(report_w, f"pid {pid} {failure.decode(errors='replace')}".rstrip()
           if failure else f"pid {pid}")


TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441


def _container_pty(console: socket.socket) -> int:
    """A pty of the container's own devpts (so ``tty`` names it inside, as runc's): its
    master to the console socket, its slave (opened through the master, no path) ours."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        socket.send_fds(console, [b"/dev/ptmx"], [master])
    finally:
        os.close(master)
    return slave
