"""What lxc-info / lxc-ls show of a running container's network, without pyroute2.

A netlink socket belongs to the netns of its creator, so the addresses are read through
a socket opened in ``/proc/PID/ns/net`` (``nsexec.netns_socket``: a thread's short setns,
no fork) with one RTM_GETADDR dump. ``import pyroute2`` would cost ~150-200 ms per call
of lxc-info, so the dump is parsed here with struct. Interface names come straight from
``/proc/PID/net/dev``, which shows the netns of PID (no fork at all).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

from lxcpy.errors import LxcError

RTM_NEWADDR, RTM_GETADDR = 20, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFA_ADDRESS, IFA_LOCAL = 1, 2
RT_SCOPE_UNIVERSE = 0
LOOPBACK_IFINDEX = 1  # the kernel registers lo first in every netns
_NLMSGHDR = struct.Struct("=LHHLL")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTATTR = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def dump_addresses(sock: socket.socket | None = None) -> list[tuple[int, int, int, str]]:
    """``(family, scope, ifindex, address)`` of every address in the netns of ``sock`` (a
    NETLINK_ROUTE socket, closed here), by default the caller's."""
    if sock is None:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    with sock:
        sock.bind((0, 0))
        request = _NLMSGHDR.pack(_NLMSGHDR.size + _IFADDRMSG.size, RTM_GETADDR,
                                 NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
        sock.send(request + _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0))
        found: list[tuple[int, int, int, str]] = []
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    return found
                if mtype == NLMSG_DONE:
                    return found
                if mtype == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, offset + _NLMSGHDR.size)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                elif mtype == RTM_NEWADDR:
                    entry = _parse_addr(data, offset + _NLMSGHDR.size, offset + length)
                    if entry is not None:
                        found.append(entry)
                offset += _align(length)


def _parse_addr(data: bytes, start: int, end: int) -> tuple[int, int, int, str] | None:
    family, _prefixlen, _flags, scope, index = _IFADDRMSG.unpack_from(data, start)
    attrs: dict[int, bytes] = {}
    pos = start + _IFADDRMSG.size
    while pos + _RTATTR.size <= end:
        alen, atype = _RTATTR.unpack_from(data, pos)
        if alen < _RTATTR.size:
            break
        attrs[atype] = data[pos + _RTATTR.size:pos + alen]
        pos += _align(alen)
    # IPv4: IFA_LOCAL is the address, IFA_ADDRESS the peer on point-to-point links
    raw = attrs.get(IFA_LOCAL) if family == socket.AF_INET else None
    raw = raw or attrs.get(IFA_ADDRESS)
    if raw is None or family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return family, scope, index, socket.inet_ntop(family, raw)


def _public(entries: list[tuple[int, int, int, str]]) -> tuple[list[str], list[str]]:
    ipv4: list[str] = []
    ipv6: list[str] = []
    for family, scope, index, text in sorted(entries, key=lambda e: e[2]):  # by interface
        addr = ipaddress.ip_address(text)
        if scope != RT_SCOPE_UNIVERSE or index == LOOPBACK_IFINDEX:
            continue
        if addr.is_loopback or addr.is_link_local:
            continue
        (ipv4 if family == socket.AF_INET else ipv6).append(text)
    return ipv4, ipv6


def addresses_of(pid: int) -> tuple[list[str], list[str]]:
    """IPv4 and IPv6 addresses of the netns of ``pid``: global scope, no lo, no link-local."""
    from lxcpy.net.nsexec import netns_socket

    try:
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return [], []  # the process is gone: it has no addresses any more
    try:
        entries = dump_addresses(netns_socket(fd, kind=socket.SOCK_RAW))
    except (LxcError, OSError):
        return [], []
    finally:
        os.close(fd)
    return _public(entries)


def interfaces_of(pid: int) -> list[str]:
    """Interface names in the netns of ``pid`` (registration order, lo included)."""
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]  # two header lines
    except OSError:
        return []
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line]


def addresses_with_names(pid: int) -> list[tuple[int, int, str, str]]:
    """``(family, ifindex, ifname, address)`` of every address in the netns of ``pid``
    (lo and any scope included, in the kernel's order), for liblxc's get_ips filters."""
    import fcntl

    from lxcpy.net.nsexec import netns_socket

    try:
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        entries = dump_addresses(netns_socket(fd, kind=socket.SOCK_RAW))
        names: dict[int, str] = {}
        # SIOCGIFNAME (linux/sockios.h) on a socket of that netns: the index's name there
        with netns_socket(fd, socket.AF_INET, socket.SOCK_DGRAM, 0) as sock:
            for _family, _scope, index, _text in entries:
                if index not in names:
                    ifreq = fcntl.ioctl(sock, 0x8910, struct.pack("16si20x", b"", index))
                    names[index] = ifreq[:16].split(b"\0", 1)[0].decode()
    except (LxcError, OSError):
        return []
    finally:
        os.close(fd)
    return [(family, index, names[index], text) for family, _scope, index, text in entries]
