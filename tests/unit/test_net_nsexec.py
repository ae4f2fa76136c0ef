"""Sockets in another network namespace (lxcpy.net.nsexec) and the one table of network types
(lxcpy.net.host.TYPES). Runs as root: the other netns is a child of ``unshare --net``."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator

import pytest

from lxcpy.config.keys import NET_TYPES
from lxcpy.errors import NetworkError
from lxcpy.net import host
from lxcpy.net.nsexec import iproute_in, netns_socket
from lxcpy.net.query import dump_addresses

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="setns needs root")


@pytest.fixture
def other_netns() -> Iterator[int]:
    """An fd of a fresh netns whose lo is up with 127.0.0.1 (and nothing else)."""
    proc = subprocess.Popen(
        ["unshare", "--net", "--", "sh", "-c", "ip link set lo up && echo ready && exec cat"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    try:
        assert proc.stdout.readline() == b"ready\n"  # the netns exists and lo is up
        fd = os.open(f"/proc/{proc.pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)
    finally:
        proc.stdin.close()  # cat ends
        proc.wait()


def _own_netns() -> str:
    return os.readlink("/proc/self/ns/net")


def test_the_socket_lives_in_the_other_netns_and_the_caller_stays(other_netns: int) -> None:
    before = _own_netns()
    with iproute_in(other_netns) as ipr:
        names = [link.get("ifname") for link in ipr.get_links()]
    assert names == ["lo"]
    assert _own_netns() == before
    # a request on the socket acts there: a veth pair appears in the other netns only
    with iproute_in(other_netns) as ipr:
        ipr.link("add", ifname="nsx0", kind="veth", peer="nsx1")
        assert sorted(link.get("ifname") for link in ipr.get_links()) == ["lo", "nsx0", "nsx1"]
    assert not os.path.exists("/sys/class/net/nsx0")


def test_raw_netlink_dump_through_it(other_netns: int) -> None:
    entries = dump_addresses(netns_socket(other_netns, kind=socket.SOCK_RAW))
    assert [(e[0], e[3]) for e in entries if e[0] == socket.AF_INET] == \
        [(socket.AF_INET, "127.0.0.1")]


def test_a_bad_fd_is_a_network_error_and_nothing_moves() -> None:
    before = _own_netns()
    with open("/proc/self/stat") as f, pytest.raises(NetworkError, match="setns"):
        netns_socket(f.fileno())
    assert _own_netns() == before


def test_every_type_the_parser_accepts_has_a_row() -> None:
    assert set(host.TYPES) == set(NET_TYPES) - {"ipvlan"}
    # a type that makes a device has every phase its records need at teardown
    for name, row in host.TYPES.items():
        if row.setup is None:
            assert (row.inside_down, row.host_down, row.recover) == (None, None, None), name
        else:
            assert row.inside_down is not None or row.host_down is not None, name
