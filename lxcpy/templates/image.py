"""The image template: ``lxc-create -t image -- --file FILE.tar.xz`` unpacks an image made by
``lxc-image export`` (LXD's unified tarball: ``metadata.yaml`` + ``rootfs/``), or a plain
rootfs tarball, into the new container's rootfs.

Unpacking is member by member, never ``extractall``: every member's parent directory is
opened with openat2(RESOLVE_BENEATH) from the rootfs, so a symlink made by an earlier member
(``out -> /etc`` or ``out -> ../../..``) cannot carry a later member (``out/passwd``) out of
the rootfs: the kernel refuses that walk (EXDEV) and so do we. The final component is never
followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW). Absolute names, ``..`` components, device nodes
other than the standard ones and corrupt archives are refused too, each with one line; the
caller (lxcpy.store.create_container) then removes the container's directory. tarfile's
``filter="data"`` is not used: it refuses absolute symlinks, which every busybox rootfs has
(``/bin/sh -> /bin/busybox``), and it does not see the write-through-symlink case.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import stat
import tarfile
from typing import IO, TYPE_CHECKING

from lxcpy import kernel as k
from lxcpy.errors import KernelError, LxcError

if TYPE_CHECKING:
    from lxcpy.templates import Container

# the device nodes a rootfs may carry (LXC's autodev set): (major, minor)
STANDARD_DEVICES = {(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2)}
_BENEATH = k.RESOLVE_BENEATH | k.RESOLVE_NO_MAGICLINKS


class Refused(LxcError):
    pass


def archive_errors() -> tuple[type[BaseException], ...]:
    import lzma
    import zlib

    return (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError)


def split_name(name: str, what: str) -> list[str]:
    """A member name as path components inside the rootfs; refuse absolute names and ``..``."""
    if name.startswith("/"):
        raise Refused(f"{what}: member '{name}': absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Refused(f"{what}: member '{name}': '..' in the path")
    return parts


class Unpacker:
    """Writes tar members into one rootfs directory, never outside it."""

    def __init__(self, rootfs: str, what: str) -> None:
        self.rootfs = rootfs
        self.what = what
        self.fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.chown = os.geteuid() == 0

    def close(self) -> None:
        os.close(self.fd)

    def open_dir(self, parts: list[str], name: str) -> int:
        """An fd of the directory ``parts`` resolved beneath the rootfs."""
        try:
            return k.openat2(self.fd, "/".join(parts) or ".", os.O_DIRECTORY | os.O_CLOEXEC,
                             _BENEATH)
        except KernelError as exc:
            if exc.errno in (errno.EXDEV, errno.ELOOP):
                raise Refused(f"{self.what}: member '{name}': written through a symlink that "
                              "leaves the rootfs") from None
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                # tar may omit parent directories: make them (each one beneath the rootfs)
                if not parts:
                    raise
                parent = self.open_dir(parts[:-1], name)
                try:
                    try:
                        os.mkdir(parts[-1], 0o755, dir_fd=parent)
                    except FileExistsError:
                        raise Refused(f"{self.what}: member '{name}': '{'/'.join(parts)}' is "
                                      "not a directory") from None
                finally:
                    os.close(parent)
                return self.open_dir(parts, name)
            raise

    @staticmethod
    def remove(dirfd: int, base: str) -> None:
        """Remove ``base`` in ``dirfd`` whatever it is (a symlink itself, never its target)."""
        try:
            st = os.stat(base, dir_fd=dirfd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(base, dir_fd=dirfd)
        else:
            os.unlink(base, dir_fd=dirfd)

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parts: list[str]) -> None:
        name = member.name
        if not parts:  # the rootfs itself
            return
        base = parts[-1]
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()
                or member.isfifo() or member.ischr() or member.isblk()):
            raise Refused(f"{self.what}: member '{name}': unsupported type")
        if (member.ischr() or member.isblk()) and \
                (not member.ischr() or (member.devmajor, member.devminor) not in STANDARD_DEVICES):
            raise Refused(f"{self.what}: member '{name}': device node "
                          f"{member.devmajor}:{member.devminor} is not a standard one")
        try:
            dirfd = self.open_dir(parts[:-1], name)
            try:
                self._add(tar, member, dirfd, base)
            finally:
                os.close(dirfd)
        except OSError as exc:  # e.g. a hard link to a missing member: one line, not a trace
            raise Refused(f"{self.what}: member '{name}': {exc.strerror or exc}") from None

    def _add(self, tar: tarfile.TarFile, member: tarfile.TarInfo, dirfd: int, base: str) -> None:
        mode = member.mode & 0o7777
        if member.isdir():
            try:
                st = os.stat(base, dir_fd=dirfd, follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    self.remove(dirfd, base)
                    os.mkdir(base, 0o700, dir_fd=dirfd)
            except FileNotFoundError:
                os.mkdir(base, 0o700, dir_fd=dirfd)
            fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=dirfd)
            try:
                self._own(fd, member, mode)
            finally:
                os.close(fd)
            return
        self.remove(dirfd, base)
        if member.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=dirfd)
            with os.fdopen(fd, "wb") as out:
                src: IO[bytes] | None = tar.extractfile(member)
                if src is not None:
                    shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                self._own(out.fileno(), member, mode)
                os.utime(out.fileno(), (member.mtime, member.mtime))
            return
        if member.issym():
            os.symlink(member.linkname, base, dir_fd=dirfd)
        elif member.islnk():
            target = split_name(self.strip(member.linkname), self.what)
            if not target:
                raise Refused(f"{self.what}: member '{member.name}': hard link to the rootfs")
            src_dir = self.open_dir(target[:-1], member.name)
            try:
                os.link(target[-1], base, src_dir_fd=src_dir, dst_dir_fd=dirfd,
                        follow_symlinks=False)
            finally:
                os.close(src_dir)
            return  # the link shares the inode's owner and mode
        else:  # fifo or a standard character device
            kind = stat.S_IFIFO if member.isfifo() else stat.S_IFCHR
            os.mknod(base, kind | mode, os.makedev(member.devmajor, member.devminor),
                     dir_fd=dirfd)
        if self.chown:
            os.chown(base, member.uid, member.gid, dir_fd=dirfd, follow_symlinks=False)
        if not member.issym():
            os.chmod(base, mode, dir_fd=dirfd)  # we just made it: no symlink there

    def _own(self, fd: int, member: tarfile.TarInfo, mode: int) -> None:
        if self.chown:
            os.fchown(fd, member.uid, member.gid)
        os.fchmod(fd, mode)  # after chown, which clears set-id bits

    prefix = ""

    def strip(self, name: str) -> str:
        """A hard link's target as the member name it will have in the rootfs."""
        if self.prefix:
            clean = name.lstrip("./") if name.startswith("./") else name
            if clean.startswith(self.prefix):
                return clean[len(self.prefix):]
        return name


def open_archive(path: str, what: str) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except FileNotFoundError:
        raise LxcError(f"{what}: {path}: no such file") from None
    except archive_errors() as exc:
        raise LxcError(f"{what}: {path}: corrupt or unreadable archive ({exc})") from None


def read_members(tar: tarfile.TarFile, path: str, what: str) -> list[tarfile.TarInfo]:
    try:
        return tar.getmembers()
    except archive_errors() as exc:
        raise LxcError(f"{what}: {path}: corrupt archive ({exc})") from None


def unpack_image(path: str, rootfs: str, what: str = "image template") -> dict[str, str]:
    """Unpack FILE into ``rootfs``; return metadata.yaml's top-level scalars (may be empty)."""
    tar = open_archive(path, what)
    unpacker = Unpacker(rootfs, what)
    old = os.umask(0)
    try:
        members = read_members(tar, path, what)
        names = {m.name.removeprefix("./") for m in members}
        unified = "metadata.yaml" in names
        metadata: dict[str, str] = {}
        if unified:
            unpacker.prefix = "rootfs/"
            meta = tar.extractfile(tar.getmember(next(m.name for m in members if
                                                      m.name.removeprefix("./") ==
                                                      "metadata.yaml")))
            if meta is not None:
                metadata = parse_metadata(meta.read().decode(errors="replace"))
            check_architecture(metadata.get("architecture"), path, what)
        for member in members:
            name = member.name
            parts = split_name(name, what)
            if unified:  # only rootfs/ is the rootfs (templates/ and metadata.yaml are not)
                if not parts or parts[0] != "rootfs":
                    continue
                parts = parts[1:]
            unpacker.add(tar, member, parts)
        return metadata
    except archive_errors()[:-1] as exc:
        raise LxcError(f"{what}: {path}: corrupt archive ({exc})") from None
    finally:
        os.umask(old)
        unpacker.close()
        tar.close()


# what the host runs besides its own machine (a 64-bit kernel runs 32-bit images)
COMPATIBLE = {"x86_64": {"i686", "i386", "i586"}, "aarch64": {"armv7l", "armv8l", "armhf"}}


def check_architecture(arch: str | None, path: str, what: str) -> None:
    """LXD refuses an image for another machine: its binaries would not run here."""
    import platform

    host = platform.machine()
    if arch and arch != host and arch not in COMPATIBLE.get(host, set()):
        raise Refused(f"{what}: {path}: image architecture '{arch}' cannot run on this "
                      f"{host} host")


def parse_metadata(text: str) -> dict[str, str]:
    """The top-level scalar keys of a metadata.yaml (architecture, creation_date)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and ":" in line:
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip().strip('"')
    return out


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise LxcError(f"{self.prog} template: {message}")


def parse_args(prog: str, args: list[str], extra: tuple[tuple[str, bool], ...]
               ) -> argparse.Namespace:
    parser = _ArgParser(prog=prog, add_help=False, allow_abbrev=False)
    for opt, required in extra:
        parser.add_argument(opt, required=required)
    parser.add_argument("--rootfs")
    for opt in ("--path", "--name"):  # LXC passes these to every template
        if opt not in dict(extra):
            parser.add_argument(opt)
    return parser.parse_args(args)


def claim_rootfs(container: Container, given: str | None, what: str) -> str:
    """The new container's rootfs directory (made here, empty), inside its directory."""
    path = os.path.normpath(given or container.paths.rootfs)
    try:
        os.makedirs(path, 0o755, exist_ok=True)
    except OSError as exc:
        raise LxcError(f"{what}: cannot create '{path}': {exc.strerror}") from None
    if os.listdir(path):
        raise LxcError(f"{what}: refusing to unpack into '{path}': it is not empty")
    return path


def finish_config(container: Container, config_text: str, rootfs: str,
                  items: list[tuple[str, str]], note: str) -> str:
    """The user's config plus the template's keys, through the config model."""
    from lxcpy.config.parser import parse_text, set_item, to_text

    cfg = parse_text(config_text, container.paths.config)
    user = {e.canonical for e in cfg.entries}
    cfg.lines.append((f"# Written by the {note} (lxcpy)", None, ""))
    if "lxc.rootfs.path" not in user:
        set_item(cfg, "lxc.rootfs.path", "dir:" + rootfs)
    if "lxc.uts.name" not in user:
        set_item(cfg, "lxc.uts.name", container.name)
    for key, value in items:
        if key not in user or key == "lxc.environment":  # the user's lines win
            set_item(cfg, key, value)
    return to_text(cfg)


def image_template(container: Container, config_text: str, args: list[str]) -> str:
    opts = parse_args("image", args, (("--file", True),))
    what = "image template"
    rootfs = claim_rootfs(container, opts.rootfs, what)
    unpack_image(os.path.abspath(opts.file), rootfs, what)
    items = [("lxc.mount.auto", "proc:mixed sys:ro"), ("lxc.autodev", "1")]
    return finish_config(container, config_text, rootfs, items, "image template")
