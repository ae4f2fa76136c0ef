"""The library face of lxcpy: ``Container(name, lxcpath)``.

What every command calls. Names follow python3-lxc's ``lxc.Container`` where they fit
(state, running, init_pid, start, stop, freeze, unfreeze, wait, attach_wait,
get_config_item, set_config_item) so scripts read the same.
"""

from __future__ import annotations

import os

from lxcpy.errors import (
    AlreadyExists,
    AlreadyRunning,
    LxcError,
    NotDefined,
    NotRunning,
    UsageError,
)
from lxcpy.paths import ContainerPaths, Lock, check_name, default_lxcpath, ensure_rundir

# not typing's: lxc-state / lxc-info -s would import typing (~3-4 ms) for annotations alone
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence  # collections: ~1 ms of lxc-state
    from typing import Any

    from lxcpy.config.model import ContainerConfig


class Container:
    def __init__(self, name: str, lxcpath: str | None = None,
                 rcfile: str | None = None) -> None:
        self.name = check_name(name)
        self.lxcpath = lxcpath or default_lxcpath()
        self.paths = ContainerPaths(self.name, self.lxcpath)
        # LXC's --rcfile (c->load_config(rcfile); c->configfile = rcfile): this file is the
        # container's config for this object's life, instead of LXCPATH/NAME/config
        self.rcfile = rcfile

    def __repr__(self) -> str:
        return f"Container({self.name!r}, {self.lxcpath!r})"

    # ---- the store ---------------------------------------------------------------------
    @property
    def defined(self) -> bool:
        return os.path.isfile(self.rcfile or self.paths.config)

    @property
    def config_file_name(self) -> str:
        return self.rcfile or self.paths.config

    def load_config(self, overrides: Sequence[str] = (),
                    config_file: str | None = None) -> ContainerConfig:
        """Parse the stored config (or ``config_file``), then ``-s KEY=VALUE`` overrides."""
        from lxcpy.config import apply_overrides, parse_file

        path = config_file or self.rcfile or self.paths.config
        if config_file is None and self.rcfile is None and not self.defined:
            raise NotDefined(f"container '{self.name}' is not defined in {self.lxcpath}")
        cfg = parse_file(path)
        if overrides:
            cfg = apply_overrides(cfg, list(overrides))
        return cfg

    def create(self, config_file: str | None = None, template: str | None = None,
               template_args: Sequence[str] = ()) -> None:
        """Make ``LXCPATH/NAME/config`` (and a rootfs with a template); all or nothing."""
        from lxcpy.store import create_container

        create_container(self, config_file, template, list(template_args))

    def destroy(self, force: bool = False, snapshots: bool = False) -> None:
        """Remove the container with its store and its snapshots (snaps/); ``snapshots``
        (lxc-destroy -s) or ``force``: its snapshot clones too, else refuse while it has
        any (lxcpy.storage.removal)."""
        if not os.path.isdir(self.paths.dir):
            raise NotDefined(f"container '{self.name}' is not defined")
        ensure_rundir(self.lxcpath)
        if self.recover() and not os.path.isdir(self.paths.dir):
            return  # an ephemeral container: the recovery destroyed it
        lock = Lock(self.paths.lock)
        if not lock.acquire(blocking=False):
            if not force:
                raise AlreadyRunning(f"{self.name} is running")
            self.stop(kill=True)
            if not lock.acquire(blocking=True, timeout=30):
                raise LxcError(f"{self.name} did not stop")
        try:
            from lxcpy.storage.removal import remove_container_dir

            # a store is only ours to remove when it lives inside the container directory
            remove_container_dir(self, with_dependents=snapshots or force)
        finally:
            lock.release()

    # ---- runtime state -----------------------------------------------------------------
    def recover(self) -> bool:
        """Undo what a killed supervisor left behind; True if there was something."""
        # the usual STOPPED case (nothing left behind) answers without importing the
        # recovery code (json, dataclasses: ~3 ms of lxc-state / lxc-info -s)
        if not os.path.exists(self.paths.resources) and not os.path.exists(self.paths.socket):
            return False
        from lxcpy.runtime.resources import recover_if_stale

        if not recover_if_stale(self.paths):
            return False
        self._destroy_if_ephemeral()
        return True

    def _destroy_if_ephemeral(self) -> None:
        """After a killed supervisor: an ephemeral container goes, as its supervisor would
        have destroyed it on stop (_ephemeral)."""
        try:
            ephemeral = self.defined and self.load_config().ephemeral
        except (LxcError, OSError):
            return  # a config that no longer parses or reads: left for lxc-destroy
        if ephemeral:
            import sys

            self._ephemeral_destroy(os.path.basename(sys.argv[0]) or "lxcpy")

    def _no_socket(self) -> bool:
        """No command socket file: STOPPED, known without importing the client (~1 ms of
        lxc-state / lxc-info -s). Anything else (it is there, or cannot be looked at) is
        the client's to find out, as before."""
        try:
            os.stat(self.paths.socket)
        except (FileNotFoundError, NotADirectoryError):
            return True
        except OSError:
            pass
        return False

    @property
    def state(self) -> str:
        if self._no_socket():
            self.recover()
            return "STOPPED"
        from lxcpy.runtime.commands import query_state

        state, _pid = query_state(self.paths)
        if state == "STOPPED":
            self.recover()
        return state

    @property
    def running(self) -> bool:
        return self.state != "STOPPED"

    @property
    def init_pid(self) -> int:
        from lxcpy.runtime.commands import query_state

        return query_state(self.paths)[1]

    def info(self) -> dict[str, Any]:
        """State, init pid and cgroup paths from the supervisor (STOPPED: state only)."""
        try:
            if self._no_socket():
                raise NotRunning(f"{self.name} is not running")
            from lxcpy.runtime.commands import call

            return call(self.paths, "info")
        except NotRunning:
            self.recover()
            return {"state": "STOPPED", "pid": -1, "cgroup_paths": []}

    def _call(self, op: str, timeout: float | None = 30.0, **args: Any) -> dict[str, Any]:
        from lxcpy.runtime.commands import call

        try:
            return call(self.paths, op, timeout=timeout, **args)
        except NotRunning:
            self.recover()
            raise

    # ---- running containers ------------------------------------------------------------
    def _prepare(self, overrides: Sequence[str], config_file: str | None) -> ContainerConfig:
        if config_file is None and not self.defined:
            raise NotDefined(f"container '{self.name}' is not defined in {self.lxcpath}")
        return self.load_config(overrides, config_file)

    def execute(self, argv: Sequence[str], overrides: Sequence[str] = (),
                config_file: str | None = None, prog: str = "lxc-execute",
                uid: int | None = None, gid: int | None = None,
                daemonize: bool = False) -> int:
        """Run ``argv`` under a small init as PID 2; return its exit status."""
        cfg = self._prepare(overrides, config_file)
        command = list(argv) or list(cfg.execute_cmd or [])
        if not command:
            raise UsageError("no command to execute: give one or set lxc.execute.cmd")
        if uid is not None:
            cfg.init_uid = uid
        if gid is not None:
            cfg.init_gid = gid
        return self._run(cfg, command, "execute", prog, daemonize)

    def start(self, argv: Sequence[str] = (), overrides: Sequence[str] = (),
              config_file: str | None = None, daemonize: bool = True,
              prog: str = "lxc-start", pidfile: str | None = None) -> int:
        """Boot ``lxc.init.cmd`` (or ``argv``) as PID 1. Daemonised: returns once RUNNING.

        ``pidfile`` (lxc-start -p): the supervisor's PID is written there while it runs.
        """
        cfg = self._prepare(overrides, config_file)
        command = list(argv) or list(cfg.init_cmd or [])
        if not cfg.rootfs_path and not cfg.chroot and not command:
            # LXC would boot the host's own /sbin/init on the host's file system.
            raise UsageError("refusing to start: the container has no rootfs and no command "
                             "(it would boot the host's own /sbin/init); give a command after "
                             "'--' or set lxc.rootfs.path")
        if not command:
            command = ["/sbin/init"]
        return self._run(cfg, command, "start", prog, daemonize, pidfile)

    def _run(self, cfg: ContainerConfig, argv: list[str], mode: str, prog: str,
             daemonize: bool, pidfile: str | None = None) -> int:
        from lxcpy.runtime.supervisor import Supervisor

        if daemonize:
            from lxcpy.runtime.daemon import run_daemonized

            return run_daemonized(lambda ready: self._ephemeral(cfg, _with_pidfile(
                pidfile, Supervisor(self.paths, cfg, argv, mode, prog, on_running=ready,
                                    daemonized=True).run)))
        return self._ephemeral(cfg, _with_pidfile(
            pidfile, Supervisor(self.paths, cfg, argv, mode, prog).run))

    def _ephemeral(self, cfg: ContainerConfig, status: int) -> int:
        """lxc.ephemeral = 1: the container is destroyed once it has stopped (or failed to
        start), by the process that supervised it."""
        if cfg.ephemeral and self.defined:
            self._ephemeral_destroy("lxc-start")
        return status

    def _ephemeral_destroy(self, prog: str) -> None:
        try:
            self.destroy(snapshots=True)
        except LxcError as exc:
            import sys

            sys.stderr.write(f"{prog}: {self.name}: ephemeral container not destroyed: "
                             f"{exc.message}\n")

    def stop(self, timeout: float = 60, kill: bool = False, nowait: bool = False,
             nokill: bool = False) -> None:
        """Ask the init to end, kill after ``timeout``; returns when STOPPED (unless nowait)."""
        from lxcpy.runtime.commands import connect_light, receive, send

        try:
            sock = connect_light(self.paths)  # _socket's: no socket module (~2-4 ms)
        except NotRunning:
            self.recover()
            raise NotRunning(f"{self.name} is not running", 2) from None
        request = {"op": "stop", "timeout": timeout, "kill": kill, "nokill": nokill,
                   "wait": not nowait}
        if self.rcfile is not None and not kill:
            # LXC's shutdown sends the halt signal of the config it loaded (--rcfile's)
            halt = self.load_config().signal_halt
            if halt:
                request["halt_signal"] = int(halt)
        try:
            send(sock, request)
            wait_for = None if timeout < 0 or kill else timeout + 30
            sock.settimeout(wait_for)
            try:
                reply = receive(sock)
                if reply and "error" in reply:
                    raise LxcError(reply["error"])
                if nowait:
                    return
                while sock.recv(4096):  # EOF when the supervisor is done
                    pass
            except TimeoutError:
                raise LxcError(f"{self.name} did not stop within {timeout:g} seconds") from None
            except ConnectionResetError:
                pass
        finally:
            sock.close()
        self._wait_unlocked(wait_for)
        if nokill and self.state != "STOPPED":
            raise LxcError(f"{self.name} is still running")

    def _wait_unlocked(self, timeout: float | None) -> None:
        """Return once the supervisor has let go of the container's lock: its reply and the
        socket's EOF come before its last cleanup, and a destroy() or start() right after
        stop() in one process must not find the container still "running"."""
        lock = Lock(self.paths.lock)
        if lock.acquire(blocking=True, timeout=30 if timeout is None else timeout):
            lock.release()

    def shutdown(self, timeout: float = 60) -> None:
        self.stop(timeout=timeout, nokill=True)

    def reboot(self) -> int:
        """lxc-stop -r: send ``lxc.signal.reboot`` (LXC's default SIGINT) to the init.

        What the init makes of it is its own business; unlike LXC 5, lxcpy does not start
        the container again when the init then exits. Returns the signal sent.
        """
        import signal

        info = self.info()
        pid = int(info.get("pid", -1))
        if info["state"] == "STOPPED" or pid <= 0:
            raise NotRunning(f"{self.name} is not running", 2)
        cfg = self.load_config() if self.defined else None
        sig = (cfg.signal_reboot if cfg is not None else None) or signal.SIGINT
        pidfd = os.pidfd_open(pid)  # the init's, checked below: no reused PID gets it
        try:
            if int(self.info().get("pid", -1)) != pid:
                raise NotRunning(f"{self.name} is not running", 2)
            signal.pidfd_send_signal(pidfd, sig)
        finally:
            os.close(pidfd)
        return int(sig)

    def freeze(self) -> None:
        try:
            self._call("freeze")
        except NotRunning:
            raise NotRunning(f"{self.name} is not running") from None

    def unfreeze(self) -> None:
        try:
            self._call("unfreeze")
        except NotRunning:
            raise NotRunning(f"{self.name} is not running") from None

    def kill(self, sig: int) -> None:
        """Send ``sig`` to every process of the container (the seed's lxc-kill)."""
        try:
            self._call("kill", signal=sig)
        except NotRunning:
            raise NotRunning(f"{self.name} is not running") from None

    def wait(self, state: str, timeout: float = -1) -> bool:
        """python3-lxc's wait: True once the container is in ``state`` ('A|B' allowed)."""
        from lxcpy.runtime.states import parse_states
        from lxcpy.runtime.wait import wait_for_states

        return wait_for_states(self.lxcpath, self.name, lambda: self.state,
                               parse_states(state), timeout)

    def get_cgroup_item(self, key: str) -> str:
        return str(self._call("cgroup_get", key=key)["value"])

    def set_cgroup_item(self, key: str, value: str) -> None:
        self._call("cgroup_set", key=key, value=value)

    def stats(self) -> dict[str, Any]:
        return dict(self._call("stats")["stats"])

    def get_config_item(self, key: str) -> list[str]:
        from lxcpy.config.keys import config_values

        return config_values(self.load_config(), key)

    def get_ips(self) -> tuple[list[str], list[str]]:
        pid = self.init_pid
        if pid <= 0:
            return [], []
        cfg = self.load_config() if self.defined else None
        if cfg is not None and not cfg.wants_netns:
            return [], []
        from lxcpy.net import addresses_of

        return addresses_of(pid)

    def cgroup_procs(self) -> list[int]:
        """Host PIDs of every process of the container, from its cgroup manager."""
        try:
            return sorted(int(pid) for pid in self._call("procs")["pids"])
        except NotRunning:
            return []

    def console(self, ttynum: int = -1, escape: int = 1) -> int:
        """lxc-console: this terminal on tty ``ttynum`` (0: the console) until Ctrl-a q."""
        from lxcpy.runtime.console import run_console

        return run_console(self.paths, ttynum, escape)

    def attach_wait(self, argv: Sequence[str], env: dict[str, str] | None = None,
                    clear_env: bool = False, *, uid: int | None = None,
                    gid: int | None = None, namespaces: Sequence[str] | None = None,
                    elevated: Sequence[str] = (), personality: int | None = None,
                    remount_sys_proc: bool = False, output_log: str | None = None) -> int:
        """Run ``argv`` inside the running container; return its exit status.

        ``namespaces``: join only these (lxcpy names: mnt, pid, uts, ipc, net, ...);
        ``elevated``: CGROUP, CAP, LSM (lxc-attach -e); the rest as lxc-attach's options.
        """
        from lxcpy.runtime.attach import AttachOptions, attach

        info = self.info()
        if info["state"] == "STOPPED":
            raise NotRunning(f"{self.name} is not running")
        opts = AttachOptions(uid, gid, None if namespaces is None else frozenset(namespaces),
                             frozenset(elevated), personality, remount_sys_proc, output_log)
        # the running container's confinement, never the config file's (runtime.attach)
        # a callable (python3-lxc's attach(run)) is called in the container instead
        command: Any = argv if callable(argv) else list(argv)
        return attach(self.paths, int(info["pid"]), command, env, clear_env, opts)


def _with_pidfile(pidfile: str | None, run: Any) -> int:
    """LXC's pidfile: this process's (the supervisor's) PID while ``run()`` runs."""
    if pidfile is None:
        return int(run())
    try:
        with open(pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as exc:
        raise LxcError(f"failed to write pidfile '{pidfile}': {exc.strerror}") from None
    try:
        return int(run())
    finally:
        try:
            os.unlink(pidfile)
        except OSError:
            pass


def list_containers(lxcpath: str) -> list[str]:
    """Names of the containers defined in ``lxcpath`` (a directory with a config)."""
    try:
        entries = sorted(os.listdir(lxcpath))
    except OSError:
        return []
    return [e for e in entries if not e.startswith(".")
            and os.path.isfile(os.path.join(lxcpath, e, "config"))]


__all__ = ["AlreadyExists", "Container", "list_containers"]
