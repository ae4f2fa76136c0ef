"""Mounts inside the container's private mount namespace, in the order the kernel sees them.

Every target inside a rootfs is resolved with openat2(RESOLVE_IN_ROOT) (lxcpy.rootfs.pathrs)
and mounted, unmounted or tested through its ``/proc/self/fd/N`` path, so a symlink in the
rootfs (absolute, ``../..``, or swapped between check and mount) can never make a mount land
on the host (CVE-2015-1335 class).
"""

from __future__ import annotations

import os
import stat

from lxcpy import kernel as k
from lxcpy._record import dataclass
from lxcpy.config.model import ContainerConfig, MountEntry
from lxcpy.errors import KernelError, LxcError
from lxcpy.rootfs.pathrs import Root, fd_path, open_path

_FLAGS = {
    "ro": (k.MS_RDONLY, True), "rw": (k.MS_RDONLY, False),
    "nosuid": (k.MS_NOSUID, True), "suid": (k.MS_NOSUID, False),
    "nodev": (k.MS_NODEV, True), "dev": (k.MS_NODEV, False),
    "noexec": (k.MS_NOEXEC, True), "exec": (k.MS_NOEXEC, False),
    "sync": (k.MS_SYNCHRONOUS, True), "async": (k.MS_SYNCHRONOUS, False),
    "remount": (k.MS_REMOUNT, True), "mand": (k.MS_MANDLOCK, True),
    "nomand": (k.MS_MANDLOCK, False), "dirsync": (k.MS_DIRSYNC, True),
    "noatime": (k.MS_NOATIME, True), "atime": (k.MS_NOATIME, False),
    "nodiratime": (k.MS_NODIRATIME, True), "diratime": (k.MS_NODIRATIME, False),
    "bind": (k.MS_BIND, True), "rbind": (k.MS_BIND | k.MS_REC, True),
    "relatime": (k.MS_RELATIME, True), "norelatime": (k.MS_RELATIME, False),
    "strictatime": (k.MS_STRICTATIME, True), "lazytime": (k.MS_LAZYTIME, True),
    "defaults": (0, True),
}
_PROPAGATION = {
    "private": k.MS_PRIVATE, "rprivate": k.MS_PRIVATE | k.MS_REC,
    "slave": k.MS_SLAVE, "rslave": k.MS_SLAVE | k.MS_REC,
    "shared": k.MS_SHARED, "rshared": k.MS_SHARED | k.MS_REC,
    "unbindable": k.MS_UNBINDABLE, "runbindable": k.MS_UNBINDABLE | k.MS_REC,
}


@dataclass
class MountOptions:
    """Mount flags, propagation and data parsed from an fstab-style option list."""

    flags: int = 0
    propagation: int = 0
    data: str = ""
    create: str | None = None  # "dir" or "file"
    optional: bool = False

    @property
    def bind(self) -> bool:
        return bool(self.flags & k.MS_BIND)


def parse_options(options: str) -> MountOptions:
    opts = MountOptions()
    data: list[str] = []
    for opt in options.split(","):
        opt = opt.strip()
        if not opt:
            continue
        if opt in _FLAGS:
            flag, on = _FLAGS[opt]
            opts.flags = opts.flags | flag if on else opts.flags & ~flag
        elif opt in _PROPAGATION:
            opts.propagation |= _PROPAGATION[opt]
        elif opt.startswith("create="):
            opts.create = opt.split("=", 1)[1]
        elif opt == "optional":
            opts.optional = True
        else:
            data.append(opt)
    opts.data = ",".join(data)
    return opts


def parse_fstab(path: str) -> list[MountEntry]:
    """The lines of an lxc.mount.fstab file, read by the parser of lxc.mount.entry."""
    from lxcpy.config.keys import Invalid, mount_entry
    from lxcpy.config.model import Origin

    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise LxcError(f"lxc.mount.fstab: cannot read '{path}': {exc.strerror}") from None
    entries = []
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            entries.append(mount_entry(text, Origin(path, number)))
        except Invalid as exc:
            raise LxcError(f"{path}:{number}: lxc.mount.fstab: {exc}") from None
    return entries


def mount_entry(entry: MountEntry, root: Root | None) -> None:
    """Mount one fstab-style entry; targets resolve inside ``root`` when there is one."""
    opts = parse_options(entry.options)
    where = f"{entry.origin}: " if entry.origin else ""
    try:
        _mount_entry(entry, opts, root)
    except (KernelError, OSError) as exc:
        if opts.optional:
            return
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise LxcError(f"{where}lxc.mount.entry: cannot mount '{entry.source}' on "
                       f"'{entry.target}': {reason}") from None


def _mount_entry(entry: MountEntry, opts: MountOptions, root: Root | None) -> None:
    source = entry.source
    source_fd = -1
    if opts.bind and not os.path.isabs(source) and root is not None:
        # a relative bind source is inside the rootfs: resolve it there too, so a symlink
        # in the rootfs cannot bind a host directory into the container
        source_fd = root.open(source)
        source = fd_path(source_fd)
    try:
        _mount_entry_from(entry, opts, root, source)
    finally:
        if source_fd >= 0:
            os.close(source_fd)


def _mount_entry_from(entry: MountEntry, opts: MountOptions, root: Root | None,
                      source: str) -> None:
    create = opts.create
    if create is None and opts.bind:
        pass  # LXC does not create implicitly; missing target is an error unless optional
    if root is not None:
        fd = root.mount_target(entry.target, create)
    else:
        target = entry.target
        if create and not os.path.exists(target):
            if create == "dir":
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target) or "/", exist_ok=True)
                open(target, "a").close()
        fd = open_path(None, target)
    try:
        target = fd_path(fd)
        flags = opts.flags & ~k.MS_RDONLY if opts.bind else opts.flags
        k.mount(source, target, entry.fstype if not opts.bind else None, flags,
                opts.data or None)
    finally:
        os.close(fd)
    if opts.bind and (opts.flags & ~(k.MS_BIND | k.MS_REC)):
        # bind mounts ignore most flags: apply them with a remount of the new mount
        fd = open_path(root, entry.target)
        try:
            k.mount(None, fd_path(fd), None,
                    k.MS_REMOUNT | k.MS_BIND | (opts.flags & ~k.MS_REC), None)
        finally:
            os.close(fd)
    if opts.propagation:
        fd = open_path(root, entry.target)
        try:
            k.mount(None, fd_path(fd), None, opts.propagation, None)
        finally:
            os.close(fd)


def _mount_at(root: Root | None, target: str, source: str, fstype: str | None, flags: int,
              data: str | None = None, create: str = "dir") -> None:
    if root is None:
        os.makedirs(target, exist_ok=True)
        k.mount(source, target, fstype, flags, data)
        return
    fd = root.mount_target(target, create)
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode) and create == "dir":
            raise LxcError(f"cannot mount {fstype or source} on '{target}': not a directory")
        k.mount(source, fd_path(fd), fstype, flags, data)
    finally:
        os.close(fd)


def _bind_remount_ro(root: Root | None, target: str) -> None:
    path_fd = open_path(root, target)
    try:
        k.mount(fd_path(path_fd), fd_path(path_fd), None, k.MS_BIND, None)
    finally:
        os.close(path_fd)
    path_fd = open_path(root, target)
    try:
        k.mount(None, fd_path(path_fd), None,
                k.MS_REMOUNT | k.MS_BIND | k.MS_RDONLY | k.MS_NOSUID | k.MS_NODEV
                | k.MS_NOEXEC, None)
    finally:
        os.close(path_fd)


def _bind(root: Root | None, source: str, target: str, flags: int = k.MS_BIND) -> None:
    """Bind (or, with MS_MOVE, move) ``source`` onto ``target``, both inside the root."""
    src = open_path(root, source)
    try:
        dst = open_path(root, target)
        try:
            k.mount(fd_path(src), fd_path(dst), None, flags, None)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def mount_proc(root: Root | None, mode: str, own_netns: bool) -> None:
    """A fresh /proc showing only the container's PIDs.

    Unless ``proc:rw`` was asked for, LXC's ``proc:mixed``: /proc/sys and
    /proc/sysrq-trigger read-only, so root inside cannot write host-global sysctls
    (kernel.core_pattern runs a program as host root); /proc/sys/net stays writable when the
    container has a network namespace of its own, whose sysctls are its own.
    """
    _mount_at(root, "/proc", "proc", "proc", k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC)
    if mode == "rw":
        return
    if own_netns:  # park a writable view of /proc/sys/net on /proc/net (LXC's order)
        _bind(root, "/proc/sys/net", "/proc/net")
    _bind_remount_ro(root, "/proc/sys")
    if own_netns:
        _bind(root, "/proc/net", "/proc/sys/net", k.MS_MOVE)
    if root.exists("/proc/sysrq-trigger") if root else os.path.exists("/proc/sysrq-trigger"):
        _bind_remount_ro(root, "/proc/sysrq-trigger")  # absent without CONFIG_MAGIC_SYSRQ


def mask_host_paths() -> None:
    """A container without a rootfs of its own sees the host's file system: keep it away from
    what would let root inside reach other containers or the host's settings.

    * lxcpy's run directory (every container's command socket) is covered by an empty,
      read-only tmpfs;
    * the host's /sys and its cgroup mounts become read-only (writing cgroup.procs there
      would move a process out of its limits; /sys/class/net reconfigures host devices).
      Done before lxc.mount.auto, whose fresh sysfs and cgroup mounts keep their own modes.
    """
    from lxcpy.paths import RUN_ROOT

    if os.path.isdir(RUN_ROOT):
        k.mount("none", RUN_ROOT, "tmpfs", k.MS_RDONLY | k.MS_NOSUID | k.MS_NODEV
                | k.MS_NOEXEC, "size=4k,mode=000")
    k.mount_setattr("/sys", k.MOUNT_ATTR_RDONLY)


def mount_sys(root: Root | None, mode: str) -> None:
    flags = k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC
    if mode in ("ro", "mixed"):
        flags |= k.MS_RDONLY
    _mount_at(root, "/sys", "sysfs", "sysfs", flags)


def mount_cgroups(root: Root | None, mode: str) -> None:
    """cgroup, cgroup:ro/rw/mixed (and cgroup-full): the container's own cgroup view.

    The container runs in a cgroup namespace, so a fresh cgroup mount shows its own cgroup
    as the root of each hierarchy.
    """
    from lxcpy.cgroups import detect

    layout = detect()
    _mount_at(root, "/sys/fs/cgroup", "cgroup", "tmpfs",
              k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC, "mode=755,size=64k")
    ro = k.MS_RDONLY if mode in ("ro", "mixed") else 0
    for controllers, mountpoint in sorted(layout.v1.items(), key=lambda item: item[1]):
        sub = os.path.basename(mountpoint)
        opts = ",".join(sorted(controllers))
        _mount_at(root, f"/sys/fs/cgroup/{sub}", "cgroup", "cgroup",
                  k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC | ro, opts)
    if layout.v2_mount:
        sub = "unified" if layout.v1 else ""
        target = f"/sys/fs/cgroup/{sub}" if sub else "/sys/fs/cgroup"
        # pure v2: cgroup2 goes on top of the tmpfs, which stays under it. Detaching the
        # tmpfs instead would bare the host's own cgroup2 mount at the same place when the
        # container shares the host's tree, and the kernel refuses a second mount of that
        # superblock there (EBUSY)
        _mount_at(root, target, "cgroup2", "cgroup2",
                  k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC | ro)
    if mode in ("ro", "mixed"):
        _bind_remount_ro(root, "/sys/fs/cgroup")


def mount_auto(cfg: ContainerConfig, root: Root | None) -> str:
    """Apply lxc.mount.auto; return the /proc mode still to apply ("rw" or "mixed")."""
    proc_mode = "mixed"  # LXC's protection unless proc:rw is asked for
    # LXC's order whatever the config's: proc, sys, then cgroup (a fresh sysfs mounted
    # later would cover the cgroup mounts)
    order = {"proc": 0, "sys": 1}
    for item in sorted(cfg.mount_auto, key=lambda token: order.get(token.split(":")[0], 2)):
        kind, _, mode = item.partition(":")
        if kind == "proc":
            proc_mode = mode or "mixed"
        elif kind == "sys":
            mount_sys(root, mode or "mixed")
        elif kind in ("cgroup", "cgroup-full"):
            mode = mode.split(":")[0] if mode else "mixed"
            if mode == "force":
                mode = "mixed"
            mount_cgroups(root, mode)
        # shmounts: not acted on (the config layer warns)
    return proc_mode


def setup_rootfs(cfg: ContainerConfig, tree_fd: int = -1) -> Root | None:
    """Make the mount tree private and prepare the rootfs (a mount point of its own).

    ``tree_fd``: the idmapped copy of the rootfs the supervisor made (lxc.idmap with
    ``lxc.rootfs.options = idmap=...``, lxcpy.runtime.userns), attached instead of a bind."""
    k.mount(None, "/", None, k.MS_REC | k.MS_PRIVATE, None)
    given = cfg.rootfs_path or cfg.chroot
    if not given:
        return None
    if cfg.rootfs_store and tree_fd < 0:
        from lxcpy.storage import parse_spec

        store = parse_spec(cfg.rootfs_store)  # overlay/loop: the tree appears at rootfs_path
        store.mount(store.rootfs)
    path = os.path.realpath(given)
    if not os.path.isdir(path):
        key = "lxc.rootfs.path" if cfg.rootfs_path else "lxc.chroot"
        raise LxcError(f"{key}: rootfs '{given}' does not exist or is not a directory")
    if tree_fd >= 0:
        try:
            k.move_mount(tree_fd, path)
        finally:
            os.close(tree_fd)
    else:
        k.mount(path, path, None, k.MS_BIND | k.MS_REC, None)
    if cfg.rootfs_options:
        opts = parse_options(cfg.rootfs_options)
        # idmap= is no mount data: the supervisor acted on it (tree_fd)
        opts.data = ",".join(o for o in opts.data.split(",") if o and not o.startswith("idmap="))
        # read-only is applied after every mount is made (see pivot)
        extra = opts.flags & ~(k.MS_BIND | k.MS_REC | k.MS_RDONLY)
        if extra or opts.data:
            k.mount(None, path, None, k.MS_REMOUNT | k.MS_BIND | extra, opts.data or None)
    return Root(path)


def setup_mounts(cfg: ContainerConfig, root: Root | None) -> None:
    """fstab, mount entries, mount.auto, then a fresh /proc: LXC's order."""
    entries: list[MountEntry] = []
    if cfg.fstab:
        entries.extend(parse_fstab(cfg.fstab))
    entries.extend(cfg.mount_entries)
    if root is None:
        mask_host_paths()
    proc_mode = mount_auto(cfg, root)
    for entry in entries:
        if entry.fstype == "proc" and entry.target.strip("/") in ("proc", ""):
            continue  # we always mount a fresh /proc below
        mount_entry(entry, root)
    mount_proc(root, proc_mode, cfg.wants_netns)


def pivot(root: Root, read_only: bool) -> None:
    """pivot_root into the rootfs and detach the old root (runc's "." trick)."""
    root.chdir()
    k.pivot_root(".", ".")
    k.umount2(".", k.MNT_DETACH)
    os.chdir("/")
    root.close()
    if read_only:
        k.mount(None, "/", None, k.MS_REMOUNT | k.MS_BIND | k.MS_RDONLY, None)


def rootfs_read_only(cfg: ContainerConfig) -> bool:
    return bool(cfg.rootfs_options) and "ro" in parse_options_list(cfg.rootfs_options or "")


def parse_options_list(options: str) -> list[str]:
    return [o.strip() for o in options.split(",") if o.strip()]
