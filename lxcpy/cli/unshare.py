"""lxc-unshare -s NAMESPACES [-u USER] [-H HOSTNAME] [-i IFNAME]... [-d] [-M] -- COMMAND

As LXC's: run COMMAND in new namespaces. NAMESPACES (required) is a |-separated list of
MOUNT, PID, UTSNAME, IPC, USER and NETWORK; -u runs COMMAND as USER (with USER: mapped to
the caller's uid, as LXC; without -u the new user namespace has no map), -H sets the
hostname (needs UTSNAME), -i moves the host's interface IFNAME into the new network
namespace (needs NETWORK), -d does not wait for COMMAND (daemonize), -M mounts LXC's
default file systems, a new /proc, a tmpfs on /dev/shm and mqueue on /dev/mqueue (needs
MOUNT; the mount namespace is made private first, so nothing of it reaches the host).
Exit status: COMMAND's.
"""

from __future__ import annotations

import os
import sys

PROG = "lxc-unshare"

USAGE = """usage: lxc-unshare -s NAMESPACES [-u USER] [-H HOSTNAME] [-i IFNAME]... [-d] [-M] \
-- COMMAND [ARG...]

  -s NAMESPACES  |-separated list of MOUNT, PID, UTSNAME, IPC, USER, NETWORK
  -u USER        run COMMAND as USER (name or uid; with USER: mapped to the caller's uid)
  -H HOSTNAME    set the hostname in the new UTS namespace (needs UTSNAME)
  -i IFNAME      move the interface IFNAME into the new network namespace (needs NETWORK)
  -d             daemonize: do not wait for COMMAND
  -M             mount default fs (/proc /dev/shm and /dev/mqueue) (needs MOUNT)
  -h             this message
"""

# LXC's long spellings
# --rcfile: LXC's common option, which its lxc-unshare parses and never reads (so here)
LONG = ["namespaces=", "user=", "hostname=", "ifname=", "daemon", "remount", "help",
        "rcfile="]
SHORT = {"--namespaces": "-s", "--user": "-u", "--hostname": "-H", "--ifname": "-i",
         "--daemon": "-d", "--remount": "-M", "--help": "-h"}

NAMES = ("MOUNT", "PID", "UTSNAME", "IPC", "USER", "NETWORK")


class Usage(Exception):
    pass


def parse_flags(text: str) -> int:
    from lxcpy import kernel

    bits = {"MOUNT": kernel.CLONE_NEWNS, "PID": kernel.CLONE_NEWPID,
            "UTSNAME": kernel.CLONE_NEWUTS, "IPC": kernel.CLONE_NEWIPC,
            "USER": kernel.CLONE_NEWUSER, "NETWORK": kernel.CLONE_NEWNET}
    flags = 0
    for word in text.split("|"):
        if word not in bits:
            raise Usage(f"-s {text}: unknown namespace {word!r} (one of {', '.join(NAMES)})")
        flags |= bits[word]
    return flags


def _user(spec: str) -> tuple[int, int, str | None]:
    import pwd

    try:
        entry = pwd.getpwuid(int(spec)) if spec.isdigit() else pwd.getpwnam(spec)
    except (KeyError, ValueError):
        if spec.isdigit():
            return int(spec), int(spec), None
        raise Usage(f"-u {spec}: no such user") from None
    return entry.pw_uid, entry.pw_gid, entry.pw_name


def _interfaces(names: list[str]) -> list[int]:
    from lxcpy.net import _netlink as nl

    if not names:
        return []
    IPRoute, _ = nl.load()
    indexes = []
    with IPRoute() as ipr:
        for name in names:
            found = ipr.link_lookup(ifname=name)
            if not found:
                raise Usage(f"-i {name}: no such network interface")
            indexes.append(found[0])
    return indexes


def _move(indexes: list[int], names: list[str], pid: int) -> None:
    from lxcpy.net import _netlink as nl

    IPRoute, NetlinkError = nl.load()
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        with IPRoute() as ipr:
            for index, name in zip(indexes, names, strict=True):
                try:
                    ipr.link("set", index=index, net_ns_fd=fd)
                except NetlinkError as exc:
                    raise Usage(f"-i {name}: moving it: {nl.strerror(exc)}") from None
    finally:
        os.close(fd)


def _map_user(pid: int, uid: int) -> None:
    """LXC's lxc-unshare -u with USER: ``uid`` inside is the caller's uid (no gid map)."""
    with open(f"/proc/{pid}/uid_map", "w") as f:
        f.write(f"{uid} {os.getuid()} 1\n")


def _child(flags: int, go: int, hostname: str | None, mount_fresh: bool,
           user: tuple[int, int, str | None] | None, daemon: bool, cmd: list[str]) -> None:
    """In the new namespaces: wait for the parent's set-up, then become COMMAND."""
    from lxcpy import kernel
    from lxcpy.errors import exec_status

    try:
        if os.read(go, 1) != b"1":
            os._exit(1)  # the parent failed and said so
        os.close(go)
        if daemon:
            os.setsid()
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            if null > 2:
                os.close(null)
        if hostname is not None:
            kernel.sethostname(hostname)
        if mount_fresh:
            default_mounts()
        if user is not None and flags & kernel.CLONE_NEWUSER:
            os.setuid(user[0])  # only the uid is mapped (LXC): no group change there
        elif user is not None:
            uid, gid, name = user
            if name is not None:
                os.initgroups(name, gid)
            else:
                os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        try:
            os.execvp(cmd[0], cmd)
        except OSError as exc:
            exc.filename = cmd[0]
            raise
    except BaseException as exc:
        text = getattr(exc, "message", None) or getattr(exc, "strerror", None) or str(exc)
        if isinstance(exc, OSError) and exc.filename is not None and not hasattr(exc, "message"):
            text = f"{exc.filename}: {exc.strerror}"
        code = (exec_status(exc.errno) if isinstance(exc, OSError) and exc.errno
                and exc.filename == cmd[0] else 1)  # the exec's failure, or the set-up's
        try:
            sys.stderr.write(f"{PROG}: {text}\n")
            sys.stderr.flush()
        finally:
            os._exit(code)


def default_mounts() -> None:
    """LXC's lxc_setup_fs: proc on /proc, tmpfs on /dev/shm, mqueue on /dev/mqueue (the
    directories made when missing, as LXC does), each stacked over what was there. Unlike
    LXC, the new mount namespace is made private first: no mount or unmount made here
    propagates back to the host's."""
    from lxcpy import kernel

    kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
    for source, target, fstype, mode in (("proc", "/proc", "proc", None),
                                         ("shmfs", "/dev/shm", "tmpfs", 0o777),
                                         ("mqueue", "/dev/mqueue", "mqueue", 0o666)):
        if mode is not None and not os.path.lexists(target):
            os.mkdir(target, mode)
        kernel.mount(source, target, fstype)


def run(flags: int, cmd: list[str], hostname: str | None = None,
        ifnames: list[str] | None = None, daemon: bool = False, mount_fresh: bool = False,
        user: str | None = None) -> int:
    from lxcpy import kernel

    ifnames = ifnames or []
    if hostname is not None and not flags & kernel.CLONE_NEWUTS:
        raise Usage("-H needs a new UTS namespace (-s UTSNAME)")
    if ifnames and not flags & kernel.CLONE_NEWNET:
        raise Usage("-i needs a new network namespace (-s NETWORK)")
    if mount_fresh and not flags & kernel.CLONE_NEWNS:
        raise Usage("-M needs a new mount namespace (-s MOUNT)")
    who = _user(user) if user is not None else None
    indexes = _interfaces(ifnames)
    go_r, go_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = kernel.fork_into(flags)
    if pid == 0:
        os.close(go_w)
        _child(flags, go_r, hostname, mount_fresh, who, daemon, cmd)
    os.close(go_r)
    try:
        if flags & kernel.CLONE_NEWUSER and who is not None:
            _map_user(pid, who[0])
        _move(indexes, ifnames, pid)
    except BaseException:
        os.close(go_w)  # the child reads EOF and leaves
        os.waitpid(pid, 0)
        raise
    os.write(go_w, b"1")
    os.close(go_w)
    if daemon:
        return 0
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except KeyboardInterrupt:
            continue  # the child got the same Ctrl-C; its status decides
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else \
        128 + os.WTERMSIG(status)


def main(argv: list[str] | None = None) -> int:
    import getopt

    from lxcpy.errors import LxcError

    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt.getopt(args, "s:u:H:i:dMh", LONG)  # stops at the first non-option
    except getopt.GetoptError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 1
    flags_text = None
    user = hostname = None
    ifnames: list[str] = []
    daemon = mount_fresh = False
    for long_opt, value in opts:
        opt = SHORT.get(long_opt, long_opt)
        if opt == "-h":
            sys.stdout.write(USAGE)
            return 0
        if opt == "-s":
            flags_text = value
        elif opt == "-u":
            user = value
        elif opt == "-H":
            hostname = value
        elif opt == "-i":
            ifnames.append(value)
        elif opt == "-d":
            daemon = True
        elif opt == "-M":
            mount_fresh = True
    try:
        if not rest:
            raise Usage("no command to run (lxc-unshare -s NAMESPACES -- COMMAND)")
        if not flags_text:  # LXC: no default set of namespaces
            raise Usage("no namespace given (lxc-unshare -s NAMESPACES -- COMMAND)")
        return run(parse_flags(flags_text), rest, hostname, ifnames, daemon, mount_fresh,
                   user)
    except Usage as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 1
    except LxcError as exc:
        sys.stderr.write(f"{PROG}: {exc.message}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"{PROG}: {exc.strerror}\n")
        return 1
    except KeyboardInterrupt:
        return 130
