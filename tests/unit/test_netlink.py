"""lxcpy.net._netlink: the rtnetlink client on pyroute2's message classes.

The encoders are checked byte for byte against the kernel's structures (packed here with
struct); the client against the real kernel, through a socket in a fresh network namespace
of its own (a child of ``unshare --net``), so nothing here touches the caller's netns."""

from __future__ import annotations

import errno
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lxcpy.net import _netlink as nl
from lxcpy.net.nsexec import netns_socket

Rtnl, NetlinkError = nl.load()
root = pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace needs root")


def _nla(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def _encoded(msg: object, mtype: int, flags: int) -> bytes:
    msg["header"] = {"type": mtype, "flags": flags, "sequence_number": 7, "pid": 0}  # type: ignore[index]
    msg.encode()  # type: ignore[attr-defined]
    return bytes(msg.data)  # type: ignore[attr-defined]


def _nlmsg(mtype: int, flags: int, body: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(body), mtype, flags, 7, 0) + body


# --------------------------------------------------------------------------- encoding


def test_veth_with_its_peer_in_another_netns_is_one_request() -> None:
    msg = nl.link_message({"ifname": "vh0", "kind": "veth", "state": "up", "mtu": 1400,
                           "master": 5, "address": "fe:01:02:03:04:05",
                           "peer": {"ifname": "vp0", "net_ns_fd": 9, "mtu": 1400}})
    flags = nl.NLM_F_REQUEST | nl.NLM_F_ACK | nl.NLM_F_CREATE | nl.NLM_F_EXCL
    IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO = 1, 3, 4, 10, 18
    IFLA_NET_NS_FD, IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 28, 1, 2, 1
    peer = (struct.pack("=BxHiII", 0, 0, 0, 0, 0) + _nla(IFLA_IFNAME, b"vp0\0")
            + _nla(IFLA_NET_NS_FD, struct.pack("=I", 9)) + _nla(IFLA_MTU, struct.pack("=I", 1400)))
    linkinfo = _nla(IFLA_INFO_KIND, b"veth\0") + _nla(IFLA_INFO_DATA, _nla(VETH_INFO_PEER, peer))
    body = (struct.pack("=BxHiII", 0, 0, 0, nl.IFF_UP, nl.IFF_UP)
            + _nla(IFLA_IFNAME, b"vh0\0") + _nla(IFLA_MTU, struct.pack("=I", 1400))
            + _nla(IFLA_MASTER, struct.pack("=I", 5))
            + _nla(IFLA_ADDRESS, bytes.fromhex("fe0102030405"))
            + _nla(IFLA_LINKINFO, linkinfo))
    assert _encoded(msg, nl.RTM_NEWLINK, flags) == _nlmsg(nl.RTM_NEWLINK, flags, body)


def test_set_down_clears_iff_up_in_the_change_mask_only() -> None:
    msg = nl.link_message({"index": 4, "state": "down"})
    body = struct.pack("=BxHiII", 0, 0, 4, 0, nl.IFF_UP)
    assert _encoded(msg, nl.RTM_NEWLINK, 5) == _nlmsg(nl.RTM_NEWLINK, 5, body)


def test_macvlan_mode_and_vlan_id_go_into_the_kinds_info_data() -> None:
    macvlan = nl.link_message({"ifname": "m", "kind": "macvlan", "link": 2,
                               "macvlan_mode": "bridge"})
    raw = _encoded(macvlan, nl.RTM_NEWLINK, 1)
    # IFLA_INFO_DATA { IFLA_MACVLAN_MODE = MACVLAN_MODE_BRIDGE (4) }
    assert _nla(2, _nla(1, struct.pack("=I", 4))) in raw
    vlan = nl.link_message({"ifname": "v", "kind": "vlan", "link": 2, "vlan_id": 7})
    assert _nla(2, _nla(1, struct.pack("=H", 7))) in _encoded(vlan, nl.RTM_NEWLINK, 1)


def test_an_ipv4_address_carries_ifa_local_and_ipv6_does_not() -> None:
    v4 = _encoded(nl.addr_message({"index": 3, "address": "10.1.2.3", "prefixlen": 24,
                                   "broadcast": "10.1.2.255"}), nl.RTM_NEWADDR, 1)
    IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
    ip = socket.inet_aton
    assert v4 == _nlmsg(nl.RTM_NEWADDR, 1, struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 3)
                        + _nla(IFA_ADDRESS, ip("10.1.2.3")) + _nla(IFA_BROADCAST, ip("10.1.2.255"))
                        + _nla(IFA_LOCAL, ip("10.1.2.3")))
    v6 = _encoded(nl.addr_message({"index": 3, "address": "fd00::1", "prefixlen": 64}),
                  nl.RTM_NEWADDR, 1)
    assert v6 == _nlmsg(nl.RTM_NEWADDR, 1, struct.pack("=BBBBI", socket.AF_INET6, 64, 0, 0, 3)
                        + _nla(IFA_ADDRESS, socket.inet_pton(socket.AF_INET6, "fd00::1")))


def test_a_default_route_has_no_destination_attribute() -> None:
    RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5
    raw = _encoded(nl.route_message({"dst": "0.0.0.0/0", "gateway": "10.0.0.1", "oif": 2}),
                   nl.RTM_NEWROUTE, 1)
    head = struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, nl.RT_TABLE_MAIN,
                       nl.RTPROT_STATIC, 0, nl.RTN_UNICAST, 0)
    assert raw == _nlmsg(nl.RTM_NEWROUTE, 1, head + _nla(RTA_GATEWAY, socket.inet_aton("10.0.0.1"))
                         + _nla(RTA_OIF, struct.pack("=I", 2)))
    host6 = _encoded(nl.route_message({"dst": "fd00::9/128", "oif": 2, "family": socket.AF_INET6}),
                     nl.RTM_NEWROUTE, 1)
    assert _nla(RTA_DST, socket.inet_pton(socket.AF_INET6, "fd00::9")) in host6
    assert host6[16:18] == bytes([socket.AF_INET6, 128])


def test_an_unknown_key_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(TypeError, match="frobnicate"):
        nl.link_message({"ifname": "x", "frobnicate": 1})
    with pytest.raises(TypeError, match="peer"):
        nl.link_message({"ifname": "x", "kind": "macvlan", "peer": "y"})
    with pytest.raises(TypeError, match="metric"):
        nl.route_message({"dst": "10.0.0.0/8", "metric": 5})


def test_loading_the_client_imports_neither_iproute_nor_asyncio() -> None:
    code = ("import sys\nfrom lxcpy.net import _netlink as nl\nnl.load()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'asyncio'"
            " or m.startswith(('pyroute2.iproute', 'pyroute2.ndb', 'pyroute2.netlink.core'))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


# a fresh interpreter: encodes a request of each kind and decodes a dump of this netns's
# links and addresses (any user may dump), prints the lot; PRE is imported first
_ROUND_TRIP = """
import sys
sys.path[:0] = {path!r}
{pre}
from lxcpy.net import _netlink as nl
Rtnl, NetlinkError = nl.load(shield={shield})
out = []
for msg, mtype, flags in (
        (nl.link_message({{"ifname": "vh0", "kind": "veth", "state": "up", "mtu": 1400,
                          "peer": {{"ifname": "vp0", "net_ns_fd": 9}}}}), 16, 0x605),
        (nl.link_message({{"ifname": "m0", "kind": "macvlan", "link": 2,
                          "macvlan_mode": "bridge"}}), 16, 0x605),
        (nl.addr_message({{"index": 2, "address": "10.0.0.2", "prefixlen": 24,
                          "broadcast": "10.0.0.255"}}), 20, 0x605),
        (nl.route_message({{"dst": "0.0.0.0/0", "gateway": "10.0.0.1", "oif": 2}}), 24, 0x605)):
    msg["header"] = {{"type": mtype, "flags": flags, "sequence_number": 1, "pid": 0}}
    msg.encode()
    out.append(bytes(msg.data).hex())
with Rtnl() as ipr:
    for link in ipr.get_links():
        out.append(repr(sorted((k, v) for k, v in link.items() if k != "header")))
    for addr in ipr.get_addr():
        out.append(repr(sorted((k, v) for k, v in addr.items() if k != "header")))
    try:
        ipr.link("get", ifname="no-such-link")
    except NetlinkError as exc:
        out.append(repr(exc.code))
out.append(" ".join(sorted(m for m in ("typing", "logging", "traceback", "pkgutil", "re",
                                       "socket", "enum", "multiprocessing", "platform")
                           if m in sys.modules)))
import logging, socket, typing, pyroute2.config, pyroute2.netlink
from pyroute2.netlink.rtnl import ifinfmsg
from pyroute2 import IPRoute  # the whole package, run into the lazy one on demand
out.append(repr((typing.Union, logging.getLogger.__module__, pyroute2.config.kernel != [],
                 ifinfmsg.log.name, "multiprocessing" in sys.modules, socket.AF_INET,
                 IPRoute.__name__, pyroute2.__spec__.name, pyroute2.config.__file__[-20:])))
print("\\n".join(out))
"""


def _round_trip(pre: str, shield: bool = True) -> list[str]:
    # -I -S: no site, no environment: the modules loaded are the load's own
    path = [str(Path(__file__).resolve().parents[2]), *(p for p in sys.path if p)]
    code = _ROUND_TRIP.format(pre=pre, path=path, shield=shield)
    r = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_the_shielded_import_gives_the_same_messages_and_real_modules_after() -> None:
    # the message modules load with stand-ins for typing, logging, traceback, pkgutil,
    # socket and pyroute2.config; against a process that had the real ones first: the same bytes,
    # the same decoded dumps, the same errors, and the real modules for whoever asks later
    shielded = _round_trip("")
    plain = _round_trip("import typing, logging, traceback, pkgutil, re, socket, pyroute2.config")
    unshielded = _round_trip("", shield=False)  # the default: only the config's stand-in
    assert unshielded[:-2] == plain[:-2] and unshielded[-1] == plain[-1]
    assert unshielded[-2] == "enum logging pkgutil re socket traceback typing"
    assert shielded[:-2] == plain[:-2]
    assert len(shielded) > 6  # links, addresses and the error really were decoded
    assert shielded[-2] == ""  # none of them was imported by the load
    assert plain[-2] == ("enum logging multiprocessing pkgutil platform re socket traceback "
                         "typing")
    assert shielded[-1] == plain[-1]
    assert "typing.Union, 'logging', True" in shielded[-1]
    assert ("'pyroute2.netlink.rtnl.ifinfmsg', True, <AddressFamily.AF_INET: 2>, 'IPRoute', "
            "'pyroute2', '2/config/__init__.py')") in shielded[-1]


# --------------------------------------------------------------------------- the kernel


@pytest.fixture
def new_netns() -> Iterator[Callable[[], int]]:
    """Makes fds of fresh network namespaces (lo down, nothing else), each kept by a child."""
    procs: list[subprocess.Popen[bytes]] = []
    fds: list[int] = []

    def make() -> int:
        proc = subprocess.Popen(["unshare", "--net", "--", "sh", "-c", "echo ready && exec cat"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        fds.append(os.open(f"/proc/{proc.pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC))
        return fds[-1]

    try:
        yield make
    finally:
        for fd in fds:
            os.close(fd)
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.close()  # cat ends, and the netns with it
            proc.wait()


@pytest.fixture
def netns(new_netns: Callable[[], int]) -> int:
    return new_netns()


def _client(ns_fd: int) -> nl.Rtnl:
    return Rtnl(fileno=netns_socket(ns_fd, kind=socket.SOCK_RAW).detach())


@root
def test_links_made_found_changed_and_deleted(netns: int) -> None:
    with _client(netns) as ipr:
        assert [link.get("ifname") for link in ipr.get_links()] == ["lo"]
        ipr.link("add", ifname="br0", kind="bridge")
        bridge = nl.get_link(ipr, "br0")
        assert bridge is not None and nl.kind_of(bridge) == "bridge"
        ipr.link("add", ifname="vh0", kind="veth", state="up", mtu=1400, master=bridge["index"],
                 address="fe:00:00:00:00:01", peer={"ifname": "vp0", "mtu": 1400})
        host, peer = nl.get_link(ipr, "vh0"), nl.get_link(ipr, "vp0")
        assert host is not None and peer is not None
        assert (nl.kind_of(host), host.get("mtu"), host.get("master"), host.get("address"),
                host["flags"] & nl.IFF_UP) == ("veth", 1400, bridge["index"],
                                               "fe:00:00:00:00:01", nl.IFF_UP)
        assert (peer.get("mtu"), peer["flags"] & nl.IFF_UP) == (1400, 0)
        ipr.link("set", index=peer["index"], ifname="eth0", address="02:00:00:00:00:02")
        ipr.link("set", index=peer["index"], state="up")
        assert ipr.link_lookup(ifname="vp0") == []
        renamed = nl.get_link(ipr, "eth0")
        assert renamed is not None and renamed["index"] == peer["index"]
        assert renamed.get("address") == "02:00:00:00:00:02"
        assert renamed["flags"] & nl.IFF_UP
        assert nl.delete_link(ipr, "vh0") is True  # the pair goes together
        assert nl.delete_link(ipr, "vh0") is False
        assert sorted(link.get("ifname") for link in ipr.get_links()) == ["br0", "lo"]


@root
def test_the_kernels_refusal_is_a_netlink_error_with_its_errno(netns: int) -> None:
    with _client(netns) as ipr:
        with pytest.raises(NetlinkError) as missing:
            ipr.link("get", ifname="nothere")
        assert nl.code_of(missing.value) == errno.ENODEV
        assert nl.strerror(missing.value) == os.strerror(errno.ENODEV)
        with pytest.raises(NetlinkError) as taken:
            ipr.link("add", ifname="lo", kind="bridge")
        assert nl.code_of(taken.value) == errno.EEXIST
        with pytest.raises(NetlinkError) as bad:
            ipr.link("add", ifname="vx", kind="veth", peer="vy", master=4242)
        assert nl.code_of(bad.value) in (errno.EINVAL, errno.ENODEV)
        assert ipr.link_lookup(ifname="vx") == []  # nothing half-made
        # the socket is still in step: the next request gets its own answer
        assert ipr.link_lookup(ifname="lo") == [1]


@root
def test_addresses_and_routes(netns: int) -> None:
    with _client(netns) as ipr:
        ipr.link("add", ifname="d0", kind="veth", peer="d1")
        index = ipr.link_lookup(ifname="d0")[0]
        ipr.link("set", index=index, state="up")
        ipr.addr("add", index=index, address="10.7.0.2", prefixlen=24, broadcast="10.7.0.255")
        ipr.addr("add", index=index, address="fd07::2", prefixlen=64, family=socket.AF_INET6)
        with pytest.raises(NetlinkError) as dup:
            ipr.addr("add", index=index, address="10.7.0.2", prefixlen=24)
        assert nl.code_of(dup.value) == errno.EEXIST
        v4 = ipr.get_addr(index=index, family=socket.AF_INET)
        assert [(a.get("address"), a.get("local"), a.get("broadcast"), a["prefixlen"])
                for a in v4] == [("10.7.0.2", "10.7.0.2", "10.7.0.255", 24)]
        assert nl.first_address(ipr, index, socket.AF_INET6) == "fd07::2"
        ipr.route("add", dst="10.9.9.9/32", oif=index, scope=253)
        ipr.route("add", dst="0.0.0.0/0", gateway="10.7.0.1", oif=index)
        with pytest.raises(NetlinkError) as twice:
            ipr.route("add", dst="0.0.0.0/0", gateway="10.7.0.1", oif=index)
        assert nl.code_of(twice.value) == errno.EEXIST
        routes = subprocess.run(["nsenter", f"--net=/proc/self/fd/{netns}", "ip", "-4", "route"],
                                pass_fds=(netns,), capture_output=True, text=True, check=True)
        assert "default via 10.7.0.1 dev d0 proto static" in routes.stdout
        assert "10.9.9.9 dev d0 proto static scope link" in routes.stdout
        # a secondary goes with its primary: the flush still ends with nothing left
        ipr.addr("add", index=index, address="10.7.0.3", prefixlen=24)
        flushed = ipr.flush_addr(index=index)
        assert {a.get("address") for a in flushed} >= {"10.7.0.2", "fd07::2"}
        assert ipr.get_addr(index=index) == []


@root
def test_a_dump_longer_than_one_datagram_is_read_to_its_end(netns: int) -> None:
    with _client(netns) as ipr:
        for n in range(40):
            ipr.link("add", ifname=f"m{n}", kind="veth", peer=f"n{n}")
        names = [link.get("ifname") for link in ipr.get_links()]
        assert len(names) == 81 and names[0] == "lo"
        assert len(set(names)) == 81


@root
def test_a_peer_born_in_another_netns(new_netns: Callable[[], int]) -> None:
    here, there = new_netns(), new_netns()
    with _client(here) as ipr, _client(there) as ipr_there:
        ipr.link("add", ifname="xa", kind="veth", peer={"ifname": "xb", "net_ns_fd": there})
        xa = nl.get_link(ipr, "xa")
        assert xa is not None and xa.get("link_netnsid") is not None  # its peer is elsewhere
        assert ipr.link_lookup(ifname="xb") == []
        xb = nl.get_link(ipr_there, "xb")
        assert xb is not None and nl.kind_of(xb) == "veth"
        # and back by net_ns_fd on a set, renamed on the way
        ipr_there.link("set", index=xb["index"], net_ns_fd=here, ifname="xc")
        assert ipr_there.link_lookup(ifname="xb") == []
        assert ipr.link_lookup(ifname="xc") != []
