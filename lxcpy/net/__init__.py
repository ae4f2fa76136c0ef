"""Container networking: veth, macvlan, phys, vlan, empty, none (pyroute2's netlink messages,
imported lazily).

The runtime's order (see the lead's supervisor and child):

1. the container's init unshares its network namespace;
2. the supervisor calls :func:`host_setup` with the init's pid: the devices are made and
   handed to that namespace under temporary names; the returned records go to the init
   (JSON) and into the supervisor's resource file (through ``record``, before each device
   exists, so a crash can be undone by :func:`recover`);
3. the supervisor runs :func:`run_scripts` ``"up"``;
4. the init calls :func:`inside_setup`: final names, MACs, MTUs, addresses, up, routes;
5. at stop: :func:`run_scripts` ``"down"``, then :func:`host_teardown` (the supervisor: in a
   thread, :func:`host_teardown_begin`, waited for before its records are forgotten).

Importing this package costs nothing network-related: pyroute2's message classes (~30 ms)
are imported by the first function that needs netlink. :func:`preload` lets a caller pay
that cost early, e.g. in the supervisor before it forks the init, so the init inherits it.

Record dict (JSON-serialisable; one per veth/macvlan/phys/vlan interface, in config order)::

    {"index": 0,              # NetConfig.index
     "type": "veth",          # veth | macvlan | phys | vlan
     "host": "vethAb3dE9",    # host-side name: veth host end, phys original name, else None
     "temp": "vethQw8rT2",    # the device's name in the container until inside_setup
     "name": "eth0",          # its final name in the container
     "link": "br0",           # bridge / lower device, or None
     "gateway4": "10.0.0.1",  # ipv4.gateway = auto resolved on the host, else None
     "gateway6": None,
     "mtu": 1500, "hwaddr": "..",  # phys only: restored when it comes back
     "undone": True}          # present once nothing of it exists any more
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from collections.abc import Callable  # (collections: ~1 ms of every start)
    from typing import Any

    from lxcpy.config.model import NetConfig

Record = dict[str, "Any"]  # "Any": typing is not imported at run time
# types without a device: their host side makes nothing (no netlink import needed)
_DEVICELESS = ("empty", "none")


def host_setup(networks: list[NetConfig], container_pid: int, container_name: str,
               record: Callable[[Record], None]) -> list[Record]:
    """Make every interface's host side and hand its device to ``container_pid``'s netns.

    Calls ``record(rec)`` before creating each device. On failure, undoes what this call
    made and raises :class:`NetworkError` (``net.0 (veth): bridge 'nobr' does not exist``).
    """
    if all(n.type in _DEVICELESS for n in networks):
        return []  # nothing to make: skip importing the netlink side (~5 ms of a start)
    from lxcpy.net.host import host_setup as impl

    return impl(networks, container_pid, container_name, record)


def inside_setup(networks: list[NetConfig], records: list[Record]) -> None:
    """In the container's netns: rename, hwaddr, mtu, addresses, up, lo, gateways."""
    if all(n.type == "none" or (n.type == "empty" and not n.up) for n in networks):
        return  # no device and lo stays down: nothing to import (~5 ms in the init)
    from lxcpy.net.inside import inside_setup as impl

    impl(networks, records)


def run_scripts(networks: list[NetConfig], records: list[Record], container_name: str,
                phase: str) -> None:
    """``script.up`` / ``script.down`` as ``script NAME net PHASE TYPE HOSTIFNAME``."""
    if phase in ("up", "down") and not any(
            n.script_up if phase == "up" else n.script_down for n in networks):
        return  # no script: no need to import subprocess
    from lxcpy.net.scripts import run_scripts as impl

    impl(networks, records, container_name, phase)


def host_teardown(records: list[Record], container_netns_fd: int | None) -> None:
    """Delete host veth ends, bring phys devices home (down, no addresses). Never raises."""
    from lxcpy.net.host import host_teardown as impl

    impl(records, container_netns_fd)


def host_teardown_begin(records: list[Record], container_netns_fd: int | None
                        ) -> Callable[[], None]:
    """:func:`host_teardown` in a thread of its own; returns the call that waits for it.

    The kernel deletes a link with the RTNL held and waits for RCU grace periods (a veth:
    16-26 ms of wall time here; C LXC's RTM_DELLINK waits the same); beside the caller's
    own teardown (the cgroups, the monitor cgroup) that wait costs no time of its own.
    The thread marks the records ``undone``: read or save them only after the wait.
    ``container_netns_fd`` stays the caller's (the thread works on a duplicate)."""
    if not any(not r.get("undone") for r in records):
        return _nothing
    import _thread

    from lxcpy.net._netlink import load
    from lxcpy.net.host import host_teardown as impl

    try:
        load()  # every import in the caller's thread: none left half-done if it forks
    except Exception:
        impl(records, container_netns_fd)  # warns, never raises
        return _nothing
    fd = os.dup(container_netns_fd) if container_netns_fd is not None else None
    done = _thread.allocate_lock()
    done.acquire()

    def run() -> None:
        try:
            impl(records, fd)
        except BaseException as exc:  # never raises; a bug must not lose the wait
            from lxcpy.log import log

            log.warning("network teardown: %s", exc)
        finally:
            if fd is not None:
                os.close(fd)
            done.release()

    _thread.start_new_thread(run, ())

    def wait() -> None:
        done.acquire()
        done.release()

    return wait


def _nothing() -> None:
    return None


def recover(records: list[Record]) -> None:
    """After a killed supervisor: delete host-side devices still listed. Never raises."""
    from lxcpy.net.host import recover as impl

    impl(records)


def addresses_of(pid: int) -> tuple[list[str], list[str]]:
    """(IPv4, IPv6) global addresses in the netns of ``pid``; no lo, no link-local."""
    from lxcpy.net.query import addresses_of as impl

    return impl(pid)


def interfaces_of(pid: int) -> list[str]:
    """Interface names in the netns of ``pid``."""
    from lxcpy.net.query import interfaces_of as impl

    return impl(pid)


def needs_netlink(networks: list[NetConfig]) -> bool:
    """True if setting up ``networks`` talks netlink: a device to make, or lo to bring up."""
    if all(n.type == "none" or (n.type == "empty" and not n.up) for n in networks):
        return False  # answered without importing names (random, ...: ~2 ms of a start)
    from lxcpy.net.names import MOVED_TYPES

    return any(n.type in MOVED_TYPES or (n.up and n.type != "none") for n in networks)


def preload(networks: list[NetConfig] | None = None) -> None:
    """Import the netlink library now (e.g. before forking the container's init, which then
    inherits it instead of paying the import again). With ``networks``: only if needed.
    Only for a process whose other threads import nothing meanwhile (``_netlink.load``)."""
    if networks is not None and not needs_netlink(networks):
        return
    from lxcpy.net._netlink import load

    # shielded: the caller (the supervisor) has no other thread that imports meanwhile
    load(shield=True)


__all__ = ["host_setup", "inside_setup", "run_scripts", "host_teardown",
           "host_teardown_begin", "recover",
           "addresses_of", "interfaces_of", "needs_netlink", "preload", "Record"]
