"""The container side: runs in the container's init, inside its new network namespace,
before any mount: names, MACs, MTUs, addresses, links up, loopback, default routes."""

from __future__ import annotations

import _socket  # not socket: enum, selectors (~3 ms of a veth start)
import errno
import ipaddress
from collections.abc import Callable
from functools import partial

from lxcpy.errors import NetworkError
from lxcpy.net import _netlink as nl
from lxcpy.net.names import MOVED_TYPES, broadcast_of, default_names, error

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from typing import Any

    from lxcpy.config.model import NetConfig

RT_SCOPE_LINK = 253
# like LXC, every gateway adds its own default route: a second one per family collides
_ONE_DEFAULT = "another interface has set the default route already"


def inside_setup(networks: list[NetConfig], records: list[dict[str, Any]]) -> None:
    devices = [n for n in networks if n.type in MOVED_TYPES]
    # LXC: "If the network is set up, the loopback is automatically set up too"
    want_lo = any(n.up for n in networks if n.type != "none")
    if not devices and not want_lo:
        return  # no device, lo stays down: no need to pay for pyroute2
    by_index = {r["index"]: r for r in records if not r.get("undone")}
    names = default_names(networks)
    Rtnl, _ = nl.load()
    with Rtnl() as ipr:
        indexes: dict[int, int] = {}
        for net in devices:
            rec = by_index.get(net.index)
            if rec is None:
                raise error(net, "no device was prepared for it on the host side")
            indexes[net.index] = _configure(ipr, net, rec, names[net.index])
        if want_lo:
            lo = nl.get_link(ipr, "lo")
            if lo is not None:
                _step(None, lambda: ipr.link("set", index=lo["index"], state="up"),
                      "cannot bring up lo")
        # routes last: a default route needs its device up and its addresses in place
        for net in devices:
            _gateways(ipr, net, by_index[net.index], indexes[net.index])


def _step(net: NetConfig | None, action: Callable[[], Any], what: str,
          exists: str | None = None) -> None:
    """One netlink request; the kernel's refusal becomes a NetworkError naming ``net``.

    ``exists``: what to add to the reason when the kernel says EEXIST.
    """
    _, NetlinkError = nl.load()
    try:
        action()
    except NetlinkError as exc:
        reason = nl.strerror(exc)
        if exists and nl.code_of(exc) == errno.EEXIST:
            reason += f" ({exists})"
        if net is None:
            raise NetworkError(f"{what}: {reason}") from None
        raise error(net, f"{what}: {reason}") from None


def _configure(ipr: Any, net: NetConfig, rec: dict[str, Any], name: str) -> int:
    dev = nl.get_link(ipr, rec["temp"])
    if dev is None:
        raise error(net, f"device '{rec['temp']}' is not in the container")
    index = int(dev["index"])
    if name != rec["temp"]:
        _step(net, lambda: ipr.link("set", index=index, ifname=name),
              f"cannot rename to '{name}'")
    if net.hwaddr:
        _step(net, lambda: ipr.link("set", index=index, address=net.hwaddr),
              f"cannot set hwaddr {net.hwaddr}")
    if net.mtu and dev.get("mtu") != net.mtu:
        _step(net, lambda: ipr.link("set", index=index, mtu=net.mtu),
              f"cannot set mtu {net.mtu}")
    for a4 in net.ipv4:
        spec: dict[str, Any] = {"index": index, "address": str(a4.interface.ip),
                                "prefixlen": a4.interface.network.prefixlen}
        brd = broadcast_of(a4)
        if brd is not None:
            spec["broadcast"] = brd
        _step(net, partial(ipr.addr, "add", **spec),
              f"cannot add address {a4.interface}")
    for a6 in net.ipv6:
        _step(net, partial(ipr.addr, "add", index=index, address=str(a6.ip),
                           prefixlen=a6.network.prefixlen, family=_socket.AF_INET6),
              f"cannot add address {a6}")
    if net.up:
        _step(net, lambda: ipr.link("set", index=index, state="up"),
              f"cannot bring up '{name}'")
    return index


def _gateways(ipr: Any, net: NetConfig, rec: dict[str, Any], index: int) -> None:
    for version, wanted, resolved, nets in (
        (4, net.ipv4_gateway, rec.get("gateway4"), [a.interface.network for a in net.ipv4]),
        (6, net.ipv6_gateway, rec.get("gateway6"), [a.network for a in net.ipv6]),
    ):
        if not wanted:
            continue
        key = f"ipv{version}.gateway"
        if not net.up:
            # LXC refuses too: a route needs its device up
            raise error(net, f"{key} needs flags = up")
        family = _socket.AF_INET if version == 4 else _socket.AF_INET6
        default = "0.0.0.0/0" if version == 4 else "::/0"
        # IPv4 routes without a gateway must say they are on-link; IPv6 has no scopes
        onlink: dict[str, Any] = {"scope": RT_SCOPE_LINK} if version == 4 else {}
        if wanted == "dev":
            _step(net, partial(ipr.route, "add", dst=default, oif=index, family=family,
                               **onlink),
                f"cannot add the default route on the device ({key} = dev)", _ONE_DEFAULT)
            continue
        text = resolved if wanted == "auto" else wanted
        try:
            gw = ipaddress.ip_address(str(text))
        except ValueError:
            raise error(net, f"{key}: '{text}' is not an address") from None
        if gw.version != version:
            raise error(net, f"{key}: '{gw}' is not an IPv{version} address")
        if not gw.is_link_local and not any(gw in n for n in nets):
            # like LXC: a gateway outside every local prefix gets an on-link host route
            host = f"{gw}/{32 if version == 4 else 128}"
            _step(net, partial(ipr.route, "add", dst=host, oif=index, family=family,
                               **onlink),
                f"cannot add the route to gateway {gw}")
        _step(net, partial(ipr.route, "add", dst=default, gateway=str(gw), oif=index,
                           family=family),
            f"cannot add the default route via {gw}", _ONE_DEFAULT)
