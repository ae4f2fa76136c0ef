"""python3-lxc's Python API over lxcpy: ``import lxcpy as lxc`` and code written for
``import lxc`` runs unchanged.

Names, argument order, return values (True/False where python3-lxc returns them) and
exceptions follow python3-lxc (github lxc/python3-lxc: lxc/__init__.py and lxc.c's method
table). The commands use :class:`lxcpy.container.Container`, which raises
:class:`lxcpy.errors.LxcError`; this face holds one and turns its errors into python3-lxc's
return values. Like liblxc, a Container keeps its config in memory (the model of
lxcpy.config.parser): get/set/clear/append_config_item act on it, save_config writes it,
and start()/create() use it as it stands.

Imported only when ``lxcpy.Container`` (or another name of this API) is first used.
"""

from __future__ import annotations

import os

from lxcpy.container import Container as _Core
from lxcpy.errors import LxcError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from lxcpy.config.model import ContainerConfig

# namespace flags (linux/sched.h), as python3-lxc exports them
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
# attach: environment (lxc/attach_options.h)
LXC_ATTACH_KEEP_ENV = 0
LXC_ATTACH_CLEAR_ENV = 1
# attach: options
LXC_ATTACH_MOVE_TO_CGROUP = 0x00000001
LXC_ATTACH_DROP_CAPABILITIES = 0x00000002
LXC_ATTACH_SET_PERSONALITY = 0x00000004
LXC_ATTACH_LSM_EXEC = 0x00000008
LXC_ATTACH_REMOUNT_PROC_SYS = 0x00010000
LXC_ATTACH_LSM_NOW = 0x00020000
LXC_ATTACH_DEFAULT = 0x0000FFFF
# clone flags (lxc/lxccontainer.h)
LXC_CLONE_KEEPNAME = 1 << 0
LXC_CLONE_KEEPMACADDR = 1 << 1
LXC_CLONE_SNAPSHOT = 1 << 2
LXC_CLONE_KEEPBDEVTYPE = 1 << 3
LXC_CLONE_MAYBE_SNAPSHOT = 1 << 4
# create flags
LXC_CREATE_QUIET = 1 << 0

_NAMESPACES = ((CLONE_NEWNS, "mnt"), (CLONE_NEWUTS, "uts"), (CLONE_NEWIPC, "ipc"),
               (CLONE_NEWUSER, "user"), (CLONE_NEWPID, "pid"), (CLONE_NEWNET, "net"),
               (CLONE_NEWCGROUP, "cgroup"))
_STATES = ("STOPPED", "STARTING", "RUNNING", "STOPPING", "ABORTING", "FREEZING", "FROZEN",
           "THAWED")


def _lxc_version() -> str:
    from lxcpy.cli.common import LXC_VERSION

    return LXC_VERSION


def get_global_config_item(key: str) -> str:
    """A system setting (lxc.lxcpath, lxc.default_config, ...), as lxc-config prints it."""
    from lxcpy.cli.config import ITEMS, item_value

    if key not in ITEMS:
        raise KeyError(key)
    return item_value(key) or ""


def _default_config_path() -> str:
    from lxcpy.paths import default_lxcpath

    return default_lxcpath()


class ContainerNetwork:
    """One interface of a container's config (``container.network[0].link``)."""

    props: dict[str, str] = {}

    def __init__(self, container: Container, index: int) -> None:
        object.__setattr__(self, "container", container)
        object.__setattr__(self, "index", index)
        props = {}
        for key in container.get_keys(f"lxc.net.{index}"):
            props[key.replace(".", "_")] = key
        object.__setattr__(self, "props", props)

    def _item(self, key: str) -> str:
        return f"lxc.net.{self.index}.{key}"

    def __dir__(self) -> list[str]:
        return sorted(self.props)

    def __getattr__(self, key: str) -> Any:
        props = object.__getattribute__(self, "props")
        if key not in props:
            raise AttributeError(f"'{self._type()}' network has no attribute '{key}'")
        return self.container.get_config_item(self._item(props[key]))

    def __setattr__(self, key: str, value: Any) -> None:
        if key in ("container", "index", "props"):
            object.__setattr__(self, key, value)
            return
        if key not in self.props:
            raise AttributeError(f"'{self._type()}' network has no attribute '{key}'")
        self.container.set_config_item(self._item(self.props[key]), value)

    def __delattr__(self, key: str) -> None:
        if key not in self.props:
            raise AttributeError(f"'{self._type()}' network has no attribute '{key}'")
        self.container.clear_config_item(self._item(self.props[key]))

    def _type(self) -> str:
        return str(self.container.get_config_item(self._item("type")))

    def __repr__(self) -> str:
        return f"'{self._type()}' network at index '{self.index}'"


class ContainerNetworkList:
    """``container.network``: the interfaces of the config, by index."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def __getitem__(self, index: int) -> ContainerNetwork:
        if index >= len(self):  # python3-lxc tries to add one (a type LXC refuses, too)
            self.add("temp_type")
        return ContainerNetwork(self.container, index)

    def __len__(self) -> int:
        values = self.container.get_config_item("lxc.net")
        return len(values) if values else 0

    def add(self, network_type: str) -> bool:
        return self.container.set_config_item(f"lxc.net.{len(self)}.type", network_type)

    def remove(self, index: int) -> bool:
        if index >= len(self):
            raise IndexError("list index out of range")
        return self.container.clear_config_item(f"lxc.net.{index}")


def _listed(value: str) -> str | list[str]:
    """python3-lxc: a value ending in a newline is a list."""
    return value.rstrip("\n").split("\n") if value.endswith("\n") else value


class Container:
    """python3-lxc's ``lxc.Container(name, config_path=None)``."""

    def __init__(self, name: str, config_path: str | None = None) -> None:
        self._core = _Core(name, config_path or None)
        self._cfg: ContainerConfig | None = None
        self._changed = False  # the config in memory differs from the file
        self.network = ContainerNetworkList(self)
        # console_getfd's command connections: each holds its tty while it is open (liblxc
        # keeps its command socket open too); closed with this object
        self._held: list[Any] = []

    def __repr__(self) -> str:
        return f"Container({self.name!r}, config_path={self._core.lxcpath!r})"

    # ---- properties ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._core.name

    @property
    def config_file_name(self) -> str:
        return self._core.paths.config

    @property
    def defined(self) -> bool:
        return self._core.defined

    @property
    def controllable(self) -> bool:
        return os.geteuid() == 0 or os.access(self._core.lxcpath, os.W_OK)

    @property
    def state(self) -> str:
        return self._core.state

    @property
    def running(self) -> bool:
        return self._core.running

    @property
    def init_pid(self) -> int:
        return self._core.init_pid

    # ---- the config in memory --------------------------------------------------------------
    def _model(self) -> ContainerConfig:
        """The config file's model; liblxc's lxc.default_config for an undefined one."""
        if self._cfg is None:
            from lxcpy.config.parser import new_config, parse_file, parse_text

            if self.defined:
                self._cfg = parse_file(self.config_file_name)
            else:
                from lxcpy.paths import default_config_path

                default = default_config_path()
                self._cfg = (parse_text(_read(default), self.config_file_name)
                             if os.path.isfile(default) else new_config(self.config_file_name))
                self._cfg.path = self.config_file_name
        return self._cfg

    def get_config_path(self) -> str:
        return self._core.lxcpath

    def set_config_path(self, path: str) -> bool:
        try:
            self._core = _Core(self.name, path)
        except LxcError:
            return False
        self._cfg, self._changed = None, False
        return True

    def load_config(self, path: str | None = None) -> bool:
        from lxcpy.config.parser import parse_file
        from lxcpy.errors import ConfigError

        try:
            cfg = parse_file(path or self.config_file_name)
        except ConfigError:
            return False
        cfg.path = self.config_file_name
        self._cfg = cfg
        self._changed = path not in (None, self.config_file_name)
        return True

    def save_config(self, path: str | None = None) -> bool:
        from lxcpy.config.parser import to_text
        from lxcpy.paths import write_atomic

        target = path or self.config_file_name
        try:
            os.makedirs(os.path.dirname(target), mode=0o770, exist_ok=True)
            write_atomic(target, to_text(self._model()), 0o640)
        except OSError:
            return False
        if target == self.config_file_name:
            self._changed = False
        return True

    def clear_config(self) -> None:
        from lxcpy.config.parser import new_config

        self._cfg = new_config(self.config_file_name)
        self._changed = True

    def get_config_item(self, key: str) -> str | list[str]:
        """The value in effect; a list for list keys. KeyError for an unknown key."""
        from lxcpy.config.parser import get_item

        return _listed(get_item(self._model(), key))

    def get_running_config_item(self, key: str) -> str | None:
        """The value the running container was started with, asked of its supervisor (as
        liblxc's command): None when it is not running or the key has no value there."""
        from lxcpy.errors import NotRunning
        from lxcpy.runtime.commands import running_config_item

        try:
            return running_config_item(self._core.paths, key) or None
        except (NotRunning, LxcError):
            return None

    def get_keys(self, key: str | None = None) -> list[str]:
        from lxcpy.config.parser import get_keys

        return get_keys(self._model(), key)

    def set_config_item(self, key: str, value: str | list[str]) -> bool:
        """Replace ``key``'s values by ``value`` (a list for list keys): True if it took."""
        from lxcpy.config.parser import clear_item, get_item, set_item
        from lxcpy.errors import ConfigError

        cfg = self._model()
        get_item(cfg, key)  # KeyError for an unknown key, as python3-lxc
        snapshot = _copy_model(cfg)
        try:
            if isinstance(value, str) and value == "":
                clear_item(cfg, key)
            else:
                clear_item(cfg, key)
                for item in value if isinstance(value, list) else [value]:
                    set_item(cfg, key, str(item))
        except ConfigError:
            self._cfg = snapshot
            return False
        self._changed = True
        return True

    def append_config_item(self, key: str, value: str) -> bool:
        from lxcpy.config.parser import set_item
        from lxcpy.errors import ConfigError

        try:
            set_item(self._model(), key, value)
        except (ConfigError, KeyError):
            return False
        self._changed = True
        return True

    def clear_config_item(self, key: str) -> bool:
        from lxcpy.config.parser import clear_item

        try:
            clear_item(self._model(), key)
        except KeyError:
            return False
        self._changed = True
        return True

    # ---- the store -----------------------------------------------------------------------
    def create(self, template: str | None = None, flags: int = 0,
               args: Sequence[str] | dict[str, str] = (), bdevtype: str | None = None,
               fssize: int = 0) -> bool:
        """Make the container from the config in memory (and a template)."""
        import shutil
        import tempfile

        if isinstance(args, dict):
            args = [word for k, v in args.items() for word in (f"--{k}", str(v))]
        from lxcpy.config.parser import to_text
        from lxcpy.store import create_container

        text = to_text(self._model())
        if self.defined and os.listdir(self._core.paths.dir) == ["config"]:
            shutil.rmtree(self._core.paths.dir)  # python3-lxc saved only the config first
        with tempfile.NamedTemporaryFile("w", prefix="lxcpy-create-", suffix=".conf") as f:
            f.write(text)
            f.flush()
            store = None
            if bdevtype not in (None, "dir"):
                from lxcpy.storage import kind_of

                store = (kind_of(bdevtype or "dir"), None, fssize or None, None)
            try:
                _quiet(flags, lambda: create_container(self._core, f.name, template or None,
                                                       list(args), store=store))
            except LxcError:
                return False
        self._cfg, self._changed = None, False
        return True

    def destroy(self) -> bool:
        try:
            self._core.destroy()
        except LxcError:
            return False
        self.clear_config()
        return True

    def clone(self, newname: str, config_path: str | None = None, flags: int = 0,
              bdevtype: str | None = None, bdevdata: str | None = None, newsize: int = 0,
              hookargs: Sequence[str] = ()) -> Container | bool:
        from lxcpy.storage.clone import clone

        snapshot = bool(flags & (LXC_CLONE_SNAPSHOT | LXC_CLONE_MAYBE_SNAPSHOT))
        try:
            clone(self._core, newname, config_path, snapshot=snapshot, bdev=bdevtype,
                  fssize=newsize or None, keepname=bool(flags & LXC_CLONE_KEEPNAME),
                  keepmac=bool(flags & LXC_CLONE_KEEPMACADDR))
        except LxcError:
            return False
        return Container(newname, config_path=config_path or self._core.lxcpath)

    def rename(self, new_name: str) -> Container | bool:
        from lxcpy.storage.clone import rename

        try:
            rename(self._core, new_name)
        except LxcError:
            return False
        return Container(new_name, config_path=self._core.lxcpath)

    def snapshot(self, comment_path: str | None = None) -> str | bool:
        from lxcpy.storage.snapshot import snapshot

        try:
            return snapshot(self._core, comment_path)
        except LxcError:
            return False

    def snapshot_list(self) -> tuple[tuple[str, str, str, str], ...]:
        """(name, comment file, timestamp, lxcpath) of each snapshot, as liblxc's."""
        from lxcpy.storage.snapshot import list_snapshots, snaps_dir

        try:
            found = list_snapshots(self._core)
        except LxcError:
            return ()
        base = snaps_dir(self._core)
        out = []
        for name, ts, _comment in found:
            comment = os.path.join(base, name, "comment")
            out.append((name, comment if os.path.isfile(comment) else "", ts, base))
        return tuple(out)

    def snapshot_restore(self, name: str, newname: str | None = None) -> bool:
        from lxcpy.storage.snapshot import restore

        try:
            restore(self._core, name, newname)
        except LxcError:
            return False
        self._cfg, self._changed = None, False
        return True

    def snapshot_destroy(self, name: str) -> bool:
        from lxcpy.storage.snapshot import destroy_snapshot

        try:
            destroy_snapshot(self._core, name)
        except LxcError:
            return False
        return True

    # ---- running it ----------------------------------------------------------------------
    def start(self, useinit: bool = False, daemonize: bool = True, close_fds: bool = False,
              cmd: Sequence[str] = ()) -> bool:
        """Boot the container (``useinit``: run ``cmd`` under lxcpy's small init, as
        lxc-execute) with the config in memory; True once it runs (daemonized) or ran."""
        import tempfile

        from lxcpy.config.parser import to_text

        if not self.defined:
            return False
        # liblxc starts from the config in memory: when it differs from the stored file,
        # a file next to it (relative paths resolve the same), read before anything starts
        path = None
        if self._changed:
            text = to_text(self._model())
            fd, path = tempfile.mkstemp(prefix=".start-", suffix=".conf",
                                        dir=self._core.paths.dir)
            with os.fdopen(fd, "w") as f:
                f.write(text)
        try:
            if useinit:
                status = self._core.execute(list(cmd), config_file=path, daemonize=daemonize)
            else:
                status = self._core.start(list(cmd), config_file=path, daemonize=daemonize)
        except LxcError:
            return False
        finally:
            if path is not None:
                os.unlink(path)
        return status == 0

    def stop(self) -> bool:
        try:
            self._core.stop(kill=True)  # liblxc's stop: SIGKILL at once
        except LxcError:
            return False
        return True

    def shutdown(self, timeout: int = -1) -> bool:
        """Ask the init to halt; True if it stopped within ``timeout`` (-1: forever)."""
        try:
            self._core.stop(timeout=timeout if timeout >= 0 else -1, nokill=True)
        except LxcError:
            return False
        return True

    def reboot(self) -> bool:
        try:
            self._core.reboot()
        except LxcError:
            return False
        return True

    def freeze(self) -> bool:
        try:
            self._core.freeze()
        except LxcError:
            return False
        return True

    def unfreeze(self) -> bool:
        try:
            self._core.unfreeze()
        except LxcError:
            return False
        return True

    def wait(self, state: str, timeout: float = -1) -> bool:
        state = state.upper() if isinstance(state, str) else state
        if state not in _STATES:
            raise ValueError(f"invalid state '{state}'")
        try:
            return self._core.wait(state, timeout)
        except LxcError:
            return False

    def get_cgroup_item(self, key: str) -> str:
        try:
            return self._core.get_cgroup_item(key).rstrip("\n")
        except LxcError:
            raise KeyError("Invalid cgroup entry") from None

    def set_cgroup_item(self, key: str, value: str) -> bool:
        try:
            self._core.set_cgroup_item(key, value)
        except LxcError:
            return False
        return True

    def get_interfaces(self) -> tuple[str, ...]:
        """The interface names in the container's network namespace."""
        pid = self.init_pid
        if pid <= 0:
            return ()
        try:
            with open(f"/proc/{pid}/net/dev") as f:
                lines = f.read().splitlines()[2:]
        except OSError:
            return ()
        return tuple(line.split(":", 1)[0].strip() for line in lines)

    def get_ips(self, interface: str | None = None, family: str | None = None,
                scope: int | None = None, timeout: int = 0) -> tuple[str, ...]:
        """The container's addresses as liblxc's get_ips: every IPv4 address, the IPv6
        ones whose scope id is ``scope`` (0: not link-local; an interface index: that
        interface's link-local ones), of ``interface`` (default: all but lo), of
        ``family`` ("inet"/"inet6"); retried each second for ``timeout`` seconds
        ($LXC_GETIP_TIMEOUT) until there is one, as python3-lxc."""
        import time

        timeout = int(os.environ.get("LXC_GETIP_TIMEOUT", timeout))
        while True:
            ips = self._ips(interface, family, int(scope or 0))
            if ips or timeout <= 0:
                return ips
            timeout -= 1
            time.sleep(1)  # python3-lxc polls the same way

    def _ips(self, interface: str | None, family: str | None, scope: int) -> tuple[str, ...]:
        import ipaddress
        import socket

        try:
            pid = self.init_pid
        except LxcError:
            return ()
        if pid <= 0:
            return ()
        from lxcpy.net.query import addresses_with_names

        out = []
        for fam, index, name, text in addresses_with_names(pid):
            if fam == socket.AF_INET:
                if family and family != "inet":
                    continue
            else:
                if family and family != "inet6":
                    continue
                addr = ipaddress.ip_address(text)
                # glibc's getifaddrs: sin6_scope_id is the interface for link-local ones
                scope_id = index if addr.is_link_local or (
                    addr.is_multicast and addr.packed[1] & 0x0F == 2) else 0
                if scope_id != scope:
                    continue
            if interface is not None and interface != name:
                continue
            if interface is None and name == "lo":
                continue
            out.append(text)
        return tuple(out)

    def console(self, ttynum: int = -1, stdinfd: int = 0, stdoutfd: int = 1,
                stderrfd: int = 2, escape: int = 1) -> bool:
        if not self.running:
            return False
        from lxcpy.runtime.console import run_console

        try:  # this terminal (stdinfd/stdoutfd) on tty ``ttynum`` until Ctrl-<escape> q
            return run_console(self._core.paths, ttynum, escape, stdinfd, stdoutfd) == 0
        except LxcError:
            return False

    def console_getfd(self, ttynum: int = -1) -> int | bool:
        """A pty master fd of tty ``ttynum`` (-1: the first free one, 0: the console), the
        caller's to read, write and close; False when not running (python3-lxc)."""
        if not self.running:
            return False
        from lxcpy.runtime.console import connect_console

        try:
            sock, _number, fd = connect_console(self._core.paths, ttynum)
        except LxcError:
            raise ValueError("Unable to allocate tty") from None
        self._held.append(sock)
        return fd

    # ---- attach --------------------------------------------------------------------------
    def attach_wait(self, run: Callable[..., Any], payload: Any = None, *,
                    attach_flags: int = LXC_ATTACH_DEFAULT, namespaces: int = -1,
                    personality: int = -1, initial_cwd: str | None = None, uid: int = -1,
                    gid: int = -1, env_policy: int = LXC_ATTACH_KEEP_ENV,
                    extra_env_vars: Sequence[str] = (), extra_keep_env: Sequence[str] = (),
                    **_: Any) -> int:
        """Run ``run(payload)`` in the container and wait: its exit status. ``run`` is
        lxc.attach_run_command (payload: the command), lxc.attach_run_shell, or any
        callable (it runs in the container with the host's already imported modules)."""
        argv: Any
        if run is attach_run_command:
            argv = _command(payload)
        elif run is attach_run_shell:
            argv = []
        else:  # called in the attached process, confined as a command; its int: the status
            argv = run if payload is None else (lambda: run(payload))
        env = None
        if env_policy == LXC_ATTACH_CLEAR_ENV:
            env = {name: os.environ[name] for name in extra_keep_env if name in os.environ}
        extra = dict(v.split("=", 1) for v in extra_env_vars if "=" in v)
        if extra:
            env = {**(env if env is not None else {}), **extra}
        joined = None
        if namespaces != -1:
            joined = [name for flag, name in _NAMESPACES if namespaces & flag]
        elevated = []
        if not attach_flags & LXC_ATTACH_MOVE_TO_CGROUP:
            elevated.append("CGROUP")
        if not attach_flags & LXC_ATTACH_DROP_CAPABILITIES:
            elevated.append("CAP")
        try:
            return self._core.attach_wait(
                argv, env, env_policy == LXC_ATTACH_CLEAR_ENV,
                uid=None if uid == -1 else uid, gid=None if gid == -1 else gid,
                namespaces=joined, elevated=elevated,
                personality=None if personality == -1 else personality,
                remount_sys_proc=bool(attach_flags & LXC_ATTACH_REMOUNT_PROC_SYS))
        except LxcError:
            return -1

    def attach(self, run: Callable[..., Any], payload: Any = None, **options: Any) -> int:
        """As attach_wait, without waiting: the PID to os.waitpid() for the exit status."""
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = self.attach_wait(run, payload, **options)
            finally:
                os._exit(code & 0xFF if code >= 0 else 1)
        return pid

    # ---- devices -------------------------------------------------------------------------
    def attach_interface(self, src_ifname: str, dst_ifname: str | None = None) -> bool:
        return self.add_device_net(src_ifname, dst_ifname)

    def detach_interface(self, ifname: str) -> bool:
        """Move ``ifname`` back from the container to the host."""
        import subprocess

        if not self.running:
            return False
        pid = self.init_pid
        return subprocess.call(["nsenter", "-t", str(pid), "-n", "ip", "link", "set", "dev",
                                ifname, "netns", str(os.getpid())]) == 0

    def add_device_net(self, name: str, destname: str | None = None) -> bool:
        """Move the host's interface ``name`` into the running container (python3-lxc's
        own implementation: ip link set ... netns PID name DEST)."""
        import subprocess

        if not self.running or not os.path.exists(f"/sys/class/net/{name}/"):
            return False
        return subprocess.call(["ip", "link", "set", "dev", name, "netns",
                                str(self.init_pid), "name", destname or name]) == 0

    def add_device_node(self, src_path: str, dest_path: str | None = None) -> bool:
        """lxc-device add: make the host's device node ``src_path`` at ``dest_path``
        (default: the same path) under the running container's /dev and allow it in its
        cgroup."""
        return self._device_node("add", src_path, dest_path)

    def remove_device_node(self, src_path: str, dest_path: str | None = None) -> bool:
        """lxc-device del: remove the node at ``dest_path`` (default ``src_path``) from the
        container's /dev and deny it in its cgroup again."""
        return self._device_node("del", src_path, dest_path)

    def _device_node(self, action: str, path: str, destpath: str | None) -> bool:
        from lxcpy.cli.device import device_node

        try:
            device_node(self._core, action, os.fsdecode(path),
                        os.fsdecode(destpath) if destpath else None)
        except LxcError:
            return False
        return True


def _quiet(flags: int, make: Callable[[], None]) -> None:
    """LXC_CREATE_QUIET: the template's output goes to /dev/null."""
    if not flags & LXC_CREATE_QUIET:
        make()
        return
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        make()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _copy_model(cfg: ContainerConfig) -> ContainerConfig:
    """A model to go back to when a set is refused: re-read from its own text."""
    from lxcpy.config.parser import parse_text, to_text

    copy = parse_text(to_text(cfg), cfg.path or "<config>")
    copy.path = cfg.path
    return copy


def _command(payload: Any) -> list[str]:
    if isinstance(payload, tuple):  # python3-lxc: (program, argv)
        return list(payload[1])
    if isinstance(payload, list):
        return [str(p) for p in payload]
    return [str(payload)]


def attach_run_command(cmd: Any) -> int:
    """Pass as ``run`` to attach/attach_wait with the command as payload (python3-lxc)."""
    argv = _command(cmd)
    os.execvp(argv[0], argv)
    return 127  # not reached


def attach_run_shell(*_: Any) -> int:
    """Pass as ``run`` to attach/attach_wait: the user's shell in the container."""
    os.execvp("/bin/sh", ["/bin/sh"])
    return 127  # not reached


def arch_to_personality(arch: str | bytes) -> int:
    """The personality of ``arch``: PER_LINUX32 (8) for 32-bit ones, PER_LINUX (0), or -1."""
    from lxcpy.config.keys import ARCHES

    if isinstance(arch, bytes):
        arch = str(arch, "utf-8")
    if arch not in ARCHES:
        return -1
    bits32 = ("arm", "armel", "armhf", "armv7l", "athlon", "i386", "i486", "i586", "i686",
              "linux32", "mips", "mipsel", "ppc", "powerpc", "x86")
    return 8 if arch in bits32 else 0


def list_containers(active: bool = True, defined: bool = True, as_object: bool = False,
                    config_path: str | None = None) -> tuple[Any, ...]:
    """Names of the containers in ``config_path``: defined ones, running ones, or both."""
    from lxcpy.paths import default_lxcpath

    lxcpath = config_path or default_lxcpath()
    try:
        entries = sorted(e for e in os.listdir(lxcpath) if not e.startswith("."))
    except OSError:
        return ()
    names = []
    for entry in entries:
        try:
            core = _Core(entry, lxcpath)
        except LxcError:
            continue
        if (defined and core.defined) or (active and os.path.exists(core.paths.socket)
                                          and core.running):
            names.append(entry)
    if as_object:
        return tuple(Container(name, config_path) for name in names)
    return tuple(names)


def __getattr__(name: str) -> Any:
    if name == "default_config_path":
        return _default_config_path()
    if name == "version":
        return _lxc_version()
    raise AttributeError(name)
