"""Container networking through the console scripts: veth, macvlan, phys, addresses,
failures, recovery after a killed supervisor, scripts, and no pyroute2 without a network.

Everything runs in the test process's own network namespace (the suite runs under
``unshare --net``); outside one every test skips. Containers have no rootfs: each names
its command and uses the host's ``ip`` and ``busybox ping``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.hostnet import bridge, links, require_private_netns
from tests.integration.helpers import cgroup_leftovers, lxc, make, tool, wait_until

pytestmark = pytest.mark.root

PING = ["busybox", "ping", "-c1", "-W2"]


@pytest.fixture(autouse=True)
def _private_netns() -> Iterator[None]:
    """Skip outside a private netns; afterwards the netns has exactly the links it had."""
    require_private_netns()
    before = links()
    yield
    # the kernel deletes a dead namespace's veth ends asynchronously: allow it a moment
    assert wait_until(lambda: links() == before, 5), links() ^ before


@contextmanager
def veth_pair(up: bool = True) -> Iterator[tuple[str, str]]:
    """A veth pair in the test netns: its first end stands in for a physical NIC."""
    tag = uuid.uuid4().hex[:6]
    a, b = f"nica{tag}", f"nicb{tag}"
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
    try:
        if up:
            subprocess.run(["ip", "link", "set", a, "up"], check=True)
            subprocess.run(["ip", "link", "set", b, "up"], check=True)
        yield a, b
    finally:
        subprocess.run(["ip", "link", "del", a], check=False, capture_output=True)


def execute(lxcpath: Path, name: str, script: str, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
    return lxc("execute", "-n", name, "--", "sh", "-c", script, lxcpath=lxcpath,
               timeout=timeout)


def start_daemon(lxcpath: Path, name: str) -> None:
    r = lxc("execute", "-n", name, "-d", "--", "sleep", "100", lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: lxc("state", "-n", name, lxcpath=lxcpath).stdout
                      == "RUNNING\n", 15)


def stop(lxcpath: Path, name: str) -> None:
    lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"


def veth(link: str, address: str, extra: str = "") -> str:
    return ("lxc.net.0.type = veth\n"
            f"lxc.net.0.link = {link}\n"
            "lxc.net.0.flags = up\n"
            f"lxc.net.0.ipv4.address = {address}\n{extra}")


def link_line(text: str, ifname: str) -> str:
    """The ``ip -o link`` line of ``ifname`` in ``text``."""
    for line in text.splitlines():
        if re.match(rf"^\d+: {re.escape(ifname)}[@:]", line):
            return line
    raise AssertionError(f"no link {ifname} in:\n{text}")


# --------------------------------------------------------------------------- connectivity


def test_two_veth_containers_on_a_bridge_ping_each_other(lxcpath: Path,
                                                         tmp_path: Path) -> None:
    with bridge("10.220.0.1/24") as br:
        server = make(lxcpath, veth(br, "10.220.0.2/24"))
        client = make(lxcpath, veth(br, "10.220.0.3/24"))
        start_daemon(lxcpath, server)
        try:
            r = execute(lxcpath, client,
                        f"{' '.join(PING)} 10.220.0.2 && {' '.join(PING)} 10.220.0.1")
            assert r.returncode == 0, r.stdout + r.stderr
            assert r.stdout.count("1 packets received") == 2, r.stdout
        finally:
            stop(lxcpath, server)


def test_two_macvlan_bridge_mode_containers_ping_each_other(lxcpath: Path,
                                                            tmp_path: Path) -> None:
    with veth_pair() as (nic, _):
        keys = ("lxc.net.0.type = macvlan\n"
                "lxc.net.0.macvlan.mode = bridge\n"
                f"lxc.net.0.link = {nic}\n"
                "lxc.net.0.flags = up\n")
        server = make(lxcpath, keys + "lxc.net.0.ipv4.address = 10.221.0.2/24\n")
        client = make(lxcpath, keys + "lxc.net.0.ipv4.address = 10.221.0.3/24\n")
        start_daemon(lxcpath, server)
        try:
            r = execute(lxcpath, client, f"{' '.join(PING)} 10.221.0.2")
            assert r.returncode == 0, r.stdout + r.stderr
        finally:
            stop(lxcpath, server)


def test_phys_moves_in_renamed_and_comes_back_down(lxcpath: Path, tmp_path: Path) -> None:
    with veth_pair() as (nic, _):
        original = subprocess.run(["ip", "-o", "link", "show", "dev", nic], capture_output=True,
                                  text=True, check=True).stdout
        mac = re.search(r"link/ether (\S+)", original).group(1)  # type: ignore[union-attr]
        name = make(lxcpath, "lxc.net.0.type = phys\n"
                                       f"lxc.net.0.link = {nic}\n"
                                       "lxc.net.0.name = eth5\n"
                                       "lxc.net.0.flags = up\n"
                                       "lxc.net.0.hwaddr = 02:00:00:22:22:22\n"
                                       "lxc.net.0.mtu = 1280\n"
                                       "lxc.net.0.ipv4.address = 10.222.0.2/24\n")
        r = execute(lxcpath, name, "ip -o link; echo ---; ip -o addr show dev eth5")
        assert r.returncode == 0, r.stderr
        inside_links, inside_addrs = r.stdout.split("---\n")
        eth5 = link_line(inside_links, "eth5")
        assert "UP" in eth5.split("<", 1)[1].split(">", 1)[0].split(","), eth5
        assert "link/ether 02:00:00:22:22:22 " in eth5 and "mtu 1280 " in eth5
        assert nic not in inside_links
        assert "inet 10.222.0.2/24" in inside_addrs
        # home again under its own name, down and without the container's address
        assert wait_until(lambda: nic in links(), 5)
        out = subprocess.run(["ip", "-o", "link", "show", "dev", nic], capture_output=True,
                             text=True, check=True).stdout
        flags = out.split("<", 1)[1].split(">", 1)[0].split(",")
        assert "UP" not in flags, out
        # with the MAC and MTU it had before
        assert f"link/ether {mac} " in out and "mtu 1500 " in out, out
        addrs = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", nic],
                               capture_output=True, text=True, check=True).stdout
        assert addrs == ""
        # and it can go in again
        assert execute(lxcpath, name, "ip link show dev eth5").returncode == 0


# --------------------------------------------------------------------------- configuration


def test_addresses_hwaddr_and_gateway_appear_as_configured(lxcpath: Path,
                                                           tmp_path: Path) -> None:
    with bridge("10.223.0.1/24") as br:
        name = make(lxcpath, veth(br, "10.223.0.2/24", (
            "lxc.net.0.name = eth1\n"
            "lxc.net.0.ipv4.address = 10.224.1.5/16 10.224.255.254\n"
            "lxc.net.0.ipv4.address = 10.225.0.9/30\n"
            "lxc.net.0.ipv4.gateway = 10.223.0.1\n"
            "lxc.net.0.ipv6.address = 2001:db8:1::2/64\n"
            "lxc.net.0.ipv6.address = 2001:db8:2::3/48\n"
            "lxc.net.0.hwaddr = 02:00:00:12:34:56\n"
            "lxc.net.0.mtu = 1400\n")))
        r = execute(lxcpath, name, "ip -o link show dev eth1; echo ---; "
                                   "ip -o addr show dev eth1; echo ---; ip route")
        assert r.returncode == 0, r.stderr
        link, addrs, routes = r.stdout.split("---\n")
        assert "link/ether 02:00:00:12:34:56" in link
        assert "mtu 1400" in link
        assert "UP" in link.split("<", 1)[1].split(">", 1)[0].split(",")
        v4 = re.findall(r"inet (\S+)(?: brd (\S+))?", addrs)
        assert sorted(v4) == sorted([("10.223.0.2/24", "10.223.0.255"),
                                     ("10.224.1.5/16", "10.224.255.254"),
                                     ("10.225.0.9/30", "10.225.0.11")])
        v6 = [a for a in re.findall(r"inet6 (\S+)", addrs) if not a.startswith("fe80:")]
        assert sorted(v6) == ["2001:db8:1::2/64", "2001:db8:2::3/48"]
        assert re.search(r"^default via 10\.223\.0\.1 dev eth1", routes, re.M), routes


def test_gateways_auto_explicit_off_prefix_and_on_the_device(lxcpath: Path,
                                                              tmp_path: Path) -> None:
    with bridge("10.241.0.1/24") as br:
        subprocess.run(["ip", "addr", "add", "2001:db8:41::1/64", "dev", br, "nodad"],
                       check=True)
        # auto: the bridge's own addresses, found on the host; IPv6 via a gateway
        auto = make(lxcpath, veth(br, "10.241.0.2/24", (
            "lxc.net.0.ipv4.gateway = auto\n"
            "lxc.net.0.ipv6.address = 2001:db8:41::2/64\n"
            "lxc.net.0.ipv6.gateway = auto\n")))
        r = execute(lxcpath, auto, "ip -4 route; echo ---; ip -6 route")
        assert r.returncode == 0, r.stderr
        v4, v6 = r.stdout.split("---\n")
        assert re.search(r"^default via 10\.241\.0\.1 dev eth0 proto static", v4, re.M), v4
        assert re.search(r"^default via 2001:db8:41::1 dev eth0 proto static", v6, re.M), v6
        # a gateway outside every local prefix gets an on-link host route first (as LXC);
        # gateway = dev: a default route on the device itself
        other = make(lxcpath, veth(br, "10.241.0.3/24", (
            "lxc.net.0.ipv4.gateway = 10.99.0.1\n"
            "lxc.net.0.ipv6.address = 2001:db8:41::3/64\n"
            "lxc.net.0.ipv6.gateway = dev\n")))
        r = execute(lxcpath, other, "ip -4 route; echo ---; ip -6 route")
        assert r.returncode == 0, r.stderr
        v4, v6 = r.stdout.split("---\n")
        assert re.search(r"^10\.99\.0\.1 dev eth0 proto static scope link", v4, re.M), v4
        assert re.search(r"^default via 10\.99\.0\.1 dev eth0 proto static", v4, re.M), v4
        assert re.search(r"^default dev eth0 proto static", v6, re.M), v6


def test_veth_router_mode_routes_the_addresses_to_the_host_end(lxcpath: Path,
                                                                tmp_path: Path) -> None:
    name = make(lxcpath, ("lxc.net.0.type = veth\n"
                          "lxc.net.0.veth.mode = router\n"
                          "lxc.net.0.flags = up\n"
                          "lxc.net.0.ipv4.address = 10.244.0.2/24\n"
                          "lxc.net.0.ipv6.address = 2001:db8:44::2/64\n"))
    start_daemon(lxcpath, name)
    try:
        v4 = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True,
                            check=True).stdout
        v6 = subprocess.run(["ip", "-6", "route"], capture_output=True, text=True,
                            check=True).stdout
        m4 = re.search(r"^10\.244\.0\.2 dev (\S+) proto static scope link", v4, re.M)
        m6 = re.search(r"^2001:db8:44::2 dev (\S+) proto static", v6, re.M)
        assert m4 and m6, (v4, v6)
        assert m4.group(1) == m6.group(1) and m4.group(1).startswith("veth")
    finally:
        stop(lxcpath, name)
    v4 = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True)
    assert "10.244.0.2" not in v4.stdout  # gone with the host end


def test_random_hwaddr_digits_are_stored_and_used(lxcpath: Path, tmp_path: Path) -> None:
    with bridge("10.226.0.1/24") as br:
        name = make(lxcpath,
                    veth(br, "10.226.0.2/24", "lxc.net.0.hwaddr = 02:00:00:xx:xx:xx\n"))
        stored = (lxcpath / name / "config").read_text()
        found = re.search(r"^lxc\.net\.0\.hwaddr = (\S+)$", stored, re.M)
        assert found, stored
        mac = found.group(1)
        assert re.fullmatch(r"02:00:00(:[0-9a-f]{2}){3}", mac), mac
        for _ in range(2):  # the same MAC every start: the digits were chosen once
            r = execute(lxcpath, name, "ip -o link show dev eth0")
            assert r.returncode == 0, r.stderr
            assert f"link/ether {mac} " in r.stdout


@pytest.mark.parametrize("flags", ["up", None])
def test_flags_up_alone_brings_the_device_up(lxcpath: Path, tmp_path: Path,
                                             flags: str | None) -> None:
    with bridge("10.227.0.1/24") as br:
        keys = f"lxc.net.0.type = veth\nlxc.net.0.link = {br}\n"
        if flags:
            keys += f"lxc.net.0.flags = {flags}\n"
        name = make(lxcpath, keys)
        r = execute(lxcpath, name, "ip -o link")
        assert r.returncode == 0, r.stderr
        eth0 = link_line(r.stdout, "eth0").split("<", 1)[1].split(">", 1)[0].split(",")
        lo = link_line(r.stdout, "lo").split("<", 1)[1].split(">", 1)[0].split(",")
        assert ("UP" in eth0) == (flags == "up")
        assert ("UP" in lo) == (flags == "up")  # lo comes up with the network


def test_legacy_network_keys(lxcpath: Path, tmp_path: Path) -> None:
    with bridge("10.228.0.1/24") as br:
        name = make(lxcpath, "lxc.network.type = veth\n"
                                       f"lxc.network.link = {br}\n"
                                       "lxc.network.flags = up\n"
                                       "lxc.network.name = eth3\n"
                                       "lxc.network.hwaddr = 02:00:00:ab:cd:ef\n"
                                       "lxc.network.ipv4 = 10.228.0.2/24\n"
                                       "lxc.network.ipv6 = 2001:db8:28::2/64\n")
        r = execute(lxcpath, name, "ip -o link show dev eth3; ip -o addr show dev eth3; "
                                   f"{' '.join(PING)} 10.228.0.1")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "link/ether 02:00:00:ab:cd:ef" in r.stdout
        assert "inet 10.228.0.2/24 brd 10.228.0.255" in r.stdout
        assert "inet6 2001:db8:28::2/64" in r.stdout


def test_lxc_info_shows_the_ips_while_running(lxcpath: Path, tmp_path: Path) -> None:
    with bridge("10.229.0.1/24") as br:
        name = make(lxcpath, veth(br, "10.229.0.2/24",
                                            "lxc.net.0.ipv6.address = 2001:db8:29::2/64\n"))
        start_daemon(lxcpath, name)
        try:
            r = lxc("info", "-n", name, "-i", lxcpath=lxcpath)
            assert r.returncode == 0, r.stderr
            ips = re.findall(r"^IP:\s+(\S+)$", r.stdout, re.M)
            assert ips == ["10.229.0.2", "2001:db8:29::2"], r.stdout
        finally:
            stop(lxcpath, name)
        r = lxc("info", "-n", name, "-i", lxcpath=lxcpath)
        assert "IP:" not in r.stdout


def test_several_interfaces_get_their_names_in_config_order(lxcpath: Path,
                                                            tmp_path: Path) -> None:
    with bridge("10.236.0.1/24") as br, veth_pair() as (nic, _), veth_pair() as (phys, _):
        name = make(lxcpath, veth(br, "10.236.0.2/24") + (
            "lxc.net.1.type = macvlan\n"
            f"lxc.net.1.link = {nic}\n"
            "lxc.net.1.name = mv0\n"
            "lxc.net.1.flags = up\n"
            "lxc.net.2.type = phys\n"
            f"lxc.net.2.link = {phys}\n"
            "lxc.net.3.type = veth\n"
            f"lxc.net.3.link = {br}\n"
            "lxc.net.4.type = empty\n"))
        r = execute(lxcpath, name, "ip -o link")
        assert r.returncode == 0, r.stderr
        found = sorted(re.findall(r"^\d+: ([^:@]+)", r.stdout, re.M))
        assert found == sorted(["lo", "eth0", "mv0", phys, "eth1"]), r.stdout
        assert wait_until(lambda: phys in links(), 5)


# --------------------------------------------------------------------------- failures


@contextmanager
def failure_case(case: str) -> Iterator[tuple[str, list[str]]]:
    """Network keys that must make the start fail, and words the error line must hold."""
    tag = uuid.uuid4().hex[:6]
    if case == "link missing":
        yield (f"lxc.net.0.type = macvlan\nlxc.net.0.link = nolink{tag}\n",
               ["net.0", f"nolink{tag}", "does not exist"])
    elif case == "bridge missing":
        yield (f"lxc.net.0.type = veth\nlxc.net.0.link = nobr{tag}\n",
               ["net.0", f"nobr{tag}", "does not exist"])
    elif case == "phys missing":
        yield (f"lxc.net.0.type = phys\nlxc.net.0.link = nophys{tag}\n",
               ["net.0", f"nophys{tag}", "does not exist"])
    elif case == "veth.pair clash":
        with veth_pair(up=False) as (taken, _), bridge("10.230.0.1/24") as br:
            yield (veth(br, "10.230.0.2/24", f"lxc.net.0.veth.pair = {taken}\n"),
                   ["net.0", taken, "File exists"])
    elif case == "address refused":
        # the kernel takes no IPv6 loopback address on anything but lo (EADDRNOTAVAIL)
        with bridge("10.231.0.1/24") as br:
            yield (veth(br, "10.231.0.2/24", "lxc.net.0.ipv6.address = ::1/128\n"),
                   ["net.0", "::1", "Cannot assign requested address"])
    elif case == "two default routes":
        with bridge("10.232.0.1/24") as br:
            yield (veth(br, "10.232.0.2/24", "lxc.net.0.ipv4.gateway = 10.232.0.1\n"
                                             "lxc.net.1.type = veth\n"
                                             f"lxc.net.1.link = {br}\n"
                                             "lxc.net.1.flags = up\n"
                                             "lxc.net.1.ipv4.address = 10.232.0.3/24\n"
                                             "lxc.net.1.ipv4.gateway = 10.232.0.1\n"),
                   ["net.1", "default route", "File exists"])
    else:
        raise AssertionError(case)


@pytest.mark.parametrize("case", ["link missing", "bridge missing", "phys missing",
                                  "veth.pair clash", "address refused",
                                  "two default routes"])
def test_network_failure_is_one_line_and_leaves_nothing(lxcpath: Path, tmp_path: Path,
                                                        case: str) -> None:
    with failure_case(case) as (keys, words):
        name = make(lxcpath, keys)
        before = links()
        r = execute(lxcpath, name, "echo ran")
        assert r.returncode != 0
        assert "ran" not in r.stdout
        assert "Traceback" not in r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        for word in words:
            assert word in lines[0], (word, lines[0])
        assert wait_until(lambda: links() == before, 5), links() ^ before
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
        assert cgroup_leftovers(name) == []


# --------------------------------------------------------------------------- recovery


def test_sigkilled_supervisor_leaves_no_veth_after_the_next_command(lxcpath: Path,
                                                                    tmp_path: Path) -> None:
    with bridge("10.233.0.1/24") as br:
        pair = "vk" + uuid.uuid4().hex[:8]
        name = make(lxcpath, veth(br, "10.233.0.2/24",
                                            f"lxc.net.0.veth.pair = {pair}\n"))
        before = links()
        start_daemon(lxcpath, name)
        assert pair in links()
        init = int(lxc("info", "-n", name, "-p", "-H", lxcpath=lxcpath).stdout.split()[-1])
        status = Path(f"/proc/{init}/status").read_text()
        supervisor = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
        assert "lxc-execute" in Path(f"/proc/{supervisor}/cmdline").read_text()
        os.kill(supervisor, signal.SIGKILL)
        assert wait_until(lambda: not Path(f"/proc/{supervisor}").exists(), 5)
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
        assert wait_until(lambda: links() == before, 5), links() ^ before
        assert cgroup_leftovers(name) == []
        # the same veth.pair name is free again
        r = execute(lxcpath, name, f"{' '.join(PING)} 10.233.0.1")
        assert r.returncode == 0, r.stdout + r.stderr


def test_a_stopped_veth_container_leaves_no_interface_when_its_command_returns(
        lxcpath: Path, tmp_path: Path) -> None:
    # the host end is deleted in a thread beside the cgroups' teardown: the supervisor
    # must still wait for it, so nothing is left the moment lxc-execute / lxc-stop return
    # (no waiting here) and the same veth.pair name can be made again at once
    with bridge("10.236.0.1/24") as br:
        pair = "vn" + uuid.uuid4().hex[:8]
        name = make(lxcpath, veth(br, "10.236.0.2/24", f"lxc.net.0.veth.pair = {pair}\n"))
        before = links()
        for _ in range(2):
            r = execute(lxcpath, name, f"ip -o link show {pair} || echo no-host-end-here")
            assert r.returncode == 0, r.stderr
            assert "no-host-end-here" in r.stdout  # the host end is not in the container
            assert links() == before, links() ^ before
        start_daemon(lxcpath, name)
        assert pair in links()
        r = lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)
        assert r.returncode == 0, r.stderr
        assert links() == before, links() ^ before
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"


def test_recovery_deletes_the_host_end_a_killed_supervisor_left(lxcpath: Path,
                                                                tmp_path: Path) -> None:
    # the test holds the container's netns open, so its death cannot delete the pair: only
    # the next command's recovery (from the resource record) can, before it answers
    with bridge("10.237.0.1/24") as br:
        pair = "vr" + uuid.uuid4().hex[:8]
        name = make(lxcpath, veth(br, "10.237.0.2/24", f"lxc.net.0.veth.pair = {pair}\n"))
        before = links()
        start_daemon(lxcpath, name)
        init = int(lxc("info", "-n", name, "-p", "-H", lxcpath=lxcpath).stdout.split()[-1])
        netns = os.open(f"/proc/{init}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            status = Path(f"/proc/{init}/status").read_text()
            supervisor = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
            assert "lxc-execute" in Path(f"/proc/{supervisor}/cmdline").read_text()
            os.kill(supervisor, signal.SIGKILL)
            assert wait_until(lambda: not Path(f"/proc/{supervisor}").exists(), 5)
            assert wait_until(lambda: not Path(f"/proc/{init}").exists(), 5)
            assert pair in links()  # kept by the netns we hold: the check below means something
            assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
            assert links() == before, links() ^ before
        finally:
            os.close(netns)
        assert cgroup_leftovers(name) == []


# --------------------------------------------------------------------------- scripts


def test_script_up_and_down_get_lxcs_arguments(lxcpath: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    script = tmp_path / "net-script"
    script.write_text(f'#!/bin/sh\necho "$* $LXC_HOOK_TYPE" >> {marker}\n')
    script.chmod(0o755)
    with bridge("10.234.0.1/24") as br:
        pair = "vs" + uuid.uuid4().hex[:8]
        name = make(lxcpath, veth(br, "10.234.0.2/24", (
            f"lxc.net.0.veth.pair = {pair}\n"
            f"lxc.net.0.script.up = {script}\n"
            f"lxc.net.0.script.down = {script}\n")))
        r = execute(lxcpath, name, "true")
        assert r.returncode == 0, r.stderr
        assert marker.read_text().splitlines() == [f"{name} net up veth {pair} up",
                                                   f"{name} net down veth {pair} down"]


def test_failing_script_up_stops_the_start(lxcpath: Path, tmp_path: Path) -> None:
    with bridge("10.235.0.1/24") as br:
        name = make(lxcpath, veth(br, "10.235.0.2/24",
                                            "lxc.net.0.script.up = echo nope >&2; false\n"))
        before = links()
        r = execute(lxcpath, name, "echo ran")
        assert r.returncode != 0 and "ran" not in r.stdout
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "net.0" in lines[0] and "script.up" in lines[0], r.stderr
        assert wait_until(lambda: links() == before, 5), links() ^ before
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
        assert cgroup_leftovers(name) == []


# --------------------------------------------------------------------------- cost


def test_no_network_keys_no_pyroute2(lxcpath: Path, tmp_path: Path) -> None:
    name = make(lxcpath)
    # the variable too: a re-executed helper interpreter reports its imports as well
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    r = subprocess.run([tool("python"), "-X", "importtime", tool("lxc-execute"),
                        "-P", str(lxcpath), "-n", name, "--", "true"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                       env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "import time:" in r.stderr  # the hook works: the check below means something
    assert "pyroute2" not in r.stderr


def test_a_veth_start_uses_pyroute2s_messages_without_iproute_or_asyncio(
        lxcpath: Path, tmp_path: Path) -> None:
    # the supervisor's modules when it ends (lxcpy's exit runs atexit): it imported the
    # netlink side before forking the init, so the init has nothing the list lacks
    listing = tmp_path / "modules"
    wrapper = ("import atexit, sys\n"
               "out, launcher = sys.argv[1], sys.argv[2]\n"
               "atexit.register(lambda: open(out, 'w').write('\\n'.join(sys.modules)))\n"
               "sys.argv = sys.argv[2:]\n"
               "exec(compile(open(launcher).read(), launcher, 'exec'), {'__name__': '__main__'})\n")
    with bridge("10.233.0.1/24") as br:
        name = make(lxcpath, veth(br, "10.233.0.2/24"))
        r = subprocess.run([tool("python"), "-c", wrapper, str(listing), tool("lxc-execute"),
                            "-P", str(lxcpath), "-n", name, "--", "ip", "-4", "-o", "addr"],
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "10.233.0.2/24" in r.stdout  # the network was really set up
    modules = set(listing.read_text().split())
    assert "pyroute2.netlink.rtnl.ifinfmsg" in modules  # the check below means something
    heavy = {m for m in modules if m.split(".")[0] == "asyncio"
             or m.startswith(("pyroute2.iproute", "pyroute2.netlink.core", "pyroute2.ndb"))}
    assert heavy == set()
