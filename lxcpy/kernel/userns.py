"""A non-root caller's user namespaces: maps written through the setuid helpers
newuidmap/newgidmap (Debian's uidmap, checked by them against /etc/subuid and /etc/subgid),
and LXC's userns_exec_full: a function run as root of a namespace mapping the caller's
subordinate ids plus their own, to chown, copy or remove a container's files.

Below runtime, storage and templates (all of which need it); only kernel calls below.
"""

from __future__ import annotations

import os

from lxcpy import kernel as k
from lxcpy.errors import LxcError

TYPE_CHECKING = False  # no typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable

    from lxcpy.config.model import IdMap


def map_self(idmaps: list[IdMap]) -> list[IdMap]:
    """lxc-usernsexec -s: also map the caller's own uid and gid, each to the first
    container id past the given ranges that start at 0 (LXC's do_map_self)."""
    from lxcpy.config.model import IdMap

    extra = []
    for kind, own in (("g", os.getgid()), ("u", os.getuid())):
        nsid = 0
        for m in idmaps:
            if m.kind == kind and m.nsid <= nsid < m.nsid + m.range:
                nsid += m.range
        extra.append(IdMap(kind, nsid, own, 1))
    return [*idmaps, *extra]


def map_helpers() -> tuple[str, str]:
    """(newuidmap, newgidmap): a non-root caller's only way to write maps."""
    import shutil

    found = [shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/bin:/bin")
             for tool in ("newuidmap", "newgidmap")]
    if None in found:
        missing = "newuidmap" if found[0] is None else "newgidmap"
        raise LxcError(f"{missing} not found: a non-root user needs it to map ids "
                       "(apt-get install uidmap)")
    return found[0], found[1]  # type: ignore[return-value]


def run_map_helpers(helpers: tuple[str, str], idmaps: list[IdMap], pid: int) -> None:
    """newgidmap then newuidmap PID NSID HOSTID RANGE...; their own one-line refusal
    (a range not granted in /etc/subuid) is passed on."""
    import subprocess

    for tool, kind in ((helpers[1], "g"), (helpers[0], "u")):
        args = [str(v) for m in idmaps if m.kind == kind for v in (m.nsid, m.hostid, m.range)]
        name = os.path.basename(tool)
        try:
            result = subprocess.run([tool, str(pid), *args], capture_output=True, text=True,
                                    check=False)
        except OSError as exc:
            raise LxcError(f"{name}: {exc.strerror}") from None
        if result.returncode != 0:
            why = (result.stderr.strip().splitlines() or ["failed"])[-1]
            raise LxcError(f"{name}: {why.removeprefix(name + ': ')}")


def granted(kind: str, path: str | None = None) -> list[tuple[int, int]]:
    """The caller's (first id, count) ranges in /etc/subuid or /etc/subgid, by name or by
    uid as shadow's newuidmap reads them."""
    import pwd

    path = path or ("/etc/subuid" if kind == "u" else "/etc/subgid")
    owners = {str(os.getuid())}
    try:
        owners.add(pwd.getpwuid(os.getuid()).pw_name)
    except KeyError:
        pass
    ranges = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in owners and fields[1].isdigit() \
                and fields[2].isdigit():
            ranges.append((int(fields[1]), int(fields[2])))
    return ranges


def grant_maps() -> list[IdMap]:
    """Every /etc/subuid and /etc/subgid range of the caller, end to end from id 0: a
    namespace whose root may touch any file of any of the user's containers."""
    from lxcpy.config.model import IdMap

    maps = []
    for kind in ("u", "g"):
        nsid = 0
        for first, count in granted(kind):
            maps.append(IdMap(kind, nsid, first, count))
            nsid += count
    return maps


def as_mapped_root(fn: Callable[[], None], idmaps: list[IdMap] | None = None) -> None:
    """Run ``fn`` in a child that is root of a new user namespace with ``idmaps`` (default:
    the caller's grants) plus the caller's own uid and gid (LXC's userns_exec_full): how a
    non-root user chowns a template's files to the container's root, or removes a rootfs
    it owns no longer. Maps through newuidmap; fn's error comes back as one line."""
    maps = map_self(idmaps if idmaps is not None else grant_maps())
    helpers = map_helpers()
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for fd in (ready_r, go_w, err_r):
                os.close(fd)
            k.unshare(k.CLONE_NEWUSER)
            os.write(ready_w, b"1")
            if os.read(go_r, 1) == b"1":
                os.setresgid(0, 0, 0)
                os.setresuid(0, 0, 0)
                fn()
                code = 0
        except BaseException as exc:  # noqa: BLE001 - passed back as one line
            message = exc.message if isinstance(exc, LxcError) else str(exc)
            os.write(err_w, message.encode("utf-8", "replace")[:4000])
        os._exit(code)
    for fd in (ready_w, go_r, err_w):
        os.close(fd)
    try:
        if os.read(ready_r, 1) == b"1":
            try:
                run_map_helpers(helpers, maps, pid)
            finally:
                os.write(go_w, b"1")  # unmapped, the child fails its setresuid and ends
    finally:
        os.close(ready_r)
        os.close(go_w)
        _, status = os.waitpid(pid, 0)
        error = os.read(err_r, 4096).decode("utf-8", "replace")
        os.close(err_r)
    if status != 0:
        raise LxcError(error or "the helper in the user namespace failed")


def rmtree(path: str) -> None:
    """shutil.rmtree, which for a non-root user whose tree holds a container's files
    (owned by their subordinate ids) runs as root of a namespace mapping their grants."""
    import shutil

    try:
        shutil.rmtree(path)
    except PermissionError:
        if os.geteuid() == 0:
            raise
        as_mapped_root(lambda: shutil.rmtree(path))
