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

import os
import sys

from lxcpy import kernel as k
from lxcpy.errors import LxcError, NotRunning, exec_status

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from collections.abc import Callable

    from lxcpy.paths import ContainerPaths
    from lxcpy.runtime.confine import Running

# user first: an unprivileged container's other namespaces are owned by its user namespace,
# which gives us the capabilities to join them (LXC's and nsenter's order); mnt last so
# /proc paths still resolve
ORDER = ("user", "cgroup", "ipc", "uts", "net", "pid", "mnt")


class AttachOptions:
    """lxc-attach's options beyond the command and its environment (LXC's meaning)."""

    __slots__ = ("uid", "gid", "namespaces", "elevated", "personality", "remount_sys_proc",
                 "output_log")

    def __init__(self, uid: int | None = None, gid: int | None = None,
                 namespaces: frozenset[str] | None = None, elevated: frozenset[str] = frozenset(),
                 personality: int | None = None, remount_sys_proc: bool = False,
                 output_log: str | None = None) -> None:
        self.uid = uid  # -u: run as this uid (else the caller's, root)
        self.gid = gid  # -g
        self.namespaces = namespaces  # -s: join only these (lxcpy names), None: all
        # -e: CGROUP (stay out of its cgroup), CAP (keep the capabilities), LSM (none here);
        # the seccomp filter and no_new_privs of the init apply always
        self.elevated = elevated
        self.personality = personality  # -a: personality(2) before exec
        self.remount_sys_proc = remount_sys_proc  # -R: fresh /proc and /sys (-s without MOUNT)
        # -L: the program's stdout and stderr also go to this host file (appended)
        self.output_log = output_log


def attach(paths: ContainerPaths, init_pid: int, argv: list[str],
           env: dict[str, str] | None, clear_env: bool,
           opts: AttachOptions | None = None) -> int:
    from lxcpy.runtime.confine import running_confinement

    # read before anything is joined: the init's status and the recorded filter are host files
    running = running_confinement(paths, init_pid)
    opts = opts or AttachOptions()
    fds = []
    try:
        for ns in ORDER:
            if opts.namespaces is not None and ns not in opts.namespaces:
                continue  # -s: the caller's namespace stays
            if not k.same_namespace("self", init_pid, ns):
                fds.append((ns, os.open(k.ns_path(init_pid, ns), os.O_RDONLY | os.O_CLOEXEC)))
    except FileNotFoundError:
        for _, fd in fds:
            os.close(fd)
        raise NotRunning(f"{paths.name} is not running") from None
    if not argv:
        argv = ["/bin/sh"]
    environment = _environment(env, clear_env)
    log = _open_output_log(opts.output_log)
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        code = 1
        try:
            if log is not None:
                os.dup2(log[1], 1)
                os.dup2(log[1], 2)
            code = _child(paths, fds, running, argv, environment, status_w, opts)
        except BaseException as exc:  # noqa: BLE001 - one line, never a traceback
            sys.stderr.write(f"lxc-attach: {paths.name}: {exc}\n")
        os._exit(code)
    os.close(status_w)
    for _, fd in fds:
        os.close(fd)
    os.read(status_r, 1)
    os.close(status_r)
    if log is not None:
        _relay(*log)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1


def _open_output_log(path: str | None) -> tuple[int, int, int] | None:
    """(pipe read end, pipe write end, log fd) for -L; the log opened as root on the host:
    never through a symlink, never a FIFO that would block."""
    if path is None:
        return None
    try:
        log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
                         | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        raise LxcError(f"cannot open the log '{path}': {exc.strerror}") from None
    import stat

    if not stat.S_ISREG(os.fstat(log_fd).st_mode):
        os.close(log_fd)
        raise LxcError(f"cannot log to '{path}': not a regular file")
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    return read_end, write_end, log_fd


def _relay(read_end: int, write_end: int, log_fd: int) -> None:
    """Copy the attached program's output to our stdout and the log until it closes it."""
    os.close(write_end)
    try:
        while True:
            try:
                data = os.read(read_end, 65536)
            except InterruptedError:
                continue
            if not data:
                break
            for fd in (1, log_fd):
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                except OSError:
                    pass  # a closed stdout must not stop the log, nor the log the output
    finally:
        os.close(read_end)
        os.close(log_fd)


def _options_before_confine(opts: AttachOptions) -> None:
    """-R, -a, -g and -u in the attached process, before its confinement."""
    if opts.remount_sys_proc and opts.namespaces is not None and "mnt" not in opts.namespaces:
        # a mount namespace of its own, so the host's /proc and /sys stay as they are
        k.unshare(k.CLONE_NEWNS)
        k.mount(None, "/", None, k.MS_REC | k.MS_PRIVATE)
        for target, fstype in (("/proc", "proc"), ("/sys", "sysfs")):
            k.umount2(target, k.MNT_DETACH)
            k.mount(fstype, target, fstype, k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC)
    if opts.personality is not None:
        k.personality(opts.personality)
    if opts.gid is not None:
        os.setgroups([])
        os.setresgid(opts.gid, opts.gid, opts.gid)
    if opts.uid is not None and opts.uid != 0:
        # keep the permitted capabilities across setuid so confine() can still drop the
        # bounding set and load the filter; exec as a non-root uid then clears them all
        import prctl

        k.prctl(PR_SET_KEEPCAPS, 1)
        os.setresuid(opts.uid, opts.uid, opts.uid)
        for cap in prctl.ALL_CAP_NAMES:
            if getattr(prctl.cap_permitted, cap):
                setattr(prctl.cap_effective, cap, True)


PR_SET_KEEPCAPS = 8


def _environment(env: dict[str, str] | None, clear_env: bool) -> dict[str, str]:
    if clear_env:
        from lxcpy.runtime.child import DEFAULT_PATH

        base = {"PATH": DEFAULT_PATH}
    else:
        base = dict(os.environ)
    base["container"] = "lxc"
    base.update(env or {})
    return base


def _run_function(run: Callable[[], object], env: dict[str, str]) -> None:
    """Call ``run()`` here, confined as a command would be; never returns: its int result
    (or SystemExit's code) is the exit status, anything raised is one line and status 1."""
    code = 1
    try:
        os.environ.clear()
        os.environ.update(env)
        result = run()
        code = result if isinstance(result, int) and not isinstance(result, bool) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - one line, never a traceback
        sys.stderr.write(f"lxc-attach: {exc.__class__.__name__}: {exc}\n")
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)


def _child(paths: ContainerPaths, fds: list[tuple[str, int]], running: Running,
           argv: list[str], env: dict[str, str], status_w: int,
           opts: AttachOptions) -> int:
    k.prctl(k.PR_SET_DUMPABLE, 0)
    if "CGROUP" not in opts.elevated:
        from lxcpy.runtime.commands import call

        call(paths, "cgroup_attach")  # the supervisor's manager moves us
    # now: in the container's mount namespace the host's Python files are out of reach
    from lxcpy.runtime.confine import confine, preload
    from lxcpy.runtime.init import execvpe  # LXC's execvp: a script without #! runs by sh

    preload(running.seccomp)
    drop = running.drop() if "CAP" not in opts.elevated else []
    for ns, fd in fds:
        k.setns(fd, k.NAMESPACES[ns][0])
        os.close(fd)
        if ns == "user":  # our host ids are unmapped there: become its root (LXC does)
            os.setgroups([])
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
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
            _options_before_confine(opts)
            confine(drop, running.no_new_privs, running.seccomp)  # the filter last
            if callable(argv):  # python3-lxc's attach(run): run() as the attached process
                _run_function(argv, env)
            execvpe(argv, env)
        except OSError as exc:
            os.write(exec_w, str(exc.errno).encode())
        os._exit(127)
    os.close(exec_w)
    os.write(status_w, b"x")
    failure = os.read(exec_r, 32)
    if failure:  # as lxc-execute says it
        err = int(failure)
        sys.stderr.write(f"lxc-attach: {paths.name}: {argv[0]}: {os.strerror(err)}\n")
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if failure:
        return exec_status(int(failure))
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
