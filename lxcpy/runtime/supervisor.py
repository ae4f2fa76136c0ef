"""The supervisor: the process that starts a container and stays with it.

It owns the state machine (STOPPED -> STARTING -> RUNNING -> STOPPING -> STOPPED, with
ABORTING on any failure while starting), the per-container command socket, and everything
the start made on the host. It is the only writer of the container's runtime state; it
writes down what it makes before making it (``resources``) so a later command can undo it
if the supervisor is killed.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from lxcpy import kernel as k
from lxcpy.config.model import ContainerConfig
from lxcpy.errors import AlreadyRunning, LxcError, StartError
from lxcpy.log import log
from lxcpy.paths import ContainerPaths, Lock, ensure_rundir
from lxcpy.runtime import monitor, states
from lxcpy.runtime.resources import Resources, release
from lxcpy.runtime.sync import Channel

FORWARD_TO_INIT = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1,
                   signal.SIGUSR2, signal.SIGPWR, signal.SIGQUIT)


def test_kill_point(phase: str) -> None:
    """Fault injection for tests: LXCPY_TEST_KILL_AT=<phase> SIGKILLs the supervisor there."""
    if os.environ.get("LXCPY_TEST_KILL_AT") == phase:
        os.kill(os.getpid(), signal.SIGKILL)


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
        self.listener: socket.socket | None = None
        self.waiters: list[socket.socket] = []  # lxc-stop clients waiting for the end
        self.signals: list[int] = []
        self.stop_deadline: float | None = None
        self.exit_code = 0

    # ---- state -------------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        self.state = state
        log.debug("state %s", state)
        monitor.publish(self.paths.lxcpath, self.name, "state", state)

    # ---- life cycle --------------------------------------------------------------------
    def run(self) -> int:
        """Start, supervise until the container ends, clean up. Returns the exit status."""
        ensure_rundir(self.paths.lxcpath)
        # Signals are noted (not raised) from here on, so no Ctrl-C can leave a half-made
        # container or a stale lock behind.
        wake_r, wake_w = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM
                                           | socket.SOCK_CLOEXEC)
        wake_w.setblocking(False)
        old_handlers = self._install_signals(wake_w)
        lock = Lock(self.paths.lock)
        if not lock.acquire(blocking=False):
            _restore_signals(old_handlers)
            wake_r.close()
            wake_w.close()
            raise AlreadyRunning(f"container '{self.name}' is already running")
        try:
            # we hold the lock: whatever a dead supervisor left is stale
            release(self.paths, Resources.load(self.paths))
            self._bind_socket()
            self.res.save(self.paths)
            self.set_state(states.STARTING)
            try:
                self._start(wake_r)
            except BaseException as exc:
                message = exc.message if isinstance(exc, LxcError) else _describe(exc)
                self.set_state(states.ABORTING)
                self._teardown()
                self.set_state(states.STOPPED)
                raise StartError(message) from None
            self.set_state(states.RUNNING)
            test_kill_point("running")
            if self.on_running:
                self.on_running()
            status = self._supervise(wake_r)
            monitor.publish(self.paths.lxcpath, self.name, "exit", str(status))
            self.set_state(states.STOPPING)
            test_kill_point("stopping")
            self._teardown()
            self._host_hooks("post-stop")
            self.set_state(states.STOPPED)
            return status
        finally:
            for conn in self.waiters:
                conn.close()
            if self.listener is not None:
                self.listener.close()
            for path in (self.paths.socket, self.paths.resources, self.paths.seccomp):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            _restore_signals(old_handlers)
            wake_r.close()
            wake_w.close()
            lock.release()

    def _bind_socket(self) -> None:
        from lxcpy.runtime.commands import listen

        sock = listen(self.paths.socket, 64)
        sock.setblocking(False)
        self.listener = sock

    def _start(self, wake: socket.socket) -> None:
        cfg = self.cfg
        if cfg.idmaps:
            raise LxcError("lxc.idmap: user namespaces are not supported yet by lxcpy")
        from lxcpy.runtime.process import preflight

        # every key acted on or refused (one line) before anything is made; -d shows these
        for warning in preflight(cfg, self.prog, self.name, self.paths.lxcpath):
            log.warning("%s", warning)
        from lxcpy.runtime.confine import prepare_seccomp

        self.seccomp = prepare_seccomp(cfg, self.paths)  # compiled before anything is made
        self._setup_cgroup()
        test_kill_point("cgroup")
        self._host_hooks("pre-start")
        if self._new_netns():
            from lxcpy.net import preload

            # imported once here, inherited by the init: not twice (~115 ms each)
            preload(cfg.networks)
        self.chan = self._spawn()
        test_kill_point("clone")
        self.cgroup.attach(self.init_pid)
        self.chan.send(go=True)
        self._expect(wake, "ns")
        records: list[dict[str, Any]] = []
        if self._new_netns():
            self.netns_fd = os.open(f"/proc/{self.init_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            from lxcpy.net import host_setup, run_scripts

            records = host_setup(cfg.networks, self.init_pid, self.name, self._record_net)
            self.res.net = records
            self.res.save(self.paths)
            test_kill_point("devices")
            run_scripts(cfg.networks, records, self.name, "up")
        self.chan.send(net=records)
        self._expect(wake, "mounted")
        test_kill_point("mounts")
        if self.mode == "execute":
            self._expect(wake, "running")
        else:
            self._expect(wake, "exec")
            self._expect(wake, None)  # EOF: the exec succeeded (the channel is close-on-exec)
        self.chan.close()
        self.chan = None

    def _setup_cgroup(self) -> None:
        from lxcpy.cgroups import manager_for

        cgroup = manager_for(self.name, self.cfg.cgroup_driver, self.cfg.cgroup_dir)
        # create() picks a free lxc.payload.NAME[-N]; only what it made is recorded and
        # used (teardown, kill, recovery): never a path derived from the name, which may
        # be a namesake's in another lxcpath
        cgroup.create()
        self.cgroup = cgroup
        self.res.cgroup_paths = list(cgroup.paths())
        self.res.save(self.paths)
        self.cgroup.apply(self.cfg.cgroup_settings)

    def _new_netns(self) -> bool:
        return self.cfg.wants_netns

    def _unshare_flags(self) -> int:
        from lxcpy.runtime.namespaces import clone_flags

        return clone_flags(self.cfg)

    def _spawn(self) -> Channel:
        """Fork the container's first process as PID 1 of a new PID namespace."""
        from lxcpy.runtime.child import ChildSpec, container_main
        from lxcpy.runtime.console import prepare_console

        self.console = prepare_console(self.cfg, self.paths, self.mode, self.daemonized)
        parent, child = Channel.pair()
        spec = ChildSpec(
            name=self.name, cfg=self.cfg, argv=self.argv, mode=self.mode, prog=self.prog,
            new_netns=self._new_netns(), unshare_flags=self._unshare_flags(),
            supervisor_pid=os.getpid(), caller_cwd=os.getcwd(),
            caller_term=os.environ.get("TERM"), console=self.console,
            keep_fds=self.console.child_fds() if self.console else set(),
            seccomp=self.seccomp)
        new_pid = "pid" not in self.cfg.namespace_keep
        own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if new_pid:
                # only our children enter the new PID namespace; we go back right after
                k.unshare(k.CLONE_NEWPID)
            pid = os.fork()
            if pid == 0:
                parent.close()
                container_main(spec, child)
            if new_pid:
                k.setns(own_pidns, k.CLONE_NEWPID)
        finally:
            os.close(own_pidns)
        child.close()
        if self.console is not None:
            self.console.start_relay()
        self.init_pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.res.init_pid = pid
        self.res.save(self.paths)
        return parent

    def _record_net(self, record: dict[str, Any]) -> None:
        self.res.net.append(record)
        self.res.save(self.paths)

    def _expect(self, wake: socket.socket, what: str | None) -> dict[str, Any]:
        """Wait for the next setup message from the container; abort on error or signal."""
        assert self.chan is not None
        while True:
            sel = selectors.DefaultSelector()
            sel.register(self.chan.sock, selectors.EVENT_READ)
            sel.register(wake, selectors.EVENT_READ)
            ready = sel.select()
            sel.close()
            if any(key.fileobj is wake for key, _ in ready):
                _drain(wake)
                if self.signals:
                    sig = self.signals.pop(0)
                    raise LxcError(f"interrupted by {signal.Signals(sig).name} while starting")
            if any(key.fileobj is self.chan.sock for key, _ in ready):
                break
        message = self.chan.recv()
        if message is None:
            if what is None:
                return {}
            raise LxcError("the container's init died during setup")
        if "error" in message:
            raise LxcError(message["error"])
        if what is not None and what not in message:
            raise LxcError(f"unexpected message from the container: {message}")
        return message

    # ---- running -----------------------------------------------------------------------
    def _supervise(self, wake: socket.socket) -> int:
        assert self.listener is not None
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ, "accept")
        sel.register(self.pidfd, selectors.EVENT_READ, "init")
        sel.register(wake, selectors.EVENT_READ, "signal")
        buffers: dict[socket.socket, bytes] = {}
        while True:
            timeout = None
            if self.stop_deadline is not None:
                timeout = max(0.0, self.stop_deadline - time.monotonic())
            for key, _ in sel.select(timeout):
                if key.data == "init":
                    _, status = os.waitpid(self.init_pid, 0)
                    code = os.waitstatus_to_exitcode(status)
                    sel.close()
                    self.init_pid = -1
                    return code if code >= 0 else 128 - code
                if key.data == "accept":
                    try:
                        conn, _ = self.listener.accept()
                    except BlockingIOError:
                        continue
                    if not _peer_is_root(conn):
                        conn.close()
                        continue
                    conn.setblocking(False)
                    buffers[conn] = b""
                    sel.register(conn, selectors.EVENT_READ, "client")
                elif key.data == "signal":
                    _drain(wake)
                    while self.signals:
                        self._forward(self.signals.pop(0))
                else:
                    conn = key.fileobj  # type: ignore[assignment]
                    self._serve(conn, sel, buffers)
            if self.stop_deadline is not None and time.monotonic() >= self.stop_deadline:
                self.stop_deadline = None
                self._kill_everything()

    def _serve(self, conn: socket.socket, sel: selectors.BaseSelector,
               buffers: dict[socket.socket, bytes]) -> None:
        import json

        try:
            chunk = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            sel.unregister(conn)
            buffers.pop(conn, None)
            if conn not in self.waiters:
                conn.close()
            return
        buffers[conn] += chunk
        if not buffers[conn].endswith(b"\n"):
            return
        try:
            request = json.loads(buffers[conn])
            buffers[conn] = b""
            reply = self._handle(request, conn)
        except LxcError as exc:
            reply = {"error": exc.message, "code": exc.exit_code}
        except Exception as exc:  # noqa: BLE001 - one bad request must not kill the container
            reply = {"error": _describe(exc)}
        try:
            conn.setblocking(True)
            conn.sendall(json.dumps(reply).encode() + b"\n")
            conn.setblocking(False)
        except OSError:
            pass

    def _handle(self, request: dict[str, Any], conn: socket.socket) -> dict[str, Any]:
        op = request.get("op")
        if op == "state":
            return {"state": self.state, "pid": self.init_pid}
        if op == "info":
            return {"state": self.state, "pid": self.init_pid,
                    "cgroup_paths": list(self.cgroup.paths()) if self.cgroup else [],
                    "mode": self.mode, "supervisor": os.getpid()}
        if op == "stop":
            return self._request_stop(request, conn)
        if op == "kill":
            sig = int(request["signal"])
            self.cgroup.signal_all(sig)
            return {"ok": True}
        if op == "freeze":
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
        if op == "unfreeze":
            if self.state != states.FROZEN:
                raise LxcError(f"{self.name} is not frozen")
            self.set_state(states.THAWED)
            self.cgroup.thaw()
            self.set_state(states.RUNNING)
            return {"ok": True}
        if op == "cgroup_get":
            return {"value": self.cgroup.get(request["key"])}
        if op == "cgroup_set":
            self.cgroup.set(request["key"], request["value"])
            return {"ok": True}
        if op == "stats":
            from dataclasses import asdict

            return {"stats": asdict(self.cgroup.stats())}
        raise LxcError(f"unknown request {op!r}")

    def _request_stop(self, request: dict[str, Any], conn: socket.socket) -> dict[str, Any]:
        if request.get("wait", True):
            self.waiters.append(conn)  # closed when the container has stopped
        if request.get("kill"):
            self._kill_everything()
            return {"ok": True}
        if self.state == states.FROZEN:
            self.cgroup.thaw()
            self.set_state(states.RUNNING)
        os.kill(self.init_pid, self._halt_signal())
        timeout = float(request.get("timeout", 60))
        if timeout >= 0 and not request.get("nokill"):
            self.stop_deadline = time.monotonic() + timeout
        return {"ok": True}

    def _halt_signal(self) -> int:
        if self.mode == "execute":
            return signal.SIGTERM  # our init forwards it to the command
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
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def _forward(self, sig: int) -> None:
        """A signal to a foreground supervisor goes to the container's init (LXC does this)."""
        if self.init_pid > 0:
            try:
                os.kill(self.init_pid, sig)
            except ProcessLookupError:
                pass

    def _install_signals(self, wake: socket.socket) -> dict[int, Any]:
        def note(signum: int, _frame: object) -> None:
            self.signals.append(signum)

        # a signal the caller left ignored stays ignored, like for any C tool: `nohup`, and
        # `lxc-execute ... &` in a script, which must not end on the terminal's Ctrl-C
        old = {sig: signal.signal(sig, note) for sig in FORWARD_TO_INIT
               if signal.getsignal(sig) is not signal.SIG_IGN}
        old[-1] = signal.set_wakeup_fd(wake.fileno(), warn_on_full_buffer=False)
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
        if self.res.net:
            from lxcpy.net import host_teardown, run_scripts

            try:
                run_scripts(self.cfg.networks, self.res.net, self.name, "down")
            except LxcError as exc:
                log.warning("%s", exc.message)
            host_teardown(self.res.net, self.netns_fd if self.netns_fd >= 0 else None)
        if self.netns_fd >= 0:
            os.close(self.netns_fd)
            self.netns_fd = -1
        if self.cgroup is not None:
            try:
                self.cgroup.destroy()
            except LxcError as exc:
                log.error("%s", exc.message)
        self.res = Resources(supervisor_pid=os.getpid(), socket=self.paths.socket)
        self.res.save(self.paths)

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


def _drain(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while sock.recv(4096):
            pass
    except BlockingIOError:
        pass
    sock.setblocking(True)


def _peer_is_root(conn: socket.socket) -> bool:
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == 0


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
