"""The busybox template: a small system container built from the host's busybox binary.

Like LXC's lxc-busybox: an FHS-like tree, busybox copied in with every applet linked to
it, a root user, and an init set-up for busybox's init. Differences, on purpose:

* no DHCP client at boot: LXC's rcS runs udhcpc, whose ``deconfig`` step flushes the
  static ``lxc.net.*.ipv4/ipv6`` addresses the config gave the container;
* no default veth/lxcbr0 network (no such bridge exists here): a config without network
  keys shares nothing and gets no network namespace, as the seed says;
* the user's lines win: a key the user's config already sets is not written again
  (LXC appends its own ``lxc.tty.max = 5`` after the user's ``lxc.tty.max = 0``);
* LXC's common confinement by default, as its distribution templates get it from
  ``common.conf``: its capability drops, its ``common.seccomp`` (lxcpy's copy, written
  next to the config) and its device allow-list for both cgroup versions;
* the console shell and the tty shells need no password (root's password is locked);
  only root on the host can reach them (lxc-console), like lxc-attach.

The inittab (see ``_inittab``) works with and without a console: a shell is started on
the console only when init's stdio is a terminal; with ``lxc.console.path = none`` (or a
foreground start without a terminal) a respawned shell would read EOF from /dev/null and
be restarted every second forever, so the console entry just waits instead. One shell per
``lxc.tty.max`` tty (``/dev/tty1..N``, which lxc-start binds to ptys that lxc-console
reaches with ``-t N``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import struct
import subprocess
from typing import TYPE_CHECKING

from lxcpy.errors import LxcError

if TYPE_CHECKING:
    from lxcpy.config.model import ContainerConfig
    from lxcpy.templates import Container

MISSING = "busybox is not installed on the host (apt-get install busybox-static)"

# LXC's tree (lxc-busybox), plus run/ and var/tmp/ which programs expect
DIRS = ("bin", "dev", "dev/pts", "etc", "etc/init.d", "home", "lib", "lib64", "mnt", "proc",
        "root", "run", "sbin", "selinux", "sys", "tmp", "usr/bin", "usr/lib", "usr/lib64",
        "usr/sbin", "var/log", "var/run", "var/tmp")
STICKY = ("tmp", "var/tmp")

# LXC's values when the user's config does not set them
TTY_MAX = 5
PTY_MAX = 1
# LXC's common.conf, which its templates include: capabilities, the seccomp profile and the
# device allow-list (for both cgroup versions: the cgroup layer skips the other version's)
CAP_DROP = "mac_admin mac_override sys_time sys_module sys_rawio"
SECCOMP = "common.seccomp"  # lxcpy/data/common.seccomp, copied next to the config
DEVICES = ("deny = a", "allow = c *:* m", "allow = b *:* m", "allow = c 1:3 rwm",
           "allow = c 1:5 rwm", "allow = c 1:7 rwm", "allow = c 5:0 rwm", "allow = c 5:1 rwm",
           "allow = c 5:2 rwm", "allow = c 1:8 rwm", "allow = c 1:9 rwm",
           "allow = c 136:* rwm", "allow = c 10:229 rwm")
MOUNT_AUTO = "cgroup:mixed proc:mixed sys:ro"
MOUNT_ENTRIES = ("shm dev/shm tmpfs defaults,create=dir 0 0",
                 "mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0")
# what a dynamically linked busybox needs from the host (LXC's template binds the same)
LIB_ENTRIES = ("/lib lib none ro,bind,optional 0 0", "/usr/lib usr/lib none ro,bind,optional 0 0",
               "/lib64 lib64 none ro,bind,optional 0 0",
               "/usr/lib64 usr/lib64 none ro,bind,optional 0 0")

RCS = """#!/bin/sh
# Boot script of the busybox container, run once by init (::sysinit).
# lxc-start has already mounted /proc, /sys and a /dev with devpts (lxc.mount.auto,
# lxc.autodev) and set the hostname (lxc.uts.name).
#
# No DHCP client here: udhcpc's deconfig would flush the static addresses that
# lxc.net.*.ipv4.address / ipv6.address gave the container. Run "udhcpc -i eth0 -s SCRIPT"
# yourself if the network needs DHCP.
/bin/mount -a 2>/dev/null
# kernel-style log in a shared-memory ring buffer ("logread"): works on a read-only rootfs
/sbin/syslogd -C64 2>/dev/null
exit 0
"""

RCK = """#!/bin/sh
# Run by init when the container halts (lxc-stop sends lxc.signal.halt = SIGUSR1), before
# init sends SIGTERM and then SIGKILL to every process. Add orderly stops here.
exit 0
"""

CONSOLE = """#!/bin/sh
# The console shell. init starts this on its own stdio: the console pty (lxc-start -d,
# reached with lxc-console -t 0), the caller's terminal (lxc-start -F), or /dev/null
# (lxc.console.path = none, or a foreground start without a terminal).
if [ -t 0 ] && [ -c /dev/console ]; then
    # opening /dev/console again as a session leader makes it our controlling terminal
    # (job control, ^C) unless it already is someone else's (the caller's terminal)
    exec /bin/sh 0<>/dev/console 1>&0 2>&0
fi
# Nobody to talk to: a shell would read EOF at once and init would restart it every
# second forever, so wait instead (init sends SIGTERM at halt).
exec /bin/sleep 2147483647
"""


def busybox_template(container: Container, config_text: str, args: list[str]) -> str:
    """Build the rootfs; return ``config_text`` plus the template's config lines."""
    opts = _parse_args(args)
    busybox = shutil.which("busybox")
    if busybox is None:
        raise LxcError(MISSING)
    busybox = os.path.realpath(busybox)
    from lxcpy.config.parser import parse_text, set_item, to_text

    cfg = parse_text(config_text, container.paths.config)  # the one parser reads it
    user = _user_keys(cfg)

    rootfs = _rootfs_dir(container, opts.rootfs, user.get("lxc.rootfs.path"))
    made = _claim(rootfs)
    try:
        tty_max = _int(user.get("lxc.tty.max"), TTY_MAX, "lxc.tty.max")
        build_rootfs(rootfs, busybox, user.get("lxc.uts.name", container.name), tty_max)
        if user.get_all("lxc.idmap"):
            # LXC's create: the container's directory belongs to its mapped root, who must
            # reach the rootfs in it; the tree too, unless an idmapped mount shifts it
            shift_ownership(container.paths.dir, user.get_all("lxc.idmap"), recurse=False)
            if "idmap=" not in user.get("lxc.rootfs.options", ""):
                shift_ownership(rootfs, user.get_all("lxc.idmap"))
        profile = None if "lxc.seccomp.profile" in user else _install_seccomp(container)
    except BaseException:
        _unclaim(rootfs, made)
        raise

    def comment(text: str) -> None:
        cfg.lines.append((text, None, ""))

    def line(key: str, value: str) -> None:
        set_item(cfg, key, value)  # through the model: a list key adds, others replace

    comment("# Written by the busybox template (lxcpy): the user's lines above win")
    if args:
        comment("# Parameters passed to the template: " + " ".join(args))

    def add(key: str, value: str) -> None:
        if key not in user:
            line(key, value)

    add("lxc.rootfs.path", "dir:" + rootfs)
    add("lxc.signal.halt", "SIGUSR1")  # busybox init's halt signal (SIGPWR is ignored)
    add("lxc.signal.reboot", "SIGTERM")
    add("lxc.uts.name", container.name)
    add("lxc.autodev", "1")
    add("lxc.tty.max", str(TTY_MAX))
    add("lxc.pty.max", str(PTY_MAX))
    if "lxc.cap.keep" not in user:  # the two cannot be combined
        add("lxc.cap.drop", CAP_DROP)
    if profile is not None:
        line("lxc.seccomp.profile", profile)
    # a non-root user's container (LXC's userns.conf): no device rules, which it could not
    # apply without a cgroup and does not need (its namespace cannot mknod)
    unprivileged_user = os.geteuid() != 0
    for prefix in ("lxc.cgroup.devices.", "lxc.cgroup2.devices."):
        if not unprivileged_user and not any(k.startswith(prefix) for k in user):
            for rule in DEVICES:
                key, _, value = rule.partition(" = ")
                line(prefix + key, value)
    add("lxc.mount.auto", MOUNT_AUTO)
    entries = list(MOUNT_ENTRIES)
    if not is_static_elf(busybox):
        entries += LIB_ENTRIES
    taken = {v.split()[1].strip("/") for v in user.get_all("lxc.mount.entry") if v.split()[1:]}
    for entry in entries:
        if entry.split()[1].strip("/") not in taken:
            line("lxc.mount.entry", entry)
    return to_text(cfg)


def _install_seccomp(container: Container) -> str:
    """Copy lxcpy's common.seccomp into the container's directory; return its path."""
    source = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                          SECCOMP)
    target = os.path.join(container.paths.dir, SECCOMP)
    try:
        shutil.copyfile(source, target)
        os.chmod(target, 0o644)
    except OSError as exc:
        raise LxcError(f"busybox template: cannot copy {source} to {target}: "
                       f"{exc.strerror}") from None
    return target


class _Keys(dict[str, str]):
    """Canonical key -> last value set by the user's text (and every value, for lists)."""

    def __init__(self) -> None:
        super().__init__()
        self.lists: dict[str, list[str]] = {}  # not .values: dict's method

    def get_all(self, key: str) -> list[str]:
        return self.lists.get(key, [])


def _user_keys(cfg: ContainerConfig) -> _Keys:
    """The user's keys in effect (2008 spellings under today's, cleared keys gone)."""
    keys = _Keys()
    for entry in cfg.entries:
        keys[entry.canonical] = entry.value
        keys.lists.setdefault(entry.canonical, []).append(entry.value)
    return keys


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise LxcError(f"busybox template: {message}")


def _parse_args(args: list[str]) -> argparse.Namespace:
    parser = _ArgParser(prog="busybox", add_help=False, allow_abbrev=False)
    parser.add_argument("--rootfs", help="build the rootfs in DIR")
    # LXC passes these to every template; accepted for scripts written for LXC
    parser.add_argument("--path")
    parser.add_argument("--name")
    return parser.parse_args(args)


def _int(value: str | None, default: int, key: str) -> int:
    if value is None:
        return default
    try:
        return max(0, int(value))
    except ValueError:
        raise LxcError(f"{key}: invalid value '{value}'") from None


def _rootfs_dir(container: Container, arg: str | None, configured: str | None) -> str:
    """--rootfs, else the config's lxc.rootfs.path (like lxc-create), else LXCPATH/NAME/rootfs."""
    if configured and configured.startswith("dir:"):
        configured = configured[4:]
    if arg and configured and os.path.abspath(arg) != os.path.abspath(configured):
        raise LxcError(f"busybox template: --rootfs {arg} conflicts with lxc.rootfs.path = "
                       f"{configured} in the config")
    path = arg or configured or container.paths.rootfs
    if not os.path.isabs(path):
        raise LxcError(f"busybox template: rootfs '{path}' is not an absolute path")
    return os.path.normpath(path)


def _claim(rootfs: str) -> bool:
    """Create the rootfs directory; an existing one must be empty (never build over data).

    Returns True if we created it (so a failure removes it), False if it was there empty.
    """
    try:
        os.makedirs(os.path.dirname(rootfs), mode=0o755, exist_ok=True)
        os.mkdir(rootfs, 0o755)
        return True
    except FileExistsError:
        if not os.path.isdir(rootfs) or os.listdir(rootfs):
            raise LxcError(f"busybox template: refusing to build the rootfs in '{rootfs}': "
                           "it exists and is not an empty directory") from None
        return False
    except OSError as exc:
        raise LxcError(f"busybox template: cannot create '{rootfs}': {exc.strerror}") from None


def _unclaim(rootfs: str, made: bool) -> None:
    if made:
        shutil.rmtree(rootfs, ignore_errors=True)
        return
    for entry in os.listdir(rootfs):
        path = os.path.join(rootfs, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def build_rootfs(rootfs: str, busybox: str, hostname: str, tty_max: int) -> None:
    """The tree, busybox and its applets, users, and the init set-up, inside ``rootfs``."""
    old = os.umask(0o022)
    try:
        for d in DIRS:
            os.makedirs(os.path.join(rootfs, d), mode=0o755, exist_ok=True)
        for d in STICKY:
            os.chmod(os.path.join(rootfs, d), 0o1777)
        os.chmod(os.path.join(rootfs, "root"), 0o700)
        _install_busybox(rootfs, busybox)
        _write(rootfs, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        _write(rootfs, "etc/group", "root:x:0:root\n")
        # locked: nothing in the container asks for it (console and tty shells start
        # without login); set one with `lxc-attach -n NAME -- passwd` if you want logins
        _write(rootfs, "etc/shadow", "root:!::0:99999:7:::\n", 0o600)
        _write(rootfs, "etc/fstab", "")
        _write(rootfs, "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n"
                                    "::1\tlocalhost ip6-localhost ip6-loopback\n")
        _write(rootfs, "etc/machine-id", secrets.token_hex(16) + "\n", 0o444)
        try:
            with open("/etc/resolv.conf") as f:
                _write(rootfs, "etc/resolv.conf", f.read())
        except OSError:
            pass  # no (readable) resolver config on the host: the container has none either
        _write(rootfs, "etc/inittab", _inittab(tty_max))
        _write(rootfs, "etc/init.d/rcS", RCS, 0o744)
        _write(rootfs, "etc/init.d/rcK", RCK, 0o744)
        _write(rootfs, "etc/init.d/console", CONSOLE, 0o755)
    finally:
        os.umask(old)


def shift_ownership(rootfs: str, idmap_lines: list[str], recurse: bool = True) -> None:
    """lxc.idmap without an idmapped rootfs: give every file of the tree the host ids its
    owner has inside (root's files to the mapped root), as LXC's templates do with
    ``lxc-usernsexec -m ... -- chown``. lchown: a symlink is changed, never followed."""
    from lxcpy.config.model import IdMap
    from lxcpy.runtime.userns import check_maps, to_host

    maps = []
    for line in idmap_lines:
        fields = line.split()
        if len(fields) != 4 or fields[0] not in "ug" or not all(f.isdigit() for f in fields[1:]):
            raise LxcError(f"busybox template: lxc.idmap: '{line}' is not an id map")
        maps.append(IdMap(fields[0], int(fields[1]), int(fields[2]), int(fields[3])))
    check_maps(maps)
    if os.geteuid() != 0:
        from lxcpy.runtime.userns import shift_as_user

        shift_as_user(rootfs, maps, recurse)  # through a user namespace (newuidmap)
        return

    def shift(path: str) -> None:
        st = os.lstat(path)
        uid, gid = to_host(maps, "u", st.st_uid), to_host(maps, "g", st.st_gid)
        if uid is None or gid is None:
            raise LxcError(f"busybox template: lxc.idmap maps no host id for the owner "
                           f"{st.st_uid}:{st.st_gid} of '{path}'")
        mode = st.st_mode
        os.lchown(path, uid, gid)
        if not os.path.islink(path) and mode & 0o6000:
            os.chmod(path, mode & 0o7777)  # chown clears set-id bits: keep them (LXC's chown)

    shift(rootfs)
    # os.walk never follows a symlink to a directory
    for top, dirs, files in os.walk(rootfs) if recurse else ():
        for name in dirs + files:
            shift(os.path.join(top, name))


def _inittab(tty_max: int) -> str:
    lines = ["# busybox init(8) configuration, written by the lxcpy busybox template",
             "::sysinit:/etc/init.d/rcS",
             # empty id: runs on init's own stdio, whatever lxc-start made it (see CONSOLE)
             "::respawn:/etc/init.d/console"]
    # '-': a login shell that takes its tty as controlling terminal. Written for the
    # lxc.tty.max of create time: ttys above the one lxc-start makes would fail and be
    # retried every second.
    lines += [f"tty{n}::respawn:-/bin/sh" for n in range(1, tty_max + 1)]
    lines += ["::shutdown:/etc/init.d/rcK", "::restart:/sbin/init"]
    return "\n".join(lines) + "\n"


def _install_busybox(rootfs: str, busybox: str) -> None:
    target = os.path.join(rootfs, "bin", "busybox")
    shutil.copyfile(busybox, target)
    os.chmod(target, 0o755)
    try:
        listing = subprocess.run([busybox, "--list-full"], capture_output=True, text=True,
                                 check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise LxcError(f"busybox template: '{busybox} --list-full' failed: {exc}") from None
    for applet in listing.split():
        # e.g. "usr/bin/[" or "sbin/init"; skip "linuxrc" (an initrd's) and ourselves
        if "/" not in applet or applet == "bin/busybox" or ".." in applet.split("/"):
            continue
        link = os.path.join(rootfs, applet)
        os.makedirs(os.path.dirname(link), mode=0o755, exist_ok=True)
        if not os.path.lexists(link):
            os.symlink("/bin/busybox", link)
    if not os.path.lexists(os.path.join(rootfs, "sbin", "init")):
        raise LxcError(f"busybox template: '{busybox}' has no init applet")


def _write(rootfs: str, rel: str, text: str, mode: int = 0o644) -> None:
    path = os.path.join(rootfs, rel)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                 mode)
    try:
        os.write(fd, text.encode())
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def is_static_elf(path: str) -> bool:
    """True unless ``path`` is an ELF file with an interpreter (PT_INTERP): dynamic."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF":
                return True
            is64 = head[4] == 2
            order = "<" if head[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack_from(order + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(order + "HH", head, 54)
            else:
                phoff, = struct.unpack_from(order + "I", head, 28)
                phentsize, phnum = struct.unpack_from(order + "HH", head, 42)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except (OSError, struct.error):
        return True
    for i in range(phnum):
        p_type, = struct.unpack_from(order + "I", table, i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True
