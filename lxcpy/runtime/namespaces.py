"""Which namespaces a container gets: made new, kept (the caller's) or joined (another's).

``lxc.namespace.clone`` lists the namespaces to make (LXC: exactly those),
``lxc.namespace.keep`` the ones to keep from the caller (lxcpy's default set minus these),
``lxc.namespace.share.<ns>`` joins a running container's namespace (by container name,
PID or /proc/PID/ns path), as LXC does. :func:`resolve` runs in the supervisor before
anything is made and refuses, with one line naming file:line and key, what lxcpy cannot do;
:func:`join_namespaces` (before the unshare) and :func:`write_sysctls` run in the
container's first process.
"""

from __future__ import annotations

import os

from lxcpy import kernel as k
from lxcpy.config.keys import origin_of
from lxcpy.config.model import ContainerConfig
from lxcpy.errors import LxcError
from lxcpy.log import log

# made for every container unless kept, shared, or left out of lxc.namespace.clone
DEFAULT = ("mnt", "uts", "ipc", "pid", "net", "cgroup")
# joining these is supported: the first process setns()es before its unshare
JOINABLE = ("net", "ipc", "uts", "cgroup")
# and for an OCI container (linux.namespaces[].path): the supervisor forks the init into a
# joined PID namespace (pid_to_join); a mount namespace it does not make (joined or the
# runtime's) gets the rootfs as a detached tree (stage_mounts, lxcpy.runtime.ocimounts);
# a joined user namespace is entered first and owns what is made next (refork_in_userns)
OCI_JOINABLE = ("pid", "mnt", "user")


def created(cfg: ContainerConfig) -> list[str]:
    """The namespaces this container makes (after :func:`resolve`)."""
    if cfg.namespace_clone:
        names = [ns for ns in k.NAMESPACES if ns in cfg.namespace_clone]
    else:
        names = [ns for ns in DEFAULT if ns not in cfg.namespace_keep]
    if wants_timens(cfg) and not cfg.namespace_clone and "time" not in cfg.namespace_keep:
        names.append("time")  # LXC: a time namespace when an offset is configured
    if cfg.idmaps and not cfg.namespace_clone and "user" not in cfg.namespace_keep:
        names.insert(0, "user")  # LXC: lxc.idmap means a user namespace
    names = [ns for ns in names if ns not in cfg.namespace_share]
    if "net" in names and not cfg.wants_netns:  # lxc.net.N.type = none: the caller's
        names.remove("net")
    return names


def clone_flags(cfg: ContainerConfig) -> int:
    """unshare(2) flags of the container's first process; the PID namespace (and the user
    namespace, which must own it) is made by the supervisor's fork."""
    flags = 0
    for ns in created(cfg):
        if ns not in ("pid", "user"):
            flags |= k.NAMESPACES[ns][0]
    log.info("Cloning namespaces: %s", " ".join(created(cfg)))
    return flags


def resolve(cfg: ContainerConfig, lxcpath: str) -> None:
    """Check the namespace keys and resolve lxc.namespace.share.* to namespace files.

    Afterwards ``cfg.namespace_keep`` names every namespace the container does not make
    (the supervisor's fork and ``wants_netns`` read it) and ``cfg.namespace_joins`` the
    files to join. Raises LxcError (one line) before anything is made.
    """
    if cfg.namespace_clone and cfg.namespace_keep:
        raise LxcError(f"{origin_of(cfg, 'lxc.namespace.clone')}: cannot be combined with "
                       "lxc.namespace.keep (LXC refuses both)")
    oci = cfg.oci_mounts is not None
    joinable = JOINABLE + OCI_JOINABLE if oci else JOINABLE
    for ns in cfg.namespace_share:
        if ns not in joinable:
            raise LxcError(f"{origin_of(cfg, 'lxc.namespace.share.' + ns)}: joining another "
                           f"container's {ns} namespace is not supported by lxcpy "
                           f"(only {', '.join(JOINABLE)})")
    if "uts" in cfg.namespace_share and cfg.uts_name and not oci:  # OCI: runc sets it
        raise LxcError(f"{origin_of(cfg, 'lxc.uts.name')}: would rename the container whose "
                       "uts namespace lxc.namespace.share.uts joins")
    made = created(cfg)
    key = "lxc.namespace.clone" if cfg.namespace_clone else "lxc.namespace.keep"
    if "mnt" not in made and "mnt" not in cfg.namespace_share and not oci:
        # set-up mounts /proc, /dev, the rootfs: in the host's mount namespace, on the host
        raise LxcError(f"{origin_of(cfg, key)}: lxcpy needs a mount namespace of the "
                       "container's own")
    if "user" in made and not cfg.idmaps:
        raise LxcError(f"{origin_of(cfg, key)}: a user namespace needs lxc.idmap lines "
                       "(who is root in it)")
    if cfg.idmaps and "user" not in made:
        raise LxcError(f"{origin_of(cfg, 'lxc.idmap')}: needs a user namespace of the "
                       f"container's own ({key} leaves it out)")
    if cfg.idmaps and "pid" not in made:
        raise LxcError(f"{origin_of(cfg, 'lxc.idmap')}: needs a PID namespace of the "
                       f"container's own ({key} leaves it out): its /proc belongs to it")
    if "net" not in made:
        for net in cfg.networks:
            if net.type not in (None, "none"):  # would be made nowhere: never ignore it
                where = net.origins.get("type", net.origin) or "config"
                raise LxcError(f"{where}: lxc.net.{net.index}.type = "
                               f"{net.type}: the container has no network namespace of its "
                               "own (lxc.namespace.keep, clone or share.net)")
    if wants_timens(cfg) and "time" not in made:
        key = ("lxc.time.offset.boot" if cfg.time_offset_boot else "lxc.time.offset.monotonic")
        raise LxcError(f"{origin_of(cfg, key)}: needs a time namespace of the container's own "
                       "(lxc.namespace.clone/keep/share leave it out)")
    cfg.namespace_keep = [ns for ns in k.NAMESPACES if ns not in made]
    cfg.namespace_joins = [_share(cfg, ns, value, lxcpath)
                           for ns, value in cfg.namespace_share.items()]
    for name in cfg.sysctls:
        owner = sysctl_namespace(name)
        if owner is None or (owner not in made and owner not in cfg.namespace_share):
            why = ("it is not namespaced" if owner is None
                   else f"the container has no {owner} namespace of its own")
            raise LxcError(f"{origin_of(cfg, 'lxc.sysctl.' + name)}: refusing to write it: "
                           f"{why} (it would change the host's)")


def _share(cfg: ContainerConfig, ns: str, value: str, lxcpath: str) -> tuple[str, str, int, int]:
    """(ns, /proc/PID/ns/NS, st_dev, st_ino): the child checks it opens that very file."""
    where = origin_of(cfg, "lxc.namespace.share." + ns)
    if value.startswith("/"):
        path = value
    elif value.isascii() and value.isdigit():
        path = k.ns_path(int(value), ns)
    else:
        from lxcpy.paths import ContainerPaths
        from lxcpy.runtime.commands import query_state

        try:
            state, pid = query_state(ContainerPaths(value, lxcpath))
        except LxcError as exc:
            raise LxcError(f"{where}: {exc.message}") from None
        if state == "STOPPED" or pid <= 0:
            raise LxcError(f"{where}: container '{value}' is not running")
        path = k.ns_path(pid, ns)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise LxcError(f"{where}: cannot use '{path}': {exc.strerror}") from None
    try:
        mine = os.stat(k.ns_path("self", ns))
    except OSError:
        mine = None
    if mine is None or st.st_dev != mine.st_dev:  # not on nsfs: no namespace file
        raise LxcError(f"{where}: '{value}' is not a {ns} namespace")
    log.info("Sharing %s namespace with %s", ns, value)
    return ns, path, st.st_dev, st.st_ino


def _open_joined(cfg: ContainerConfig, ns: str, path: str, dev: int, ino: int) -> int:
    """The namespace file resolve() checked, opened; it must still be that very one."""
    where = origin_of(cfg, "lxc.namespace.share." + ns)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise LxcError(f"{where}: cannot open '{path}': {exc.strerror}") from None
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (dev, ino):  # the PID was reused meanwhile
        os.close(fd)
        raise LxcError(f"{where}: the namespace's owner ended during the start")
    return fd


def pid_to_join(cfg: ContainerConfig) -> int:
    """In the supervisor: an fd of the PID namespace the init is forked into, or -1."""
    for ns, path, dev, ino in cfg.namespace_joins:
        if ns == "pid":
            return _open_joined(cfg, ns, path, dev, ino)
    return -1


def joins_user(cfg: ContainerConfig) -> bool:
    return any(j[0] == "user" for j in cfg.namespace_joins)


def join_namespaces(cfg: ContainerConfig) -> None:
    """In the container's first process, before it unshares: setns() into the shared ones,
    a user namespace first (runc's order: we become its root, and the namespaces joined
    next must be owned by it), the mount namespace last; the PID namespace was joined by
    our fork."""
    joins = sorted(cfg.namespace_joins, key=lambda j: (j[0] != "user") + (j[0] == "mnt"))
    for ns, path, dev, ino in joins:
        if ns == "pid":
            continue
        fd = _open_joined(cfg, ns, path, dev, ino)
        try:
            k.setns(fd, k.NAMESPACES[ns][0])
        finally:
            os.close(fd)
        if ns == "user":
            _become_root()


def _become_root() -> None:
    """Root of the user namespace just joined; its supplementary groups cleared unless the
    namespace denies setgroups (unshare -r does), as runc."""
    import signal

    os.setresgid(0, 0, 0)
    if setgroups_allowed():
        os.setgroups([])
    os.setresuid(0, 0, 0)
    k.prctl(k.PR_SET_PDEATHSIG, signal.SIGKILL)  # cleared by the credential change


def setgroups_allowed() -> bool:
    """False in a user namespace whose /proc/PID/setgroups says deny (setgroups(2) fails)."""
    try:
        with open("/proc/self/setgroups", "rb") as f:
            return f.read().strip() != b"deny"
    except OSError:
        return True


def refork_in_userns(cfg: ContainerConfig) -> int:
    """After joining a user namespace (OCI path) with a new PID namespace: that one must be
    owned by the joined user namespace (else /proc cannot be mounted), so it is made now
    and the set-up goes on in a child forked into it as its PID 1. Returns 0 there; in
    the first process the child's PID (it tells the supervisor, then leaves: the child is
    re-parented like any OCI init). -1 when there is nothing to do."""
    if not joins_user(cfg) or "pid" in cfg.namespace_keep:
        return -1
    k.unshare(k.CLONE_NEWPID)
    return os.fork()


def stage_mounts(cfg: ContainerConfig) -> int:
    """OCI, no mount namespace of the container's own (the runtime's or a joined one): an
    fd of that namespace, and a private copy of it entered, in which the rootfs and its
    mounts are put together without touching the namespace's own mount table; at the
    end ocimounts.enter_tree() goes back into it with the finished tree as root. -1 when
    the container makes its own mount namespace."""
    if cfg.oci_mounts is None or "mnt" not in cfg.namespace_keep:
        return -1
    home = os.open(k.ns_path("self", "mnt"), os.O_RDONLY | os.O_CLOEXEC)
    k.unshare(k.CLONE_NEWNS)
    return home


def wants_timens(cfg: ContainerConfig) -> bool:
    return bool(cfg.time_offset_boot or cfg.time_offset_monotonic)


_UNITS = {"h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def time_offset(value: str) -> tuple[int, int]:
    """``-10s``, ``500ms``, ``1h`` -> (seconds, nanoseconds in 0..1e9-1), as the kernel wants."""
    number = value.rstrip("hmsun")
    total = int(number) * _UNITS[value[len(number):]]
    return divmod(total, 10**9)  # floor division: -500ms -> (-1, 500000000)


def write_time_offsets(cfg: ContainerConfig) -> None:
    """lxc.time.offset.*: after unshare(CLONE_NEWTIME), before any process enters it (our
    children and our exec do): /proc/self/timens_offsets is writable until then."""
    lines = [f"{clock} {secs} {nsecs}"
             for clock, value in (("boottime", cfg.time_offset_boot),
                                  ("monotonic", cfg.time_offset_monotonic)) if value
             for secs, nsecs in [time_offset(value)]]
    if not lines:
        return
    try:
        fd = os.open("/proc/self/timens_offsets", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, "\n".join(lines).encode())
        finally:
            os.close(fd)
    except OSError as exc:
        key = "lxc.time.offset.boot" if cfg.time_offset_boot else "lxc.time.offset.monotonic"
        raise LxcError(f"{origin_of(cfg, key)}: cannot set the time namespace's offsets: "
                       f"{exc.strerror}") from None


# LXC's rule (confile.c / conf.c): only sysctls that belong to a namespace may be set
_SYSCTL_NAMESPACES = (("net.", "net"), ("kernel.shm", "ipc"), ("kernel.msg", "ipc"),
                      ("kernel.sem", "ipc"), ("fs.mqueue.", "ipc"), ("kernel.hostname", "uts"),
                      ("kernel.domainname", "uts"), ("user.", "user"))


def sysctl_namespace(name: str) -> str | None:
    """The namespace a sysctl belongs to; None for a host-wide one."""
    for prefix, ns in _SYSCTL_NAMESPACES:
        if name.startswith(prefix):
            return ns
    return None


def write_sysctls(cfg: ContainerConfig) -> None:
    """lxc.sysctl.*, inside the container's namespaces.

    /proc/sys/net, ipc and uts files show the namespaces of the task that opens them, so
    this runs in the container's first process once its namespaces exist; :func:`resolve`
    has refused every sysctl that is not in one of them.
    """
    if not cfg.sysctls:
        return
    root = os.open("/proc/sys", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name, value in cfg.sysctls.items():
            try:
                fd = k.openat2(root, name.replace(".", "/"), os.O_WRONLY,
                               k.RESOLVE_BENEATH | k.RESOLVE_NO_SYMLINKS
                               | k.RESOLVE_NO_MAGICLINKS)
            except k.KernelError as exc:
                raise LxcError(f"{origin_of(cfg, 'lxc.sysctl.' + name)}: cannot open "
                               f"/proc/sys/{name.replace('.', '/')}: "
                               f"{os.strerror(exc.errno)}") from None
            write_setting(fd, value, origin_of(cfg, 'lxc.sysctl.' + name))
    finally:
        os.close(root)


def write_setting(fd: int, value: str, where: str) -> None:
    """Write a /proc value (lxc.sysctl, lxc.proc) to ``fd`` and close it; a value the kernel
    refuses is one line naming the config line ``where``."""
    try:
        os.write(fd, value.encode())
    except OSError as exc:
        raise LxcError(f"{where}: the kernel refuses '{value}': {exc.strerror}") from None
    finally:
        os.close(fd)
