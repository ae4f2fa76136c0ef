"""``create``: set a container up and leave its init waiting at the start gate.

lxcpy's supervisor does the work (cgroup, namespaces, rootfs, mounts, confinement) up to
the moment before the exec; the init then tells it CREATED and waits at a FIFO
(``cfg.start_gate``, runc's exec.fifo). Unlike ``lxc-start``, no supervisor stays: as with
runc, the create process exits and the init is re-parented to the caller's subreaper
(podman's conmon, containerd's shim), which reaps it and reads its exit status. The
cgroup is removed by ``delete`` from the paths the state record names.
"""

from __future__ import annotations

import fcntl
import os
import termios
import time

from lxcpy.config.model import ContainerConfig
from lxcpy.errors import LxcError
from lxcpy.oci.spec import OCI_VERSION, Extras
from lxcpy.oci.state import Record, StateError, Store, drop_rundir, start_time, state_json
from lxcpy.paths import ContainerPaths, ensure_rundir
from lxcpy.runtime.console import Console, Terminal, _bind_onto, open_pty
from lxcpy.runtime.supervisor import Supervisor

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing or socket (its enums) at run time: create's start-up
    from typing import Any


class OciConsole(Console):
    """The init's stdio: a new pty (process.terminal, its master goes to the console
    socket) or the caller's; and the fds --preserve-fds keeps open."""

    def __init__(self, terminal: bool, size: tuple[int, int] | None,
                 preserved: set[int]) -> None:
        super().__init__("pty" if terminal else "inherit", True)
        self.preserved = preserved
        if terminal:
            self.console = Terminal(0, *open_pty(*(size or (24, 80))))

    gate_fd = -1

    def child_fds(self) -> set[int]:
        return super().child_fds() | self.preserved | ({self.gate_fd} - {-1})

    def child_side(self, root: Any) -> None:
        for fd in self.preserved:
            os.set_inheritable(fd, True)
        term = self.console
        if term is None:
            os.setsid()
            return
        if root is not None:
            _bind_onto(root, "/dev/console", term.slave)
        os.setsid()  # (the master is not ours here: the fd clean-up closed it)
        fcntl.ioctl(term.slave, termios.TIOCSCTTY, 0)
        for target in (0, 1, 2):
            os.dup2(term.slave, target)
        if term.slave > 2:
            os.close(term.slave)

    def attach(self, loop: Any) -> None:
        return None  # the master is the console socket's, not ours to read

    def take_master(self) -> int:
        assert self.console is not None
        fd, self.console.master = self.console.master, -1
        return fd

    def close(self) -> None:
        if self.console is not None:
            for fd in (self.console.master, self.console.slave):
                if fd >= 0:
                    os.close(fd)
            self.console = None


class OciCreator(Supervisor):
    """A supervisor that stops at CREATED and hands the init over (no supervision)."""

    def __init__(self, paths: ContainerPaths, cfg: ContainerConfig, extras: Extras,
                 preserved: set[int], cgroups_path: str | None) -> None:
        super().__init__(paths, cfg, extras.args, "start", "lxcpy-oci")
        self.extras = extras
        self.preserved = preserved
        self.cgroups_path = cgroups_path

    gate_fd = -1  # the start gate's O_PATH fd: the init keeps it through its fd clean-up

    def _runtime_hooks(self) -> None:
        """createRuntime, in the runtime's namespaces once the container's mounts are made,
        before its pivot_root (the container then runs createContainer in its own)."""
        state = dict(self.cfg.oci_state, status="creating", pid=self.init_pid)
        run_hooks("createRuntime", self.extras.hooks["createRuntime"], state)

    def _prepare_console(self) -> Any:
        console = OciConsole(self.extras.terminal, self.extras.console_size, self.preserved)
        console.gate_fd = self.gate_fd
        return console

    def _setup_cgroup(self) -> None:
        from lxcpy.cgroups import manager_for

        cgroup = manager_for(self.name, self.cfg.cgroup_driver)
        if self.cgroups_path:
            # linux.cgroupsPath names the cgroup itself (relative to each hierarchy root)
            parts = [p for p in self.cgroups_path.split("/") if p]
            if not parts or any(p in (".", "..") for p in parts):
                raise LxcError(f"config.json: linux.cgroupsPath: invalid path "
                               f"{self.cgroups_path!r}")
            cgroup.base_relpath = cgroup.relpath = "/".join(parts)
        cgroup.create()
        self.cgroup = cgroup
        self.res.cgroup_paths = list(cgroup.paths())
        self.cgroup.apply(self.cfg.cgroup_settings)

    def create(self) -> int:
        """Set up to the gate; the init's PID. On failure everything made is undone."""
        ensure_rundir(self.paths.lxcpath)
        try:
            self._start()
        except BaseException:
            self.abort()
            raise
        finally:
            self.res.discard(self.paths)  # the record's file, and its open descriptor
        return self.init_pid

    def abort(self) -> None:
        self._teardown()
        for path in (self.paths.resources, self.paths.seccomp):
            _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def send_console(socket_path: str, master: int) -> None:
    """The pty master to --console-socket over SCM_RIGHTS, as runc does."""
    import socket  # only with a terminal: its enums cost every create otherwise

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(socket_path)
        socket.send_fds(sock, [b"/dev/ptmx"], [master])
    except OSError as exc:
        raise StateError(f"cannot send the console to {socket_path}: {exc.strerror}") \
            from None
    finally:
        sock.close()


def run_hooks(kind: str, hooks: list[dict[str, Any]], state: dict[str, Any]) -> None:
    """OCI hooks of one kind in the runtime's namespaces, in order, with the state JSON on
    stdin; a failure raises StateError."""
    from lxcpy.runtime.hooks import run_oci_hooks

    try:
        run_oci_hooks(kind, hooks, state)
    except LxcError as exc:
        raise StateError(exc.message) from None


def create(store: Store, cid: str, bundle: str, cfg: ContainerConfig, extras: Extras,
           console_socket: str | None, pid_file: str | None, preserve_fds: int,
           no_new_keyring: bool) -> tuple[Record, OciCreator]:
    """Make container ``cid`` from a mapped config; everything is undone on failure."""
    if extras.terminal and not console_socket:
        raise StateError("cannot allocate tty if lxcpy-oci will detach without setting "
                         "console socket")
    if not extras.terminal and console_socket:
        raise StateError("cannot use console socket if lxcpy-oci will not detach or "
                         "allocate tty")
    lock = store.make(cid)
    creator: OciCreator | None = None
    try:
        fifo = store.fifo(cid)
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)  # not the umask's: a mapped root (uidMappings) writes it too
        # opened here, as root: the init (maybe a mapped root that cannot search --root)
        # reaches it through its fd, as runc's _LIBCONTAINER_FIFOFD
        gate_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        cfg.start_gate = f"/proc/self/fd/{gate_fd}"
        if no_new_keyring:
            cfg.keyring_session = False
        preserved = set(range(3, 3 + preserve_fds))
        paths = ContainerPaths(cid, store.root)
        # the hooks run during the set-up, and the state they read (runtime-spec 1.x)
        cfg.oci_hooks = {kind: extras.hooks[kind] for kind in
                         ("createRuntime", "createContainer", "startContainer")
                         if extras.hooks.get(kind)}
        cfg.oci_state = {"ociVersion": OCI_VERSION, "id": cid, "bundle": bundle}
        if extras.annotations:
            cfg.oci_state["annotations"] = extras.annotations
        creator = OciCreator(paths, cfg, extras, preserved, extras.cgroups_path)
        creator.gate_fd = gate_fd
        try:
            pid = creator.create()
        finally:
            os.close(gate_fd)
        if not start_time(pid):  # it reached the gate and ended there (its reason: stderr)
            raise StateError("the container's process ended before it was started")
        rec = Record(id=cid, bundle=bundle, pid=pid, start_time=start_time(pid),
                     created=time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
                     annotations=extras.annotations, cgroup_paths=list(creator.res.cgroup_paths),
                     rootfs=cfg.rootfs_path or "", hooks=extras.hooks,
                     seccomp=paths.seccomp if creator.seccomp else "",
                     config=os.path.join(bundle, "config.json"))
        store.save(rec)
        state = state_json(store, rec)
        # prestart (deprecated) last, with status "created": runtime-tools' hooks_stdin.t
        # wants that (runc runs it with createRuntime, "creating")
        if rec.hooks.get("prestart"):
            run_hooks("prestart", rec.hooks["prestart"], state)
        if isinstance(creator.console, OciConsole) and creator.console.console is not None:
            master = creator.console.take_master()
            try:
                send_console(console_socket or "", master)
            finally:
                os.close(master)
        if pid_file:
            tmp = f"{pid_file}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(str(pid))
            os.rename(tmp, pid_file)
        if creator.console is not None:
            creator.console.close()
        return rec, creator
    except BaseException:
        if creator is not None:
            creator.abort()
        store.remove(cid)
        drop_rundir(store)
        raise
    finally:
        os.close(lock)
