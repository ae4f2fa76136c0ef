"""Pure helpers of the network layer: names, MACs, broadcasts, error lines. No netlink here."""

from __future__ import annotations

import os

from lxcpy.errors import NetworkError

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from lxcpy.config.model import IPv4Address, NetConfig

IFNAMSIZ = 16  # kernel limit including the NUL: names have at most 15 bytes
# spelled out: `string` imports re, `random` math, bisect, hashlib's sha512 (~2 ms a start)
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# Types whose device ends up inside the container (and is renamed there).
MOVED_TYPES = ("veth", "macvlan", "phys", "vlan")



def random_suffix(length: int = 6) -> str:
    # the kernel's generator, never a state a forked process inherits: a supervisor and
    # its children must not draw the same "random" names. Bytes >= 248 are redrawn so
    # that each of the 62 characters is equally likely (248 = 4 * 62).
    out: list[str] = []
    while len(out) < length:
        out += [ALNUM[b % 62] for b in os.urandom(length) if b < 248]
    return "".join(out[:length])


def random_name(prefix: str) -> str:
    """LXC's pattern: ``veth`` + 6 characters from [A-Za-z0-9] (``mc`` for macvlan...)."""
    name = prefix + random_suffix()
    assert len(name) < IFNAMSIZ
    return name


def host_mac() -> str:
    """A random unicast, locally administered MAC starting with ``fe:`` like LXC's host ends.

    A bridge takes the lowest MAC of its ports unless one was set on it: starting with
    the highest first byte keeps a container's veth from changing the bridge's address.
    """
    return "fe:" + ":".join(f"{b:02x}" for b in os.urandom(5))


def broadcast_of(addr: IPv4Address) -> str | None:
    """The broadcast to configure: the explicit one, else the network's last address.

    LXC computes ``0.0.0.255`` for a /24 (a bug); iproute2's ``brd +`` gives the right one.
    /31 (RFC 3021 point-to-point) and /32 networks have no broadcast.
    """
    if addr.broadcast is not None:
        return str(addr.broadcast)
    net = addr.interface.network
    if net.prefixlen >= 31:
        return None
    return str(net.broadcast_address)


def default_names(networks: list[NetConfig]) -> dict[int, str]:
    """The name each moved interface gets in the container, keyed by ``NetConfig.index``.

    An explicit ``name`` wins; phys keeps its host name; the others get ``ethN`` in
    config order with the lowest N not used by any explicit (or phys) name, so an
    unnamed interface never takes a name another interface asks for.
    """
    taken = {n.name for n in networks if n.type in MOVED_TYPES and n.name}
    taken |= {n.link for n in networks if n.type == "phys" and not n.name and n.link}
    names: dict[int, str] = {}
    counter = 0
    for net in networks:
        if net.type not in MOVED_TYPES:
            continue
        if net.name:
            names[net.index] = net.name
        elif net.type == "phys" and net.link:
            names[net.index] = net.link
        else:
            while f"eth{counter}" in taken:
                counter += 1
            names[net.index] = f"eth{counter}"
            taken.add(names[net.index])
    return names


def label(net: NetConfig) -> str:
    """``net.0 (veth)``: how every error names the interface."""
    return f"net.{net.index} ({net.type or 'no type'})"


def error(net: NetConfig, reason: str) -> NetworkError:
    return NetworkError(f"{label(net)}: {reason}")

