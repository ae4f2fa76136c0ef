"""The cgroup v2 driver: one cgroup in the cgroup2 hierarchy.

On a hybrid host the cgroup2 mount (/sys/fs/cgroup/unified) has no domain controllers:
freeze, kill, attach and procs work there, limits do not. The v1 driver also uses the
helpers here for that unified cgroup (``lxc.cgroup2.*`` keys, ``cgroup.kill``).
"""

from __future__ import annotations

import os
import time

from lxcpy.cgroups import fs
from lxcpy.cgroups.base import (
    DEVICE_FILES,
    SIGKILL,
    CgroupManager,
    CgroupStats,
    kill_loop,
    own_settings,
    setting_label,
)
from lxcpy.errors import CgroupError

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from lxcpy.cgroups.base import Placement
    from lxcpy.cgroups.detect import HostLayout
    from lxcpy.config.model import CgroupSetting

CORE_PREFIX = "cgroup"  # cgroup.* files belong to the core, not to a controller


def wait_event(directory: str, key: str, want: str, timeout: float) -> bool:
    """Wait until cgroup.events says ``key want``; False on timeout.

    The kernel signals a change of cgroup.events as POLLPRI|POLLERR. Reading the file
    re-arms the notification, so read, check, poll, read again: no change is missed.
    But the kernel sends at most one notification per cgroup file every 10 ms, so a
    freeze right after a thaw would wait for that; short poll timeouts (1, 2, 4 ms...)
    re-read in between.
    """
    import select  # only freeze/kill need it

    fd = os.open(os.path.join(directory, "cgroup.events"), os.O_RDONLY | os.O_CLOEXEC)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLPRI | select.POLLERR)
        deadline = time.monotonic() + timeout
        wait_ms = 1
        while True:
            events = fs.parse_flat_keyed(os.pread(fd, 4096, 0).decode())
            if events.get(key) == want:
                return True
            remaining_ms = (deadline - time.monotonic()) * 1000
            if remaining_ms <= 0:
                return False
            poller.poll(max(1, min(wait_ms, int(remaining_ms))))
            wait_ms = min(wait_ms * 2, 100)
    finally:
        os.close(fd)


def kill_dir(directory: str, timeout: float) -> bool:
    """SIGKILL everything in ``directory`` at once with cgroup.kill and wait until it is
    empty. False if this kernel has no cgroup.kill or the cgroup is gone."""
    try:
        fs.write_file(os.path.join(directory, "cgroup.kill"), "1")
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise CgroupError(f"cannot kill cgroup {directory}: {exc.strerror}") from None
    if not wait_event(directory, "populated", "0", timeout):
        raise CgroupError(f"cgroup {directory}: still populated {timeout:g} s after cgroup.kill")
    return True


def _systemd_hint(controller: str) -> str:
    """How to get a controller delegated on a host whose init is systemd."""
    if not os.path.isdir("/run/systemd/system"):
        return ""
    return (f" (systemd delegates it with Delegate={controller} on the unit, or "
            f"systemd-run --scope -p Delegate=yes)")


class V2Manager(CgroupManager):
    version = 2

    def __init__(self, name: str, layout: HostLayout, cgroup_dir: str | None = None,
                 placement: Placement | None = None,
                 bases: dict[str, str] | None = None) -> None:
        if layout.v2_mount is None:
            raise CgroupError("cgroup v2 driver: no cgroup2 hierarchy is mounted on this host")
        super().__init__(name, layout, cgroup_dir, placement, bases)
        self.root = layout.v2_mount
        self.top = self.base(self.root)  # delegation starts here (the root, or our cgroup)
        self.dir = os.path.join(self.top, self.relpath)

    def roots(self) -> list[str]:
        return [self.root]

    def _rename(self, relpath: str) -> None:
        super()._rename(relpath)
        self.dir = os.path.join(self.top, relpath)

    # -- limits -----------------------------------------------------------------------
    def apply(self, settings: list[CgroupSetting]) -> None:
        """Write ``lxc.cgroup2.*`` settings in order, first enabling the controllers they
        need in the parents' cgroup.subtree_control; ``devices.allow/deny`` become one
        device program (cgroup2 has no such files)."""
        settings = own_settings(settings, 2)
        devices = [s for s in settings if s.key in DEVICE_FILES]
        settings = [s for s in settings if s.key not in DEVICE_FILES]
        for setting in settings:
            fs.check_key(setting.key, setting_label(setting))
        needed: dict[str, str] = {}  # controller -> label of the first setting needing it
        for setting in settings:
            controller = setting.controller
            if (controller != CORE_PREFIX and controller not in needed
                    and not os.path.exists(os.path.join(self.dir, setting.key))):
                needed[controller] = setting_label(setting)
        if needed:
            self._enable(needed)
        for setting in settings:
            label = setting_label(setting)
            self._check_file(setting.key, label)
            fs.set_key(self.dir, setting.key, setting.value, label)
        if devices:
            self._apply_devices(devices)

    def _apply_devices(self, settings: list[CgroupSetting]) -> None:
        """Compile the rules into a BPF_PROG_TYPE_CGROUP_DEVICE program and attach it to
        the container's cgroup (BPF_F_ALLOW_MULTI: a sub-cgroup's program adds to it, never
        replaces it). The cgroup holds the program until it is removed."""
        from lxcpy.cgroups.devices import DevicePolicy, compile_policy, parse_rule
        from lxcpy.errors import KernelError
        from lxcpy.kernel import bpf
        from lxcpy.log import log

        policy = DevicePolicy()
        for setting in settings:
            try:
                policy.add(parse_rule(setting.value, setting.key == "devices.allow"))
            except ValueError as exc:
                raise CgroupError(f"{setting_label(setting)}: {exc}") from None
        label = setting_label(settings[0])
        program = compile_policy(policy)
        try:
            prog_fd = bpf.load_device_program(program)
        except KernelError as exc:
            raise CgroupError(f"{label}: cannot load the device program: {exc}") from None
        try:
            cgroup_fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                bpf.attach(cgroup_fd, prog_fd)
            finally:
                os.close(cgroup_fd)
        except (OSError, KernelError) as exc:
            raise CgroupError(f"{label}: cannot attach the device program to "
                              f"{self.dir}: {exc}") from None
        finally:
            os.close(prog_fd)
        log.debug("device policy of %s: %s, %d instructions", self.relpath,
                  policy.describe(), len(program))

    def _enable(self, needed: dict[str, str]) -> None:
        """Enable ``needed`` controllers top-down from the base to the container's parent
        (only these: LXC enables every one it finds). Below the root, a controller must be
        delegated to the base first: said so, naming the cgroup, when it is not."""
        for controller, label in needed.items():
            if controller not in self.layout.v2_controllers:
                raise CgroupError(f"{label}: {self._no_controller(controller)}")
        if self.top != self.root:
            have = (fs.read_optional(os.path.join(self.top, "cgroup.controllers")) or "").split()
            for controller, label in needed.items():
                if controller not in have:
                    raise CgroupError(
                        f"{label}: the '{controller}' controller is not delegated to "
                        f"{self.top}, the cgroup lxcpy works in{_systemd_hint(controller)}")
        parent = os.path.dirname(self.dir)
        levels = [parent]
        while levels[-1] != self.top:
            levels.append(os.path.dirname(levels[-1]))
        for level in reversed(levels):  # a controller must be enabled top-down
            control = os.path.join(level, "cgroup.subtree_control")
            enabled = set(fs.read_file(control).split())
            for controller, label in needed.items():
                if controller in enabled:
                    continue
                try:
                    fs.write_file(control, "+" + controller)
                except OSError as exc:
                    why = exc.strerror
                    if exc.errno == 16:  # EBUSY: cgroup v2 has no processes in inner nodes
                        why = (f"{why}: {level} holds processes, and a cgroup that delegates "
                               "controllers may not (start lxcpy from a cgroup of its own)")
                    raise CgroupError(f"{label}: cannot enable the '{controller}' controller "
                                      f"in {control}: {why}") from None

    def _no_controller(self, controller: str) -> str:
        where = ""
        if controller in self.layout.v1_controllers:
            where = " (it is bound to a cgroup v1 hierarchy on this host)"
        return f"no '{controller}' controller in the cgroup2 hierarchy {self.root}{where}"

    def _check_file(self, key: str, label: str) -> None:
        """Explain a missing file: no such controller here, not enabled, or no such file."""
        if not os.path.isdir(self.dir) or os.path.exists(os.path.join(self.dir, key)):
            return  # set_key/get_key report the rest
        controller = key.split(".", 1)[0]
        if "." in key and controller != CORE_PREFIX:
            if controller not in self.layout.v2_controllers:
                raise CgroupError(f"{label}: {self._no_controller(controller)}")
            enabled = fs.read_optional(os.path.join(self.dir, "cgroup.controllers")) or ""
            if controller not in enabled.split():
                raise CgroupError(f"{label}: the '{controller}' controller is not enabled "
                                  f"for cgroup {self.relpath}")
        raise CgroupError(f"{label}: no such cgroup file '{key}'")

    def get(self, key: str) -> str:
        fs.check_key(key, key)
        self._check_file(key, key)
        return fs.get_key(self.dir, key, key)

    def set(self, key: str, value: str) -> None:
        fs.check_key(key, key)
        if key in DEVICE_FILES:
            raise CgroupError(f"{key}: on cgroup v2 the device policy is a program set at "
                              "start (lxc.cgroup2.devices.*), not a file")
        self._check_file(key, key)
        fs.set_key(self.dir, key, value, key)

    # -- freezer ----------------------------------------------------------------------
    def freeze(self, timeout: float = 10.0) -> None:
        fs.set_key(self.dir, "cgroup.freeze", "1", "freeze")
        if not wait_event(self.dir, "frozen", "1", timeout):
            fs.set_key(self.dir, "cgroup.freeze", "0", "thaw")
            raise CgroupError(f"cgroup {self.relpath} did not freeze within {timeout:g} s")

    def thaw(self, timeout: float = 10.0) -> None:
        fs.set_key(self.dir, "cgroup.freeze", "0", "thaw")
        if not wait_event(self.dir, "frozen", "0", timeout):
            raise CgroupError(f"cgroup {self.relpath} did not thaw within {timeout:g} s")

    def is_frozen(self) -> bool:
        text = fs.read_optional(os.path.join(self.dir, "cgroup.events"))
        return text is not None and fs.parse_flat_keyed(text).get("frozen") == "1"

    # -- killing ----------------------------------------------------------------------
    def kill_all(self, sig: int = SIGKILL, timeout: float = 10.0) -> None:
        if self.dir not in self._made or not os.path.isdir(self.dir):
            return  # not made by us (yet): the name may be a namesake's
        if sig == SIGKILL and kill_dir(self.dir, timeout):
            return
        kill_loop(self.procs, self._try_freeze, self.thaw, sig, timeout,
                  f"cgroup {self.relpath}")

    # -- accounting -------------------------------------------------------------------
    def stats(self) -> CgroupStats:
        def read(name: str) -> str | None:
            return fs.read_optional(os.path.join(self.dir, name))

        cpu = read("cpu.stat")
        usec = fs.parse_flat_keyed(cpu) if cpu else {}
        usage = usec.get("usage_usec")
        memory = read("memory.current")
        swap = read("memory.swap.current")
        io = read("io.stat")
        io_bytes = rbytes = wbytes = ios = None
        if io is not None:  # "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device
            rbytes = sum(int(field[7:]) for field in io.split()
                         if field.startswith("rbytes="))
            wbytes = sum(int(field[7:]) for field in io.split()
                         if field.startswith("wbytes="))
            io_bytes = rbytes + wbytes
            ios = sum(int(field[5:]) for field in io.split()
                      if field.startswith(("rios=", "wios=")))
        return CgroupStats(
            cpu_ns=int(usage) * 1000 if usage is not None else None,
            memory_bytes=int(memory) if memory else None,
            kmem_bytes=None,  # v2 has no separate kernel-memory counter file
            swap_bytes=int(swap) if swap else None,
            blkio_bytes=io_bytes,
            cpu_user_ns=int(usec["user_usec"]) * 1000 if "user_usec" in usec else None,
            cpu_sys_ns=int(usec["system_usec"]) * 1000 if "system_usec" in usec else None,
            blkio_read_bytes=rbytes,
            blkio_write_bytes=wbytes,
            blkio_ios=ios,
        )
