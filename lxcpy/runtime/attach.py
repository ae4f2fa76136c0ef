"""lxc-attach: run a program in a running container's namespaces, cgroup and confinement.

The confinement is the RUNNING container's, never the config file's (which may have been
edited since, or never held the start's ``-s``/``-f`` settings): the capability bounding
set and no_new_privs of the container's init (/proc/PID/status), and the very seccomp
program the supervisor loaded (recorded in the run directory), applied last before exec.

Our /proc/self/exe is the host's Python interpreter, so the attaching process makes itself
non-dumpable before it joins the container and execs promptly: a process in the container
cannot open /proc/<pid>/exe of it (the runc CVE-2019-5736 class).
"""

from __future__ import annotations

import errno
import os
import sys
from typing import TYPE_CHECKING

from lxcpy import kernel as k
from lxcpy.errors import NotRunning

if TYPE_CHECKING:
    from lxcpy.container import Container
    from lxcpy.runtime.confine import Running

# user and time namespaces are not created by lxcpy; mnt last so /proc paths still resolve
ORDER = ("cgroup", "ipc", "uts", "net", "pid", "mnt")


def attach(container: Container, init_pid: int, cgroup_paths: list[str], argv: list[str],
           env: dict[str, str] | None, clear_env: bool) -> int:
    from lxcpy.runtime.confine import running_confinement

    # read before anything is joined: the init's status and the recorded filter are host files
    running = running_confinement(container.paths, init_pid)
    fds = []
    try:
        for ns in ORDER:
            if not k.same_namespace("self", init_pid, ns):
                fds.append((ns, os.open(k.ns_path(init_pid, ns), os.O_RDONLY | os.O_CLOEXEC)))
    except FileNotFoundError:
        for _, fd in fds:
            os.close(fd)
        raise NotRunning(f"{container.name} is not running") from None
    if not argv:
        argv = ["/bin/sh"]
    environment = _environment(env, clear_env)
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        code = 1
        try:
            code = _child(cgroup_paths, fds, running, argv, environment, status_w)
        except BaseException as exc:  # noqa: BLE001 - one line, never a traceback
            sys.stderr.write(f"lxc-attach: {container.name}: {exc}\n")
        os._exit(code)
    os.close(status_w)
    for _, fd in fds:
        os.close(fd)
    os.read(status_r, 1)
    os.close(status_r)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1


def _environment(env: dict[str, str] | None, clear_env: bool) -> dict[str, str]:
    if clear_env:
        from lxcpy.runtime.child import DEFAULT_PATH

        base = {"PATH": DEFAULT_PATH}
    else:
        base = dict(os.environ)
    base["container"] = "lxc"
    base.update(env or {})
    return base


def _child(cgroup_paths: list[str], fds: list[tuple[str, int]], running: Running,
           argv: list[str], env: dict[str, str], status_w: int) -> int:
    k.prctl(k.PR_SET_DUMPABLE, 0)
    for path in cgroup_paths:
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        except FileNotFoundError:
            continue
    # now: in the container's mount namespace the host's Python files are out of reach
    from lxcpy.runtime.confine import confine, preload

    preload(running.seccomp)
    drop = running.drop()
    for ns, fd in fds:
        k.setns(fd, k.NAMESPACES[ns][0])
        os.close(fd)
    os.chdir("/")
    exec_r, exec_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()  # the PID namespace applies to children only
    if pid == 0:
        os.close(exec_r)
        # only 0, 1 and 2 reach the program: a caller's fd (a host directory, a file) would
        # be a way out of the container (runc CVE-2024-21626 class); close_range(2), fast
        os.closerange(3, exec_w)
        os.closerange(exec_w + 1, 1 << 30)
        try:
            confine(drop, running.no_new_privs, running.seccomp)  # the filter last
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            os.write(exec_w, str(exc.errno).encode())
        os._exit(127)
    os.close(exec_w)
    os.write(status_w, b"x")
    failure = os.read(exec_r, 32)
    if failure:
        err = int(failure)
        sys.stderr.write(f"lxc-attach: failed to exec '{argv[0]}': {os.strerror(err)}\n")
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if failure:
        return 126 if int(failure) in (errno.EACCES, errno.ENOEXEC) else 127
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
