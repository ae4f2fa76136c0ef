"""lxc-device -n NAME [add|del] DEV [NAME-INSIDE]

As LXC's: ``add`` moves the host's network interface DEV into the running container's
network namespace (renamed NAME-INSIDE when given), ``del`` moves the container's DEV back
to the host (renamed NAME-INSIDE when given). A DEV under /dev is a device node: ``add``
makes it (same type, major and minor) at NAME-INSIDE (default: DEV's own path) in the
container's /dev and allows it in the container's device cgroup; ``del`` removes it and
denies it again.
"""

from __future__ import annotations

import os
import stat

from lxcpy.cli.common import CONTEXT, common_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click

    from lxcpy.container import Container


def run(name: str, lxcpath: str, words: tuple[str, ...],
        rcfile: str | None = None, **_: object) -> None:
    """Add a host device to a running container, or take one away."""
    from lxcpy.cli.common import container_for
    from lxcpy.errors import LxcError

    args = list(words)
    action = "add"
    if args and args[0] in ("add", "del"):
        action = args.pop(0)
    if not 1 <= len(args) <= 2:
        raise LxcError("usage: lxc-device -n NAME [add|del] DEV [NAME-INSIDE]")
    dev, inside = args[0], args[1] if len(args) == 2 else None
    container = container_for(name, lxcpath, rcfile)
    if not container.defined:
        raise LxcError(f"container '{name}' is not defined in {lxcpath}")
    if dev.startswith("/dev/"):
        device_node(container, action, dev, inside)
    else:
        network(_running_pid(container), action, dev, inside)


def _running_pid(container: Container) -> int:
    from lxcpy.errors import NotRunning

    try:
        pid = container.init_pid
    except NotRunning:
        pid = -1
    if pid <= 0:
        raise NotRunning(f"{container.name} is not running")
    return pid


def device_node(container: Container, action: str, dev: str, inside: str | None) -> None:
    """``add`` ("del") the device node ``dev`` at ``inside`` in a running container: the
    one implementation behind lxc-device and python3-lxc's add/remove_device_node."""
    node(container, _running_pid(container), action, dev, inside)


def network(pid: int, action: str, dev: str, inside: str | None) -> None:
    from lxcpy.errors import LxcError
    from lxcpy.net import _netlink as nl
    from lxcpy.net.host import _open_container_netns
    from lxcpy.net.nsexec import iproute_in

    IPRoute, NetlinkError = nl.load()
    there = _open_container_netns(pid)
    here = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        with IPRoute() as ipr, iproute_in(there) as ipr_there:
            if action == "add":  # from the host into the container, and del the way back
                source, target, target_fd = ipr, ipr_there, there
                found, free, moving = "network interface", "in the container", "into"
            else:
                source, target, target_fd = ipr_there, ipr, here
                found, free, moving = ("network interface in the container", "on the host",
                                       "out of")
            index = _lookup(source, dev, found)
            _free(target, inside or dev, free)
            try:
                source.link("set", index=index, net_ns_fd=target_fd, ifname=inside or dev)
            except NetlinkError as exc:
                raise LxcError(f"{dev}: moving it {moving} the container: "
                               f"{nl.strerror(exc)}") from None
    finally:
        os.close(here)
        os.close(there)


def _lookup(ipr: object, dev: str, what: str) -> int:
    from lxcpy.errors import LxcError

    found = ipr.link_lookup(ifname=dev)  # type: ignore[attr-defined]
    if not found:
        raise LxcError(f"{dev}: no such {what}")
    return int(found[0])


def _free(ipr: object, dev: str, where: str) -> None:
    from lxcpy.errors import LxcError

    if ipr.link_lookup(ifname=dev):  # type: ignore[attr-defined]
        raise LxcError(f"{dev}: a network interface of that name exists {where}")


def node(container: Container, pid: int, action: str, dev: str, inside: str | None) -> None:
    """A device node at ``inside`` (default ``dev``) under the container's /dev, reached
    through /proc/PID/root without following a symlink out of it."""
    from lxcpy.errors import LxcError

    target = os.path.normpath(inside or dev)
    if not target.startswith("/dev/") or target == "/dev":
        raise LxcError(f"{target}: not a path under /dev")
    root = f"/proc/{pid}/root"
    if action == "add":
        try:
            st = os.stat(dev)
        except OSError as exc:
            raise LxcError(f"{dev}: {exc.strerror}") from None
        if stat.S_ISCHR(st.st_mode):
            kind = "c"
        elif stat.S_ISBLK(st.st_mode):
            kind = "b"
        else:
            raise LxcError(f"{dev}: not a character or block device")
        rule = f"{kind} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)} rwm"
    dirfd = _open_dir(root, os.path.dirname(target))
    base = os.path.basename(target)
    try:
        if action == "add":
            try:
                os.mknod(base, stat.S_IFMT(st.st_mode) | stat.S_IMODE(st.st_mode),
                         st.st_rdev, dir_fd=dirfd)
            except OSError as exc:
                raise LxcError(f"{target} in the container: {exc.strerror}") from None
            try:
                container.set_cgroup_item("devices.allow", rule)
            except BaseException:
                os.unlink(base, dir_fd=dirfd)
                raise
        else:
            try:
                st = os.stat(base, dir_fd=dirfd, follow_symlinks=False)
            except OSError as exc:
                raise LxcError(f"{target} in the container: {exc.strerror}") from None
            if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
                raise LxcError(f"{target} in the container: not a device node")
            kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
            container.set_cgroup_item(
                "devices.deny", f"{kind} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)} rwm")
            os.unlink(base, dir_fd=dirfd)
    finally:
        os.close(dirfd)


def _open_dir(root: str, path: str) -> int:
    """The directory ``path`` of the container's tree, resolved inside it (openat2)."""
    from lxcpy import kernel as k
    from lxcpy.errors import KernelError, LxcError

    rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return k.openat2(rootfd, path.lstrip("/") or ".", os.O_PATH | os.O_DIRECTORY
                         | os.O_CLOEXEC, k.RESOLVE_IN_ROOT | k.RESOLVE_NO_MAGICLINKS)
    except KernelError as exc:
        raise LxcError(f"{path} in the container: {os.strerror(exc.errno)}") from None
    finally:
        os.close(rootfd)


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=CONTEXT),
        common_options(),
        click.argument("words", nargs=-1),
    )


main = entry("lxc-device", build)
