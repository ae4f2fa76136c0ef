"""Backing stores of a container's rootfs, spelled as LXC spells ``lxc.rootfs.path``.

One interface (:class:`Store`), one class per kind:

- ``dir:PATH`` (or a bare ``PATH``): a directory.
- ``overlay:LOWER:UPPER``: overlayfs; the work directory is ``dirname(UPPER)/olwork`` (LXC's);
  the merged tree is mounted on ``dirname(UPPER)/rootfs`` in the container's mount namespace.
- ``btrfs:PATH``: a btrfs subvolume (a directory at start; snapshots are subvolume snapshots).
- ``loop:IMAGE``: an image file holding a file system, mounted through a loop device on
  ``dirname(IMAGE)/rootfs``.

Everything that makes, mounts, copies or removes a store is here; the config layer only
parses the spelling (:func:`parse_spec`) and the rootfs set-up calls :meth:`Store.mount`.
Tools run by name (btrfs, mkfs.*, losetup, cp) are the host's; loop devices are used only
through losetup and released again.
"""

from __future__ import annotations

import os

from lxcpy.errors import LxcError

KINDS = ("dir", "overlay", "btrfs", "loop")
ALIASES = {"overlayfs": "overlay", "none": "dir", "best": "dir"}
UNSUPPORTED = ("aufs", "lvm", "nbd", "rbd", "zfs")
BTRFS_MAGIC = 0x9123683E
DEFAULT_FSSIZE = 1 << 30  # LXC's default for block stores: 1 GiB
DEFAULT_FSTYPE = "ext4"


class SpecError(ValueError):
    """An lxc.rootfs.path value lxcpy cannot use (the config layer names file:line)."""


def kind_of(name: str) -> str:
    """``-B`` argument -> one of KINDS; LXC's other stores are refused in one line."""
    kind = ALIASES.get(name, name)
    if kind in KINDS:
        return kind
    if kind in UNSUPPORTED:
        raise LxcError(f"backing store {name} is not supported by lxcpy "
                       f"({', '.join(KINDS)})")
    raise LxcError(f"unknown backing store '{name}' ({', '.join(KINDS)}, best)")


def parse_spec(value: str) -> Store:
    """An lxc.rootfs.path value -> its store; raises SpecError with the reason."""
    prefix, colon, rest = value.partition(":")
    if not colon or prefix not in (*KINDS, "overlayfs", *UNSUPPORTED):
        return DirStore(value)  # a plain path may contain a colon
    if prefix in UNSUPPORTED:
        raise SpecError(f"storage backend '{prefix}' is not supported by lxcpy "
                        f"({', '.join(k + ':' for k in KINDS)})")
    if prefix == "dir":
        return DirStore(rest)
    if prefix in ("overlay", "overlayfs"):
        lower, colon, upper = rest.rpartition(":")
        if not colon or not lower or not upper:
            raise SpecError(f"'{value}' is not overlay:LOWER:UPPER")
        return OverlayStore(lower, upper)
    if not rest:
        raise SpecError(f"'{value}' names no path")
    return BtrfsStore(rest) if prefix == "btrfs" else LoopStore(rest)


def _run(argv: list[str], what: str) -> str:
    """Run a host tool; its own complaint (last stderr line) becomes our one line."""
    import subprocess  # only here: parsing a config (lxc.rootfs.path) must stay cheap

    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise LxcError(f"{what}: {argv[0]} is not installed") from None
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        raise LxcError(f"{what}: {lines[-1].strip() if lines else argv[0] + ' failed'}")
    return done.stdout


def copy_tree(src: str, dst: str) -> None:
    """Copy a rootfs with owners, modes, devices, hard links, xattrs (cp -a)."""
    argv = ["cp", "-a", "--", src.rstrip("/") + "/.", dst]
    if os.geteuid() != 0:
        from lxcpy.kernel.userns import as_mapped_root

        # a non-root user's rootfs belongs to their subordinate ids: copied (owners kept)
        # as root of a namespace mapping their grants
        def copy() -> None:
            _run(argv, f"copying {src}")

        as_mapped_root(copy)
        return
    _run(argv, f"copying {src}")


def on_btrfs(path: str) -> bool:
    from lxcpy import kernel as k

    return k.fs_magic(path) == BTRFS_MAGIC


def parse_size(text: str) -> int:
    """LXC's --fssize: a number with an optional K/M/G/T suffix (bytes)."""
    units = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    body = text.strip().lower()
    suffix = body[-1:] if body[-1:].isalpha() else ""
    digits = body[: len(body) - len(suffix)]
    if not digits.isdigit() or suffix not in units or int(digits) == 0:
        raise LxcError(f"--fssize: '{text}' is not a size (e.g. 500M, 2G)")
    return int(digits) * units[suffix]


class Store:
    """One backing store: where it lives, how it is mounted, made, copied and removed."""

    kind = "dir"
    can_snapshot = False  # a snapshot clone shares data with its origin

    @property
    def spec(self) -> str:
        """The lxc.rootfs.path value."""
        raise NotImplementedError

    @property
    def rootfs(self) -> str:
        """Where the rootfs appears once mounted (the pivot_root target)."""
        raise NotImplementedError

    mounted = False  # the tree appears only once mounted (overlay, loop)

    def mount(self, target: str, read_only: bool = False) -> None:
        """Mount the tree on ``target`` (in a private mount namespace: see detached_tree)."""

    def open_for_read(self) -> str:
        """A path to the tree now, for copies; release it with close_read. A mounted store
        is a detached mount (never attached on the host) reached as /proc/PID/fd/N."""
        return fd_path(detached_tree(self, read_only=True)) if self.mounted else self.rootfs

    def populate(self) -> str:
        """A writable path a template or a copy fills; release it with close_read."""
        return fd_path(detached_tree(self)) if self.mounted else self.rootfs

    @staticmethod
    def close_read(path: str) -> None:
        """Release what open_for_read or populate handed out."""
        prefix = f"/proc/{os.getpid()}/fd/"
        if path.startswith(prefix):
            os.close(int(path[len(prefix):]))

    def destroy(self) -> None:
        """Remove what the store owns (the container directory is removed by the caller)."""

    def owned_by(self, container_dir: str) -> bool:
        """Whether the store's data lives inside ``container_dir`` (LXC removes it then)."""
        return _inside(self.rootfs, container_dir)


def _inside(path: str, directory: str) -> bool:
    path, directory = os.path.realpath(path), os.path.realpath(directory)
    return path == directory or path.startswith(directory.rstrip("/") + "/")


class DirStore(Store):
    kind = "dir"

    def __init__(self, path: str) -> None:
        self.path = path

    @property
    def spec(self) -> str:
        return "dir:" + self.path

    @property
    def rootfs(self) -> str:
        return self.path

    @classmethod
    def make(cls, cdir: str, path: str | None = None) -> DirStore:
        path = path or os.path.join(cdir, "rootfs")
        os.makedirs(path, 0o755, exist_ok=True)
        return cls(path)


class BtrfsStore(DirStore):
    """A subvolume: a directory at start; snapshots and full copies are snapshots."""

    kind = "btrfs"
    can_snapshot = True

    @property
    def spec(self) -> str:
        return "btrfs:" + self.path

    @staticmethod
    def check_host(where: str) -> None:
        if not on_btrfs(where):
            raise LxcError(f"btrfs: {where} is not on a btrfs file system")

    @classmethod
    def make(cls, cdir: str, path: str | None = None) -> BtrfsStore:
        path = path or os.path.join(cdir, "rootfs")
        cls.check_host(os.path.dirname(path))
        _run(["btrfs", "-q", "subvolume", "create", path], "btrfs subvolume create")
        return cls(path)

    @classmethod
    def snapshot_of(cls, src: str, path: str) -> BtrfsStore:
        cls.check_host(os.path.dirname(path))
        _run(["btrfs", "-q", "subvolume", "snapshot", src, path], "btrfs subvolume snapshot")
        return cls(path)

    def destroy(self) -> None:
        if os.path.isdir(self.path) and on_btrfs(self.path):
            _run(["btrfs", "-q", "subvolume", "delete", self.path], "btrfs subvolume delete")


class OverlayStore(Store):
    kind = "overlay"
    can_snapshot = True
    mounted = True

    def __init__(self, lower: str, upper: str) -> None:
        self.lower, self.upper = lower, upper

    @property
    def spec(self) -> str:
        return f"overlay:{self.lower}:{self.upper}"

    @property
    def home(self) -> str:
        return os.path.dirname(self.upper.rstrip("/"))

    @property
    def work(self) -> str:
        return os.path.join(self.home, "olwork")

    @property
    def rootfs(self) -> str:
        return os.path.join(self.home, "rootfs")

    def owned_by(self, container_dir: str) -> bool:
        return _inside(self.upper, container_dir)

    @classmethod
    def make(cls, cdir: str, lower: str | None = None) -> OverlayStore:
        """``lower`` None: LXC's ``-B overlay`` (an empty lower in the container dir)."""
        store = cls(lower or os.path.join(cdir, "rootfs"), os.path.join(cdir, "delta0"))
        for path in (store.upper, store.work, store.rootfs):
            os.makedirs(path, 0o755, exist_ok=True)
        return store

    def mount(self, target: str, read_only: bool = False) -> None:
        from lxcpy import kernel as k

        for path, what in ((self.lower, "lower"), (self.upper, "upper")):
            if not os.path.isdir(path):
                raise LxcError(f"lxc.rootfs.path: overlay {what} directory '{path}' does not "
                               "exist")
        if read_only:  # both layers as lowers: nothing is written anywhere
            k.mount("overlay", target, "overlay", k.MS_RDONLY,
                    f"lowerdir={self.upper}:{self.lower}")
            return
        os.makedirs(self.work, 0o755, exist_ok=True)
        k.mount("overlay", target, "overlay", 0,
                f"lowerdir={self.lower},upperdir={self.upper},workdir={self.work}")

    def populate(self) -> str:
        return self.upper  # a new store's lower is empty: the upper is the merged tree


class LoopStore(Store):
    kind = "loop"
    mounted = True

    def __init__(self, image: str) -> None:
        self.image = image

    @property
    def spec(self) -> str:
        return "loop:" + self.image

    @property
    def rootfs(self) -> str:
        return os.path.join(os.path.dirname(self.image), "rootfs")

    def owned_by(self, container_dir: str) -> bool:
        return _inside(self.image, container_dir)

    @classmethod
    def make(cls, cdir: str, size: int | None = None, fstype: str | None = None) -> LoopStore:
        store = cls(os.path.join(cdir, "rootdev"))
        fstype = fstype or DEFAULT_FSTYPE
        with open(store.image, "xb") as f:  # sparse: the file grows as the fs fills
            f.truncate(size or DEFAULT_FSSIZE)
        _run([f"mkfs.{fstype}", "-q", *(["-F"] if fstype.startswith("ext") else []),
              store.image], f"mkfs.{fstype}")
        os.makedirs(store.rootfs, 0o755, exist_ok=True)
        return store

    def mount(self, target: str, read_only: bool = False) -> None:
        """losetup, mount, then losetup -d at once: the kernel frees the loop device when
        the mount goes (autoclear), so no device outlives a container or a copy."""
        from lxcpy import kernel as k

        flags = k.MS_RDONLY if read_only else 0
        if not os.path.isfile(self.image):
            raise LxcError(f"lxc.rootfs.path: loop image '{self.image}' does not exist")
        device = _run(["losetup", "--find", "--show", self.image], "losetup").strip()
        try:
            fstype = _run(["blkid", "-o", "value", "-s", "TYPE", device], "blkid").strip()
            k.mount(device, target, fstype or DEFAULT_FSTYPE, flags, None)
        finally:
            _run(["losetup", "-d", device], "losetup -d")

    def populate(self) -> str:
        point = super().populate()
        try:  # mkfs's empty lost+found: a template builds only in an empty directory
            os.rmdir(os.path.join(point, "lost+found"))
        except OSError:
            pass
        return point

    def size(self) -> int:
        return os.stat(self.image).st_size


def make_store(kind: str, cdir: str, rootfs_dir: str | None = None, fssize: int | None = None,
               fstype: str | None = None) -> Store:
    """An empty store of ``kind`` for a new container in ``cdir`` (lxc-create -B)."""
    if kind == "dir":
        return DirStore.make(cdir, rootfs_dir)
    if kind == "btrfs":
        return BtrfsStore.make(cdir, rootfs_dir)
    if kind == "overlay":
        return OverlayStore.make(cdir)
    return LoopStore.make(cdir, fssize, fstype)


def store_of(cfg: object) -> Store | None:
    """The store of a parsed config (None: no rootfs)."""
    spec = getattr(cfg, "rootfs_store", None)
    if spec:
        return parse_spec(spec)
    path = getattr(cfg, "rootfs_path", None)
    return DirStore(path) if path else None



def fd_path(fd: int) -> str:
    """A path to the tree of a detached mount fd, for this process and its children."""
    return f"/proc/{os.getpid()}/fd/{fd}"


def detached_tree(store: Store | str, read_only: bool = False) -> int:
    """The store's tree as a detached mount (open_tree fd), for the container to attach on
    its rootfs (move_mount). Made by a short-lived helper process in a private mount
    namespace of its own, so the host never sees the mount; made before the container joins
    its cgroup, whose device rules would refuse the loop device."""
    import socket

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # the helper: never returns
        ours.close()
        code = 0
        try:
            fd = _mount_detached(parse_spec(store) if isinstance(store, str) else store,
                                 read_only)
            socket.send_fds(theirs, [b"ok"], [fd])
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as one line
            message = exc.message if isinstance(exc, LxcError) else str(exc)
            theirs.sendall(b"E" + message.encode(errors="replace")[:4000])
            code = 1
        os._exit(code)
    theirs.close()
    try:
        data, fds, _flags, _addr = socket.recv_fds(ours, 4096, 1)
    finally:
        ours.close()
        os.waitpid(pid, 0)
    if not fds:
        raise LxcError(data[1:].decode(errors="replace") or "mounting the rootfs store failed")
    return fds[0]


def _mount_detached(store: Store, read_only: bool) -> int:
    from lxcpy import kernel as k

    k.unshare(k.CLONE_NEWNS)
    k.mount(None, "/", None, k.MS_REC | k.MS_PRIVATE, None)
    os.makedirs(store.rootfs, 0o755, exist_ok=True)  # the mount point
    store.mount(store.rootfs, read_only)
    return k.open_tree(store.rootfs)
