"""The host side: create the devices, hand them to the container, take them back.

Devices are created *directly* in the container's network namespace where the kernel
allows it (a veth's peer, macvlan, vlan): nothing of the container's half ever exists on
the host, so a crash can leave at most a veth's host end behind. Only phys devices are
moved, because they exist already.

Each network type is one row of ``TYPES`` (LXC's ``netdev_ops`` table in network.c):
how it is set up, taken back inside the container, taken back on the host, and recovered
after a killed supervisor. Work inside the container's netns goes through a netlink socket
opened there (``nsexec.iproute_in``); this process never leaves its own netns.
"""

from __future__ import annotations

import _socket  # not socket: enum, selectors (~3 ms of a veth start)
import errno
import os
from collections.abc import Callable

from lxcpy.errors import NetworkError
from lxcpy.net import _netlink as nl
from lxcpy.net.names import default_names, error, host_mac, random_name
from lxcpy.net.nsexec import iproute_in

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from typing import Any

    from lxcpy.config.model import NetConfig

MACVLAN_MODES = ("private", "vepa", "bridge", "passthru")
Record = dict[str, "Any"]  # "Any": typing is not imported at run time


def _log() -> Any:
    from lxcpy.log import log

    return log


# --------------------------------------------------------------------------- set up


def host_setup(networks: list[NetConfig], container_pid: int, container_name: str,
               record: Callable[[Record], None]) -> list[Record]:
    for net in networks:
        if net.type not in TYPES:
            raise error(net, f"unknown network type '{net.type}'")
    devices = [n for n in networks if TYPES[str(n.type)].setup is not None]
    if not devices:
        return []
    ns_fd = _open_container_netns(container_pid)
    made: list[Record] = []
    try:
        Rtnl, _ = nl.load()
        names = default_names(networks)
        try:
            with Rtnl() as ipr:
                for net in devices:
                    setup = TYPES[str(net.type)].setup
                    assert setup is not None
                    setup(ipr, net, ns_fd, names[net.index], record, made)
        except BaseException:
            _undo(made, ns_fd)
            raise
    finally:
        os.close(ns_fd)
    return made


def _open_container_netns(pid: int) -> int:
    try:
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetworkError(f"network of container process {pid}: {exc.strerror}") from None
    here, there = os.stat("/proc/self/ns/net"), os.fstat(fd)
    if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
        os.close(fd)  # moving "into" our own netns would hand the host's devices over
        raise NetworkError(f"container process {pid} has no network namespace of its own")
    return fd


def _new_record(net: NetConfig, name: str, host: str | None, temp: str) -> Record:
    return {"index": net.index, "type": net.type, "host": host, "temp": temp, "name": name,
            "link": net.link, "gateway4": None, "gateway6": None}


def _created(ipr: Any, net: NetConfig, rec: Record, made: list[Record],
             record: Callable[[Record], None], create: Callable[[], None],
             what: str) -> None:
    """Record ``rec`` first (a crash must find it), then create the device.

    A refusal by the kernel means nothing was made: the record is marked ``undone`` so no
    later teardown deletes a same-named device that belongs to someone else.
    """
    record(rec)
    made.append(rec)
    _, NetlinkError = nl.load()
    try:
        create()
    except NetlinkError as exc:
        rec["undone"] = True
        raise error(net, f"{what}: {nl.strerror(exc)}") from None


def _auto_gateways(ipr: Any, net: NetConfig, rec: Record, index: int | None) -> None:
    """``gateway = auto``: the first address of the bridge (veth) or link (macvlan, vlan)."""
    for key, family, fam_name in (("gateway4", _socket.AF_INET, "IPv4"),
                                  ("gateway6", _socket.AF_INET6, "IPv6")):
        wanted = net.ipv4_gateway if family == _socket.AF_INET else net.ipv6_gateway
        if wanted != "auto":
            continue
        if index is None:
            raise error(net, f"{'ipv4' if key == 'gateway4' else 'ipv6'}.gateway = auto "
                             "needs a bridge or link")
        rec[key] = nl.first_address(ipr, index, family)
        if rec[key] is None:
            raise error(net, f"{'ipv4' if key == 'gateway4' else 'ipv6'}.gateway = auto: "
                             f"'{net.link}' has no {fam_name} address")


def _free_name(ipr: Any, prefix: str) -> str:
    for _ in range(100):
        name = random_name(prefix)
        if nl.get_link(ipr, name) is None:
            return name
    raise NetworkError(f"no free interface name {prefix}XXXXXX")


def _setup_veth(ipr: Any, net: NetConfig, ns_fd: int, name: str,
                record: Callable[[Record], None], made: list[Record]) -> None:
    bridge: int | None = None
    mtu = net.mtu
    if net.link:
        if net.veth_mode == "router":
            raise error(net, "veth.mode = router takes no link")
        link = nl.get_link(ipr, net.link)
        if link is None:
            raise error(net, f"bridge '{net.link}' does not exist")
        if nl.kind_of(link) != "bridge":
            raise error(net, f"'{net.link}' is not a bridge")
        bridge = link["index"]
        if mtu is None:
            # a port with a smaller MTU would lower the bridge's own MTU: match it
            mtu = link.get("mtu")
    if net.veth_pair:
        host = net.veth_pair
        # checked before recording: the record of a name we never got must not exist
        if nl.get_link(ipr, host) is not None:
            raise error(net, f"cannot create '{host}': {os.strerror(errno.EEXIST)}")
    else:
        host = _free_name(ipr, "veth")
    rec = _new_record(net, name, host, random_name("veth"))
    _auto_gateways(ipr, net, rec, bridge)

    peer: dict[str, Any] = {"ifname": rec["temp"], "net_ns_fd": ns_fd}
    spec: dict[str, Any] = {"ifname": host, "kind": "veth", "address": host_mac(),
                            "state": "up", "peer": peer}
    if mtu:
        spec["mtu"] = peer["mtu"] = mtu
    if bridge is not None:
        spec["master"] = bridge
    # one request: pair, fe: MAC, bridge port, MTU and UP on the host end, and the peer
    # born inside the container's namespace under its temporary name
    _created(ipr, net, rec, made, record, lambda: ipr.link("add", **spec),
             f"cannot create '{host}'")
    if net.veth_mode == "router":
        _router_routes(ipr, net, host)


def _router_routes(ipr: Any, net: NetConfig, host: str) -> None:
    """veth.mode = router: host routes to the container's addresses via the host end."""
    _, NetlinkError = nl.load()
    link = nl.get_link(ipr, host)
    if link is None:
        raise error(net, f"'{host}' is gone right after it was made")
    index = link["index"]
    try:
        for a4 in net.ipv4:
            ipr.route("add", dst=f"{a4.interface.ip}/32", oif=index, scope=253)
        for a6 in net.ipv6:
            ipr.route("add", dst=f"{a6.ip}/128", oif=index, family=_socket.AF_INET6)
    except NetlinkError as exc:
        raise error(net, f"cannot add the host route for veth.mode = router: "
                         f"{nl.strerror(exc)}") from None


def _lower(ipr: Any, net: NetConfig) -> Any:
    if not net.link:
        raise error(net, "no link given")
    link = nl.get_link(ipr, net.link)
    if link is None:
        raise error(net, f"link '{net.link}' does not exist")
    return link


def _setup_macvlan(ipr: Any, net: NetConfig, ns_fd: int, name: str,
                   record: Callable[[Record], None], made: list[Record]) -> None:
    mode = net.macvlan_mode or "private"
    if mode not in MACVLAN_MODES:
        raise error(net, f"unknown macvlan.mode '{mode}'")
    lower = _lower(ipr, net)
    rec = _new_record(net, name, None, random_name("mc"))
    _auto_gateways(ipr, net, rec, lower["index"])
    _created(ipr, net, rec, made, record,
             lambda: ipr.link("add", ifname=rec["temp"], kind="macvlan", link=lower["index"],
                              macvlan_mode=mode, net_ns_fd=ns_fd),
             f"cannot create a macvlan on '{net.link}'")


def _setup_vlan(ipr: Any, net: NetConfig, ns_fd: int, name: str,
                record: Callable[[Record], None], made: list[Record]) -> None:
    if net.vlan_id is None:
        raise error(net, "no vlan.id given")
    lower = _lower(ipr, net)
    rec = _new_record(net, name, None, random_name("vlan"))
    _auto_gateways(ipr, net, rec, lower["index"])
    _created(ipr, net, rec, made, record,
             lambda: ipr.link("add", ifname=rec["temp"], kind="vlan", link=lower["index"],
                              vlan_id=net.vlan_id, net_ns_fd=ns_fd),
             f"cannot create vlan {net.vlan_id} on '{net.link}'")


def _setup_phys(ipr: Any, net: NetConfig, ns_fd: int, name: str,
                record: Callable[[Record], None], made: list[Record]) -> None:
    if not net.link:
        raise error(net, "no link given")
    dev = nl.get_link(ipr, net.link)
    if dev is None:
        raise error(net, f"device '{net.link}' does not exist")
    rec = _new_record(net, name, net.link, random_name("phys"))
    # what teardown restores when the device comes back
    rec["mtu"], rec["hwaddr"] = dev.get("mtu"), dev.get("address")
    _created(ipr, net, rec, made, record,
             lambda: ipr.link("set", index=dev["index"], net_ns_fd=ns_fd, ifname=rec["temp"]),
             f"cannot move '{net.link}' into the container")


def _undo(made: list[Record], ns_fd: int) -> None:
    """Take back what a failed host_setup made; failures here only get logged."""
    warnings = _take_back(made, ns_fd)
    for text in warnings:
        _log().warning("%s", text)


# --------------------------------------------------------------------------- tear down


def host_teardown(records: list[Record], container_netns_fd: int | None) -> None:
    for text in _take_back(records, container_netns_fd):
        _log().warning("%s", text)


def _take_back(records: list[Record], ns_fd: int | None) -> list[str]:
    """Return phys devices, delete what we created; mark each record ``undone``.

    Inside-the-container work (phys back to this netns, macvlan/vlan deleted at once
    rather than whenever the dying netns gets cleaned up) goes through a socket in
    ``ns_fd``'s netns. Returns warning lines; never raises.
    """
    live = [r for r in records if not r.get("undone") and r.get("type") in TYPES]
    warnings: list[str] = []
    inside = [r for r in live if TYPES[r["type"]].inside_down is not None]
    if inside and ns_fd is not None:
        try:
            host_ns = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                with iproute_in(ns_fd) as ipr:
                    warnings += _inside_take_back(ipr, inside, host_ns)
            finally:
                os.close(host_ns)
        except Exception as exc:
            warnings.append(f"network teardown in the container: {_text(exc)}")
    if not live:
        return warnings
    try:
        Rtnl, _ = nl.load()
        with Rtnl() as ipr:
            for rec in live:
                host_down = TYPES[rec["type"]].host_down
                try:
                    if host_down is not None:
                        host_down(ipr, rec, ns_fd is not None)
                    rec["undone"] = True
                except Exception as exc:
                    warnings.append(f"{_rec_label(rec)}: {nl.strerror(exc)}")
    except Exception as exc:
        warnings.append(f"network teardown: {nl.strerror(exc)}")
    return warnings


def _text(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) else nl.strerror(exc)


def _rec_label(rec: Record) -> str:
    return f"net.{rec.get('index')} ({rec.get('type')})"


def _inside_take_back(ipr: Any, records: list[Record], host_ns: int) -> list[str]:
    """Through ``ipr`` (a socket in the container's netns): each type's ``inside_down``."""
    _, NetlinkError = nl.load()
    warnings: list[str] = []
    for rec in records:
        # the device carries its temporary name until inside_setup renamed it
        dev = nl.get_link(ipr, rec["temp"]) or nl.get_link(ipr, rec["name"])
        if dev is None:
            continue
        inside_down = TYPES[rec["type"]].inside_down
        assert inside_down is not None
        try:
            note = inside_down(ipr, rec, dev, host_ns)
            if note:
                warnings.append(f"{_rec_label(rec)}: {note}")
        except NetlinkError as exc:
            warnings.append(f"{_rec_label(rec)}: cannot take back "
                            f"'{dev.get('ifname')}': {nl.strerror(exc)}")
    return warnings


def _phys_inside_down(ipr: Any, rec: Record, dev: Any, host_ns: int) -> str | None:
    """phys: down, then back to ``host_ns`` under its host name (or the one it has)."""
    _, NetlinkError = nl.load()
    ipr.link("set", index=dev["index"], state="down")
    try:
        ipr.link("set", index=dev["index"], net_ns_fd=host_ns, ifname=rec["host"])
    except NetlinkError as exc:
        if nl.code_of(exc) != errno.EEXIST:
            raise
        # its name was taken meanwhile: bring it home under the one it has
        ipr.link("set", index=dev["index"], net_ns_fd=host_ns)
        note = f"'{rec['host']}' exists, device returned as '{dev.get('ifname')}'"
        rec["host"] = str(dev.get("ifname"))
        return note
    return None


def _delete_inside(ipr: Any, rec: Record, dev: Any, host_ns: int) -> str | None:
    """macvlan, vlan: deleted now, not whenever the dying netns gets cleaned up."""
    ipr.link("del", index=dev["index"])
    return None


def _veth_host_down(ipr: Any, rec: Record, container_side_done: bool) -> None:
    # explicit, as C LXC: the kernel deletes the pair only asynchronously after the netns
    # died, and the name must be free when we return. By name, no lookup first: gone is
    # fine (the netns's cleanup may have been first)
    _, NetlinkError = nl.load()
    try:
        ipr.link("del", ifname=rec["host"])
    except NetlinkError as exc:
        if nl.code_of(exc) not in (errno.ENODEV, errno.ENOENT):
            raise


def _phys_host_down(ipr: Any, rec: Record, container_side_done: bool) -> None:
    """phys, back home: the MTU and MAC it had before the container, no addresses."""
    if not container_side_done:
        return
    dev = nl.get_link(ipr, rec["host"])
    if dev is None:
        return  # not back: the warning came from the container side
    changes: dict[str, Any] = {}
    if rec.get("mtu") and dev.get("mtu") != rec["mtu"]:
        changes["mtu"] = rec["mtu"]
    if rec.get("hwaddr") and dev.get("address") != rec["hwaddr"]:
        changes["address"] = rec["hwaddr"]
    if changes:
        ipr.link("set", index=dev["index"], **changes)
    # the move flushed them already; a flush keeps "no addresses" true regardless
    ipr.flush_addr(index=dev["index"])


# --------------------------------------------------------------------------- recovery


def recover(records: list[Record]) -> None:
    """After a killed supervisor: delete the host ends still around. Never raises.

    macvlan/vlan have no ``recover``: they were born in the container's netns and died
    with it."""
    live = [r for r in records if not r.get("undone") and r.get("type") in TYPES]
    if not any(TYPES[r["type"]].recover is not None for r in live):
        return
    try:
        Rtnl, _ = nl.load()
        with Rtnl() as ipr:
            for rec in live:
                recover_one = TYPES[rec["type"]].recover
                try:
                    if recover_one is not None and rec.get("host"):
                        recover_one(ipr, rec)
                    rec["undone"] = True
                except Exception as exc:
                    _log().warning("recovery: %s: %s", _rec_label(rec), nl.strerror(exc))
    except Exception as exc:
        _log().warning("recovery: network devices: %s", nl.strerror(exc))


def _veth_recover(ipr: Any, rec: Record) -> None:
    link = nl.get_link(ipr, rec["host"])
    # only a veth whose peer is in another netns can be ours: a name reused by a
    # pair living wholly on the host is someone else's
    if link is not None and nl.kind_of(link) == "veth" \
            and link.get("link_netnsid") is not None:
        nl.delete_link(ipr, rec["host"])


def _phys_recover(ipr: Any, rec: Record) -> None:
    if nl.get_link(ipr, rec["host"]) is None:
        _log().warning("recovery: %s: device '%s' did not come back under its name "
                       "(a dying netns returns real devices to the initial netns)",
                       _rec_label(rec), rec["host"])


# --------------------------------------------------------------------------- the table


class NetType:
    """One network type's part in each phase; None: nothing to do in that phase.

    setup(ipr, net, ns_fd, name, record, made)      on the host, before the container runs
    inside_down(ipr_inside, rec, dev, host_ns)      in the container's netns at teardown;
                                                    returns a warning text or None
    host_down(ipr, rec, container_side_done)        on the host at teardown
    recover(ipr, rec)                               on the host after a killed supervisor
    """

    __slots__ = ("setup", "inside_down", "host_down", "recover")

    def __init__(self, setup: Callable[..., None] | None = None,
                 inside_down: Callable[..., str | None] | None = None,
                 host_down: Callable[..., None] | None = None,
                 recover: Callable[..., None] | None = None) -> None:
        self.setup, self.inside_down = setup, inside_down
        self.host_down, self.recover = host_down, recover


TYPES: dict[str, NetType] = {
    "veth": NetType(_setup_veth, None, _veth_host_down, _veth_recover),
    "macvlan": NetType(_setup_macvlan, _delete_inside),
    "vlan": NetType(_setup_vlan, _delete_inside),
    "phys": NetType(_setup_phys, _phys_inside_down, _phys_host_down, _phys_recover),
    "empty": NetType(),  # a netns with lo only: nothing on the host side
    "none": NetType(),  # the host's netns: nothing to make
}
