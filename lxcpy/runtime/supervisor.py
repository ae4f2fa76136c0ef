"""The supervisor: the process that starts a container and stays with it.

It owns the state machine (STOPPED -> STARTING -> RUNNING -> STOPPING -> STOPPED, with
ABORTING on any failure while starting), the per-container command socket, and everything
the start made on the host. It is the only writer of the container's runtime state; it
writes down what it makes before making it (``resources``) so a later command can undo it
if the supervisor is killed.

One event loop (``lxcpy.runtime.loop``) serves everything it waits for, from the moment
the command socket exists until the container has ended: its signals, the sync channel
while starting, the init's exit, the command clients and the console. Commands are the
rows of ``COMMANDS``.
"""

from __future__ import annotations

import _signal as signal  # not signal/socket: their IntEnums cost ~4 ms and ~0.4 MiB a start
import gc
import os
import time

from lxcpy import kernel as k
from lxcpy.config.model import ContainerConfig
from lxcpy.errors import AlreadyRunning, LxcError, StartError
from lxcpy.log import log
from lxcpy.paths import ContainerPaths, Lock, ensure_rundir
from lxcpy.runtime import monitor, states, sync
from lxcpy.runtime.loop import Client, CommandServer, Loop, Reply
from lxcpy.runtime.resources import Resources, release
from lxcpy.runtime.sync import Channel

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from collections.abc import Callable  # (collections: ~1 ms of every start)
    from typing import Any

FORWARD_TO_INIT = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1,
                   signal.SIGUSR2, signal.SIGPWR, signal.SIGQUIT)


def fault_point(phase: str, ready_fd: int = -1) -> None:
    """Fault injection for the tests: LXCPY_TEST_KILL_AT=<phase> SIGKILLs the supervisor
    there (phases: cgroup, clone, devices, mounts, running, stopping);
    LXCPY_TEST_SIGNAL_AT=<phase>:<signum> sends it that signal there, once ``ready_fd``
    (the sync channel) has the init's next message waiting: both in one loop turn."""
    environ = os.environ
    if environ.get("LXCPY_TEST_KILL_AT") == phase:
        os.kill(os.getpid(), signal.SIGKILL)
    at, _, signum = environ.get("LXCPY_TEST_SIGNAL_AT", "").partition(":")
    if at == phase:
        if ready_fd >= 0:
            import select

            select.select([ready_fd], [], [], 10)
        os.kill(os.getpid(), int(signum))


class _SetupEnded(LxcError):
    """The start ended by what the init said, its death, or an lxc-stop (``_expect``)."""


class Supervisor:
    def __init__(self, paths: ContainerPaths, cfg: ContainerConfig, argv: list[str],
                 mode: str, prog: str, on_running: Callable[[], None] | None = None,
                 daemonized: bool = False) -> None:
        self.paths = paths
        self.name = paths.name
        self.cfg = cfg
        self.argv = argv
        self.mode = mode  # "execute" or "start"
        self.prog = prog
        self.on_running = on_running
        self.daemonized = daemonized  # decides the console: a pty when daemonised
        self.console: Any = None  # lxcpy.runtime.console.Console
        self.seccomp: bytes | None = None  # the compiled lxc.seccomp.profile
        self.state = states.STOPPED
        self.res = Resources(supervisor_pid=os.getpid(), socket=paths.socket)
        self.cgroup: Any = None
        self.init_pid = -1
        self.pidfd = -1
        self.netns_fd = -1
        self.chan: Channel | None = None
        self.loop = Loop()
        self.server: CommandServer | None = None
        self.signals: list[int] = []
        # signals that came while starting: forwarded to the init once it runs (LXC blocks
        # them until its mainloop, which forwards them); each once, as blocked ones are
        self.held_signals: list[int] = []
        self.start_stopped = False  # an lxc-stop while starting: the start aborts
        self.stop_deadline: float | None = None
        self.exit_code = 0

    # ---- state -------------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        self.state = state
        log.info("state %s", state)  # LXC logs each state change at INFO (-o shows them)
        monitor.publish(self.paths.lxcpath, self.name, "state", state)

    # ---- life cycle --------------------------------------------------------------------
    def run(self) -> int:
        """Start, supervise until the container ends, clean up. Returns the exit status."""
        ensure_rundir(self.paths.lxcpath)
        # Signals are noted (not raised) from here on, so no Ctrl-C can leave a half-made
        # container or a stale lock behind.
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        old_handlers = self._install_signals(wake_w)
        lock = Lock(self.paths.lock)
        if not lock.acquire(blocking=False):
            _restore_signals(old_handlers)
            os.close(wake_r)
            os.close(wake_w)
            self.loop.close()
            raise AlreadyRunning(f"container '{self.name}' is already running")
        self.loop.watch(wake_r, read=lambda: self._on_signal(wake_r))
        try:
            # we hold the lock: whatever a dead supervisor left is stale
            release(self.paths, Resources.load(self.paths))
            self._bind_socket()  # (not recorded: every recovery unlinks the socket file)
            self.set_state(states.STARTING)
            try:
                self._start()
            except BaseException as exc:
                message = exc.message if isinstance(exc, LxcError) else _describe(exc)
                if not isinstance(exc, _SetupEnded):
                    # a step that failed because the init failed first (a send's EPIPE,
                    # its /proc gone): the init's own line is the one that says why
                    message = self._init_failure() or message
                self.set_state(states.ABORTING)
                self._teardown()
                self.set_state(states.STOPPED)
                raise StartError(message) from None
            self.set_state(states.RUNNING)
            fault_point("running")
            if self.on_running:
                self.on_running()
            for sig in self.held_signals:
                self._forward(sig)
            self.held_signals.clear()
            status = self._supervise()
            monitor.publish(self.paths.lxcpath, self.name, "exit", str(status))
            self.set_state(states.STOPPING)
            fault_point("stopping")
            self._teardown()
            self._host_hooks("post-stop")
            self.set_state(states.STOPPED)
            return status
        finally:
            self.res.discard(self.paths)
            for path in (self.paths.socket, self.paths.seccomp):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            _restore_signals(old_handlers)
            # the lock goes before the waiters' EOF: lxc-stop then finds it free at once
            # instead of polling for it (a new start binds a new socket: ours is unlinked)
            lock.release()
            if self.server is not None:
                self.server.close()  # lxc-stop waiters see their EOF: it has stopped
                self.server = None
            self.loop.close()
            os.close(wake_r)
            os.close(wake_w)

    def _bind_socket(self) -> None:
        from lxcpy.runtime.commands import listen

        self.server = CommandServer(self.loop, listen(self.paths.socket, 64), self._dispatch)

    def _start(self) -> None:
        cfg = self.cfg
        from lxcpy.runtime.process import preflight

        # every key acted on or refused (one line) before anything is made; -d shows these
        for warning in preflight(cfg, self.prog, self.name, self.paths.lxcpath):
            log.warning("%s", warning)
        if cfg.idmaps or "idmap=" in (cfg.rootfs_options or "") or os.geteuid() != 0:
            from lxcpy.runtime.userns import validate

            validate(cfg)  # the maps, the rootfs's idmap= option: one line, nothing made
        from lxcpy.runtime.confine import prepare_seccomp

        self.seccomp = prepare_seccomp(cfg, self.paths)  # compiled before anything is made
        self._setup_cgroup()
        fault_point("cgroup")
        self._host_hooks("pre-start")
        if self._new_netns() and cfg.network_work:  # else lxcpy.net is not imported
            from lxcpy.net import preload

            # imported once here, inherited by the init: not twice (~115 ms each)
            preload(cfg.networks)
        self.chan = self._spawn()
        fault_point("clone")
        if cfg.idmaps:
            self._map_user()
        self.cgroup.attach(self.init_pid)
        self.chan.send(sync.GO)  # (a failed send: run() asks the init what went wrong)
        if self._user_joined():  # OCI: the init is forked inside the joined user ns
            self._moved_init(int(self._expect(sync.INIT)["pid"]))
        self._expect(sync.NAMESPACES)
        records: list[dict[str, Any]] = []
        if self._new_netns() and cfg.network_work and os.geteuid() == 0:
            # (a non-root user's init is out of their reach, and has no host devices)
            self.netns_fd = os.open(f"/proc/{self.init_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            from lxcpy.net import host_setup, run_scripts

            records = host_setup(cfg.networks, self.init_pid, self.name, self._record_net)
            if records != self.res.net:
                self.res.net = records
                self.res.save(self.paths)
            # else _record_net saved each as it is before its device was made: a save of
            # the same text renames over the file again (ext4 flushes: 0.2-9 ms here)
            fault_point("devices")
            run_scripts(cfg.networks, records, self.name, "up")
        self.chan.send(sync.NETWORK, records=records)
        if cfg.oci_hooks.get("createRuntime"):  # OCI: after the mounts, before pivot_root
            self._expect(sync.HOOKS)
            self._runtime_hooks()
            self.chan.send(sync.HOOKS)
        self._expect(sync.MOUNTED)
        fault_point("mounts", self.chan.fileno() if self.mode == "execute" else -1)
        if self.mode == "execute":
            self._expect(sync.RUNNING)
        elif self.cfg.start_gate:
            self._expect(sync.CREATED)  # OCI create: the init waits at the gate for `start`
        else:
            self._expect(sync.EXEC)
            self._expect(sync.EOF)  # the exec succeeded (the channel is close-on-exec)
        self.chan.close()
        self.chan = None

    def _setup_cgroup(self) -> None:
        from lxcpy.cgroups import manager_for, placement_of

        if os.geteuid() != 0:
            from lxcpy.cgroups.none import NO_CGROUP_WARNING, for_user

            # a user's cgroups only where delegated; else none, said once, limits refused
            cgroup: Any
            cgroup, real = for_user(self.name, self.cfg, placement_of(self.cfg))
            if not real:
                import sys

                print(f"{self.prog}: {self.name}: warning: {NO_CGROUP_WARNING}",
                      file=sys.stderr, flush=True)
        else:
            cgroup = manager_for(self.name, self.cfg.cgroup_driver,
                                 placement=placement_of(self.cfg))
        self.cgroup = cgroup  # made nothing yet: teardown's destroy() touches nothing
        # LXC's layout: the supervisor first moves into lxc.monitor.NAME[-N] (recorded
        # before it moves in, so recovery after a SIGKILL removes it too)
        cgroup.create_monitor()
        self.res.monitor_paths = cgroup.monitor_paths()
        self.res.save(self.paths)
        cgroup.enter_monitor(os.getpid())
        # create() picks a free lxc.payload.NAME[-N]; only what it made is recorded and
        # used (teardown, kill, recovery): never a path derived from the name, which may
        # be a namesake's in another lxcpath
        cgroup.create()
        self.res.cgroup_paths = list(cgroup.paths())
        self.res.save(self.paths)
        self.cgroup.apply(self.cfg.cgroup_settings)

    def _user_joined(self) -> bool:
        return "user" in self.cfg.namespace_share and "pid" not in self.cfg.namespace_keep

    def _moved_init(self, pid: int) -> None:
        """The init is the first process's child (sync.INIT): that one has exited."""
        os.waitpid(self.init_pid, 0)
        os.close(self.pidfd)
        self.init_pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.res.init_pid = pid
        self.res.save(self.paths)

    def _runtime_hooks(self) -> None:
        """OCI createRuntime hooks (lxcpy.oci.create's supervisor runs them)."""

    def _leave_monitor(self) -> None:
        """The supervisor leaves its monitor cgroup, which is then removed: back to the
        cgroup it came from, or to lxc.cgroup.dir.monitor.pivot's lxc.pivot (LXC's)."""
        try:
            self.cgroup.leave_monitor(os.getpid())
        except LxcError as exc:
            log.error("%s", exc.message)

    def _new_netns(self) -> bool:
        return self.cfg.wants_netns

    def _unshare_flags(self) -> int:
        from lxcpy.runtime.namespaces import clone_flags

        return clone_flags(self.cfg)

    def _spawn(self) -> Channel:
        """Fork the container's first process as PID 1 of a new PID namespace."""
        # The init's set-up modules imported here, before the fork: the two processes share
        # them instead of the init allocating them into pages it then owns alone (20 running:
        # PSS -110 KiB for each of the two, init CPU -3 ms: no copy-on-write faults)
        import lxcpy.rootfs.mounts  # noqa: F401
        import lxcpy.runtime.process  # noqa: F401
        from lxcpy.runtime.child import ChildSpec, container_main

        if self.mode == "execute":  # (lxc-start's init execs: its own imports vanish then)
            import lxcpy.runtime.init  # noqa: F401

            cfg = self.cfg
            if cfg.rootfs_path or cfg.chroot or cfg.cap_drop or cfg.cap_keep:
                # what the init's _preload / _drop_privileges import (python-prctl): 20
                # running on a busybox rootfs, PSS -170 KiB (supervisor) / -310 KiB (init)
                from lxcpy.runtime.confine import preload

                preload(self.seccomp)
            if (cfg.rootfs_path or cfg.chroot) and (cfg.autodev or cfg.tty_dir):
                import lxcpy.rootfs.dev  # noqa: F401

        self.console = self._prepare_console()
        parent, child = Channel.pair()
        spec = ChildSpec(
            name=self.name, cfg=self.cfg, argv=self.argv, mode=self.mode, prog=self.prog,
            new_netns=self._new_netns(), unshare_flags=self._unshare_flags(),
            supervisor_pid=os.getpid(), caller_cwd=os.getcwd(),
            caller_term=os.environ.get("TERM"), console=self.console,
            keep_fds=self.console.child_fds() if self.console else set(),
            seccomp=self.seccomp)
        if self.cfg.rootfs_store and not self.cfg.idmaps:
            from lxcpy.storage import detached_tree

            # overlay:/loop:/btrfs: mounted now, before the cgroup's device rules apply
            spec.rootfs_tree = detached_tree(self.cfg.rootfs_store)
            spec.keep_fds = {*spec.keep_fds, spec.rootfs_tree}
        # (a joined user namespace must own the new PID namespace: the child makes it)
        new_pid = "pid" not in self.cfg.namespace_keep and not self._user_joined()
        if self.cfg.idmaps:
            # user and PID namespace at once: the PID namespace is owned by the user one.
            # The raw clone copies glibc's thread list without fork()'s care: a thread
            # still being created then (lxcpy.cgroups.warm's) hangs the child's first
            # setresgid for ever (glibc's setxid waits for it to start): none runs now.
            from lxcpy.cgroups import warm

            warm.stop()
            pid = k.fork_into(k.CLONE_NEWUSER | k.CLONE_NEWPID)
            if pid == 0:
                parent.close()
                container_main(spec, child)
            return self._spawned(pid, parent, child)
        own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        join_pid = -1
        if self.cfg.namespace_joins:  # OCI linux.namespaces pid path: the init joins it
            from lxcpy.runtime.namespaces import pid_to_join

            join_pid = pid_to_join(self.cfg)
        try:
            if new_pid:
                # only our children enter the new PID namespace; we go back right after
                k.unshare(k.CLONE_NEWPID)
            elif join_pid >= 0:
                k.setns(join_pid, k.CLONE_NEWPID)
            pid = os.fork()
            if pid == 0:
                parent.close()
                container_main(spec, child)
            if new_pid or join_pid >= 0:
                k.setns(own_pidns, k.CLONE_NEWPID)
        finally:
            os.close(own_pidns)
            if join_pid >= 0:
                os.close(join_pid)
            if spec.rootfs_tree >= 0:
                os.close(spec.rootfs_tree)  # the child has its own copy
        return self._spawned(pid, parent, child)

    def _prepare_console(self) -> Any:
        """The console before the fork (lxcpy.oci's create gives a pty of its own)."""
        if not self.cfg.needs_console(self.mode, self.daemonized):
            return None  # and the console module is not imported (~3 ms, ~300 KiB)
        from lxcpy.runtime.console import prepare_console

        return prepare_console(self.cfg, self.mode, self.daemonized)

    def _spawned(self, pid: int, parent: Channel, child: Channel) -> Channel:
        child.close()
        if self.console is not None:
            self.console.attach(self.loop)
        self.init_pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.res.init_pid = pid
        self.res.save(self.paths)  # (writes only what recovery acts on: lxcpy.oci's cgroups)
        return parent

    def _map_user(self) -> None:
        """lxc.idmap: the child waits in its new user namespace for its maps, the rootfs
        it can see through them, and a cgroup and console its root may use (LXC's
        chown_mapped_root); then it becomes root there (sync.MAPPED)."""
        from lxcpy.runtime.userns import idmapped_tree, root_ids, rootfs_idmap, write_maps

        assert self.chan is not None
        write_maps(self.cfg, self.init_pid)  # non-root: through newuidmap/newgidmap
        uid, gid = root_ids(self.cfg)
        if os.geteuid() != 0:
            # the cgroup stays the user's (the supervisor manages it); the ptys go to the
            # container's root from a user namespace of the user's (LXC's chown_mapped_root)
            if self.console is not None and self.console.pty_fds():
                from lxcpy.runtime.userns import chown_as_user

                chown_as_user(sorted(self.console.pty_fds()), self.cfg.idmaps)
            self.chan.send(sync.MAPPED, fds=[])
            return
        self.cgroup.chown(uid, gid)
        if self.console is not None:
            for fd in self.console.pty_fds():  # the ptys we allocated, never a caller's tty
                os.fchown(fd, uid, gid)
        fds = []
        if rootfs_idmap(self.cfg) is not None:
            fds.append(idmapped_tree(self.cfg, self.init_pid))
        try:
            self.chan.send(sync.MAPPED, fds=fds)
        finally:
            for fd in fds:
                os.close(fd)

    def _record_net(self, record: dict[str, Any]) -> None:
        self.res.net.append(record)
        self.res.save(self.paths)

    def _expect(self, name: str) -> sync.Message:
        """Serve the loop until the container's next setup message, which must be ``name``;
        abort on its error, its death, or an lxc-stop.

        The init's death is seen on its pidfd as well as by the channel's EOF: a process
        that holds a copy of the channel's other end (a fork of a program that forks)
        must not keep the start waiting for a message that cannot come."""
        chan = self.chan
        assert chan is not None
        got: list[sync.Message] = []

        def on_message() -> None:
            if not got:  # one message per call: a second one stays queued for the next
                got.append(_receive(chan, block=True))

        def on_exit() -> None:  # what it sent before it ended is queued: that first
            if not got:
                got.append(_receive(chan, block=False))

        self.loop.watch(chan.fileno(), read=on_message)
        self.loop.watch(self.pidfd, read=on_exit)
        try:
            while not got and not self.start_stopped:
                self._run_once()
        finally:
            self.loop.forget(chan.fileno())
            self.loop.forget(self.pidfd)
        if self.start_stopped:
            raise _SetupEnded("stopped (lxc-stop) while starting")
        message = got[0]
        if message.name == name:
            return message
        if message.name == sync.ERROR:
            raise _SetupEnded(str(message.get("message")))
        if message.name == sync.EOF:
            raise _SetupEnded(INIT_DIED)
        raise _SetupEnded(f"unexpected message from the container: {message.name} "
                          f"(expected {name})")

    def _init_failure(self) -> str | None:
        """After a step of the start failed: the init's error line if it sent one, or
        that it died (its pidfd readable), or None while it is alive and has said nothing."""
        if self.chan is not None:
            try:
                message = self.chan.poll()
            except (OSError, ValueError):
                message = None
            if message is not None and message.name == sync.ERROR:
                return str(message.get("message"))
            if message is not None and message.name == sync.EOF:
                return INIT_DIED
        if self.pidfd >= 0:
            import select

            if select.select([self.pidfd], [], [], 0)[0]:
                return INIT_DIED
        return None

    # ---- running -----------------------------------------------------------------------
    def _supervise(self) -> int:
        """Serve the loop until the init exits; its exit status."""
        # off since lxc-execute's/lxc-start's launcher (the start's imports); the init
        # forked before this keeps it off: it only waits and forwards signals. What the
        # start made is frozen first: a collection walking it would write to every page
        # the supervisor shares with the init (+400 KiB PSS each, bench/footprint.py)
        gc.freeze()
        gc.enable()
        status: list[int] = []
        self.loop.watch(self.pidfd, read=lambda: status.append(self._reap()))
        while not status:
            self._run_once()
        self.loop.forget(self.pidfd)
        return status[0]

    def _run_once(self) -> None:
        """One round of the loop; the timers first: stop's kill, stuck clients."""
        now = time.monotonic()
        if self.stop_deadline is not None and now >= self.stop_deadline:
            self.stop_deadline = None
            self._kill_everything()
        deadlines = [self.stop_deadline]
        if self.server is not None:
            deadlines.append(self.server.expire(now))
        soonest = min((d for d in deadlines if d is not None), default=None)
        self.loop.run_once(None if soonest is None else max(0.0, soonest - now))

    def _reap(self) -> int:
        try:
            _, status = os.waitpid(self.init_pid, 0)
        except ChildProcessError:  # reaped by another: its status is lost, not the end
            log.error("the container's init %d was reaped by another", self.init_pid)
            self.init_pid = -1
            return 255
        code = os.waitstatus_to_exitcode(status)
        self.init_pid = -1
        return code if code >= 0 else 128 - code

    def _on_signal(self, wake: int) -> None:
        _drain(wake)
        while self.signals:
            sig = self.signals.pop(0)
            if self.state == states.STARTING:
                # LXC: a start is not interrupted by a signal; the init gets it once it
                # runs (lxc-stop aborts a start; a supervisor killed mid-start is cleaned
                # up by the next command)
                if sig not in self.held_signals:
                    self.held_signals.append(sig)
            else:
                self._forward(sig)

    # ---- commands (LXC's commands.c: one row per command) ------------------------------
    def _dispatch(self, request: dict[str, Any], client: Client) -> dict[str, Any] | Reply:
        op = request.get("op")
        handler = COMMANDS.get(op) if isinstance(op, str) else None
        if handler is None:
            raise LxcError(f"unknown request {str(op)[:40]!r}")
        if self.state == states.STARTING and op not in ANSWERED_WHILE_STARTING:
            raise LxcError(f"{self.name} is still starting")
        return handler(self, request, client)

    def _cmd_state(self, _request: dict[str, Any], _client: Client) -> dict[str, Any]:
        return {"state": self.state, "pid": self.init_pid}

    def _cmd_info(self, _request: dict[str, Any], _client: Client) -> dict[str, Any]:
        return {"state": self.state, "pid": self.init_pid,
                "cgroup_paths": self.cgroup.attach_paths() if self.cgroup else [],
                "mode": self.mode, "supervisor": os.getpid()}

    def _cmd_kill(self, request: dict[str, Any], _client: Client) -> dict[str, Any]:
        self.cgroup.signal_all(int(request["signal"]))
        return {"ok": True}

    def _cmd_freeze(self, _request: dict[str, Any], _client: Client) -> dict[str, Any]:
        if self.state == states.FROZEN:
            raise LxcError(f"{self.name} is already frozen")
        self.set_state(states.FREEZING)
        try:
            self.cgroup.freeze()
        except LxcError:
            self.cgroup.thaw()
            self.set_state(states.RUNNING)
            raise
        self.set_state(states.FROZEN)
        return {"ok": True}

    def _cmd_unfreeze(self, _request: dict[str, Any], _client: Client) -> dict[str, Any]:
        if self.state != states.FROZEN:
            raise LxcError(f"{self.name} is not frozen")
        self.set_state(states.THAWED)
        self.cgroup.thaw()
        self.set_state(states.RUNNING)
        return {"ok": True}

    def _cmd_cgroup_get(self, request: dict[str, Any], _client: Client) -> dict[str, Any]:
        return {"value": self.cgroup.get(request["key"])}

    def _cmd_cgroup_set(self, request: dict[str, Any], _client: Client) -> dict[str, Any]:
        self.cgroup.set(request["key"], request["value"])
        return {"ok": True}

    def _cmd_procs(self, _request: dict[str, Any], _client: Client) -> dict[str, Any]:
        """Every process of the container (lxc-ps), as the cgroup manager knows them."""
        return {"pids": self.cgroup.procs() if self.cgroup else []}

    def _cmd_cgroup_attach(self, _request: dict[str, Any], client: Client) -> dict[str, Any]:
        """lxc-attach's child joins the container's cgroups: the manager moves the peer of
        this connection (SO_PEERCRED), never a PID named in the request."""
        import struct
        from _socket import SO_PEERCRED, SOL_SOCKET

        creds = client.sock.getsockopt(SOL_SOCKET, SO_PEERCRED, struct.calcsize("3i"))
        self.cgroup.attach(struct.unpack("3i", creds)[0])
        return {"ok": True}

    def _cmd_stats(self, _request: dict[str, Any], _client: Client) -> dict[str, Any]:
        from lxcpy._record import asdict

        return {"stats": asdict(self.cgroup.stats())}

    def _cmd_get_config_item(self, request: dict[str, Any], _client: Client) -> dict[str, Any]:
        """LXC's lxc_cmd_get_config_item: a key's value in the config this container runs
        with (not the file on disk, which may have changed since)."""
        from lxcpy.config.parser import get_item

        key = request.get("key")
        try:
            return {"value": get_item(self.cfg, key) if isinstance(key, str) else ""}
        except KeyError:
            return {"value": ""}  # LXC: no value for a key it does not know

    def _cmd_console(self, request: dict[str, Any], client: Client) -> Reply:
        """lxc-console: a pty master over SCM_RIGHTS, the client's while it stays connected."""
        console = self.console
        if console is None:
            raise LxcError(f"{self.name} has no console or tty to attach to "
                           "(lxc.console.path = none or a foreground start, and "
                           "lxc.tty.max = 0)")
        rows, cols = request.get("rows"), request.get("cols")
        number, fd = console.allocate(int(request.get("tty", -1)),
                                      int(rows) if rows else None, int(cols) if cols else None,
                                      bool(request.get("replay")))
        client.held = True
        client.on_close.append(lambda: console.release(number))
        return Reply({"tty": number}, [fd])

    def _cmd_resize(self, request: dict[str, Any], _client: Client) -> dict[str, Any]:
        """lxc-console's SIGWINCH, for the console (its client holds a proxy pty)."""
        if self.console is not None:
            self.console.resize(int(request["tty"]), int(request["rows"]),
                                int(request["cols"]))
        return {"ok": True}

    def _request_stop(self, request: dict[str, Any], client: Client) -> dict[str, Any]:
        if request.get("wait", True):
            client.held = True  # closed when the container has stopped: its EOF says so
        if self.state == states.STARTING:
            self.start_stopped = True  # the start aborts at its next step, and cleans up
            return {"ok": True}
        if request.get("kill"):
            self._kill_everything()
            return {"ok": True}
        if self.state == states.FROZEN:
            self.cgroup.thaw()
            self.set_state(states.RUNNING)
        os.kill(self.init_pid, self._halt_signal(request.get("halt_signal")))
        timeout = float(request.get("timeout", 60))
        if timeout >= 0 and not request.get("nokill"):
            self.stop_deadline = time.monotonic() + timeout
        return {"ok": True}

    def _halt_signal(self, asked: object = None) -> int:
        if self.mode == "execute":
            return signal.SIGTERM  # our init forwards it to the command
        # lxc-stop --rcfile FILE: FILE's lxc.signal.halt (a number the client's parser took)
        if isinstance(asked, int) and 0 < asked < signal.NSIG:
            return asked
        return self.cfg.signal_halt or signal.SIGPWR

    def _kill_everything(self) -> None:
        stop = self.cfg.signal_stop or signal.SIGKILL
        if stop != signal.SIGKILL and self.init_pid > 0:
            # lxc.signal.stop: LXC sends it to the init alone (and thaws a frozen one)
            log.info("Sending signal %d (lxc.signal.stop) to the init %d", stop, self.init_pid)
            if self.state == states.FROZEN:
                self.cgroup.thaw()
                self.set_state(states.RUNNING)
            try:
                os.kill(self.init_pid, stop)
            except ProcessLookupError:
                pass
            return
        if self.init_pid > 0:
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # The init's end ends the supervision, and teardown's destroy() kills what is left
        # in the cgroup (nothing once a PID namespace of its own died with its init): no
        # freeze-list-kill-thaw round now, unless the init is frozen (v1's freezer holds
        # a SIGKILL until thawed) or gone already
        if self.cgroup is not None and (self.init_pid <= 0 or self.state == states.FROZEN):
            self.cgroup.kill_all()

    def _forward(self, sig: int) -> None:
        """A signal to a foreground supervisor goes to the container's init (LXC does this)."""
        if self.init_pid > 0:
            try:
                os.kill(self.init_pid, sig)
            except ProcessLookupError:
                pass

    def _install_signals(self, wake: int) -> dict[int, Any]:
        def note(signum: int, _frame: object) -> None:
            self.signals.append(signum)

        # a signal the caller left ignored stays ignored, like for any C tool: `nohup`, and
        # `lxc-execute ... &` in a script, which must not end on the terminal's Ctrl-C
        old: dict[int, Any] = {sig: signal.signal(sig, note) for sig in FORWARD_TO_INIT
               if signal.getsignal(sig) != signal.SIG_IGN}
        if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
            # ignored by the caller (it survives exec): the kernel would reap our children
            # itself, the init's waitpid fail and its status be lost; the supervision would
            # never end
            old[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        old[-1] = signal.set_wakeup_fd(wake, warn_on_full_buffer=False)
        return old

    # ---- teardown ----------------------------------------------------------------------
    def _teardown(self) -> None:
        """Undo everything the start made; safe at any point of a start."""
        if self.chan is not None:
            self.chan.close()
            self.chan = None
        if self.init_pid > 0:
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.init_pid, 0)
            except ChildProcessError:
                pass
            self.init_pid = -1
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        if self.console is not None:
            self.console.close()  # after the init is gone: keeps its last output
            self.console = None
        self._host_hooks("stop", quiet=True)
        net_done: Callable[[], None] | None = None
        if self.res.net:
            from lxcpy.net import host_teardown_begin, run_scripts

            try:
                run_scripts(self.cfg.networks, self.res.net, self.name, "down")
            except LxcError as exc:
                log.warning("%s", exc.message)
            # in a thread: the kernel's link deletions wait beside the cgroups' teardown
            net_done = host_teardown_begin(
                self.res.net, self.netns_fd if self.netns_fd >= 0 else None)
        if self.netns_fd >= 0:
            os.close(self.netns_fd)
            self.netns_fd = -1
        try:
            if self.cgroup is not None:
                try:
                    self.cgroup.destroy()
                except LxcError as exc:
                    log.error("%s", exc.message)
                self._leave_monitor()
        finally:
            if net_done is not None:
                net_done()  # the devices are gone before their records are forgotten
        # everything listed is undone: the record goes (an unlink; rewriting it empty
        # cost a save), and a fresh one would list what a later start makes
        self.res.discard(self.paths)
        self.res = Resources(supervisor_pid=os.getpid(), socket=self.paths.socket)

    def _host_hooks(self, hook: str, quiet: bool = False) -> None:
        commands = self.cfg.hooks.get(hook)
        if not commands:
            return
        from lxcpy.runtime.hooks import run_hook

        try:
            run_hook(self.name, self.cfg, hook, commands)
        except LxcError as exc:
            if not quiet and hook == "pre-start":
                raise
            log.warning("%s", exc.message)


INIT_DIED = "the container's init died during setup"


def _receive(chan: Channel, block: bool) -> sync.Message:
    """The init's next message; its EOF also when nothing is queued (``block`` False: it
    has ended) or the channel fails (the loop would drop a callback that raises)."""
    try:
        message = chan.recv() if block else chan.poll()
    except (OSError, ValueError) as exc:
        log.warning("the sync channel: %s", _describe(exc))
        message = None
    return message if message is not None else sync.Message()


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _restore_signals(old: dict[int, Any]) -> None:
    wake = old.pop(-1, -1)
    for sig, handler in old.items():
        signal.signal(sig, handler)
    signal.set_wakeup_fd(wake)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, OSError):
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"
    return f"{exc.__class__.__name__}: {exc}"


# LXC's command table: every command a client may send, and the method that answers it
COMMANDS: dict[str, Callable[[Supervisor, dict[str, Any], Client], dict[str, Any] | Reply]] = {
    "state": Supervisor._cmd_state,
    "info": Supervisor._cmd_info,
    "stop": Supervisor._request_stop,
    "kill": Supervisor._cmd_kill,
    "freeze": Supervisor._cmd_freeze,
    "unfreeze": Supervisor._cmd_unfreeze,
    "cgroup_get": Supervisor._cmd_cgroup_get,
    "cgroup_set": Supervisor._cmd_cgroup_set,
    "cgroup_attach": Supervisor._cmd_cgroup_attach,
    "procs": Supervisor._cmd_procs,
    "stats": Supervisor._cmd_stats,
    "get_config_item": Supervisor._cmd_get_config_item,
    "console": Supervisor._cmd_console,
    "resize": Supervisor._cmd_resize,
}
ANSWERED_WHILE_STARTING = frozenset({"state", "info", "stop", "procs"})
