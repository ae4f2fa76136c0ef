"""lxc-ps and lxc-ls against real containers; lxc-ls layouts byte for byte like LXC 5."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration._monitor_helpers import cgroup_procs_of, start_daemon
from tests.integration.helpers import init_pid, lxc, make, unique, wait_until

pytestmark = pytest.mark.root


# ---- lxc-ps ----------------------------------------------------------------------------

def ps_rows(out: str, name: str) -> list[list[str]]:
    return [line.split(None, 4) for line in out.splitlines()[1:] if line.split()[0] == name]


def test_ps_rows_are_the_cgroup_procs(lxcpath: Path, probe_rootfs: Path) -> None:
    one, two = (make(lxcpath, prefix="p", rootfs=probe_rootfs) for _ in range(2))
    start_daemon(lxcpath, one, "sleep", "30")
    # "& wait": the shell stays (busybox's sh execs a last simple command in its place)
    start_daemon(lxcpath, two, "sh", "-c", "sleep 31 & sleep 32 & wait")
    r = lxc("ps", lxcpath=lxcpath, check=True)
    lines = r.stdout.splitlines()
    width = max(9, len(one), len(two))
    assert re.fullmatch(r"CONTAINER *  +PID TT +TIME CMD", lines[0])
    assert lines[0].startswith("CONTAINER".ljust(width) + " ")
    for name, cmds in ((one, {"sleep 30"}), (two, {"sh -c sleep 31 & sleep 32 & wait",
                                                   "sleep 31", "sleep 32"})):
        rows = ps_rows(r.stdout, name)
        assert {int(row[1]) for row in rows} == cgroup_procs_of(init_pid(lxcpath, name))
        assert cmds <= {row[4] for row in rows}
    # rows of one container are together, in name order
    assert [ln.split()[0] for ln in lines[1:]] == sorted(ln.split()[0] for ln in lines[1:])

    only = lxc("ps", "-n", one, lxcpath=lxcpath, check=True)
    assert {ln.split()[0] for ln in only.stdout.splitlines()[1:]} == {one}


def test_ps_options_after_double_dash(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, prefix="p", rootfs=probe_rootfs)
    start_daemon(lxcpath, name)
    r = lxc("ps", "-n", name, "--", "-o", "pid,stat,cmd", lxcpath=lxcpath, check=True)
    lines = r.stdout.splitlines()
    assert re.fullmatch(r"CONTAINER +PID STAT CMD", lines[0])
    assert any(ln.split(None, 3)[3] == "sleep 30" for ln in lines[1:])
    assert all(ln.split()[0] == name for ln in lines[1:])


def test_ps_runs_one_ps_for_all_containers(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    names = sorted(make(lxcpath, prefix="p", rootfs=probe_rootfs) for _ in range(3))
    for name in names:
        start_daemon(lxcpath, name)
    shim = tmp_path / "bin"
    shim.mkdir()
    calls = tmp_path / "calls"  # one line per ps run
    (shim / "ps").write_text(f"#!/bin/sh\necho x >> {calls}\nexec /bin/ps \"$@\"\n")
    (shim / "ps").chmod(0o755)
    env = {"PATH": f"{shim}:/usr/bin:/bin", "LANG": "C"}
    for options in ((), ("--", "-o", "user,pid,stat,cmd")):
        calls.write_text("")
        r = lxc("ps", *options, lxcpath=lxcpath, check=True, env=env)
        assert calls.read_text().count("x") == 1, options  # one ps, not one per container
        lines = r.stdout.splitlines()
        owners = [ln.split()[0] for ln in lines[1:]]
        assert owners == sorted(owners) and set(owners) == set(names)  # grouped, in order
        column = 2 if options else 1  # CONTAINER [USER] PID ...
        for name in names:
            pids = {int(ln.split()[column]) for ln in lines[1:] if ln.split()[0] == name}
            assert pids == cgroup_procs_of(init_pid(lxcpath, name))  # each row to its own
    # options without a PID column: a ps per container, rows still grouped by container
    r = lxc("ps", "--", "-o", "stat,cmd", lxcpath=lxcpath, check=True, env=env)
    assert [ln.split()[0] for ln in r.stdout.splitlines()[1:]] == sorted(
        ln.split()[0] for ln in r.stdout.splitlines()[1:])


def test_ps_nothing_running_is_the_header_only(lxcpath: Path, probe_rootfs: Path) -> None:
    make(lxcpath, prefix="p", rootfs=probe_rootfs)  # defined, stopped
    r = lxc("ps", lxcpath=lxcpath)
    assert r.returncode == 0 and re.fullmatch(r"CONTAINER +PID TT +TIME CMD\n", r.stdout)
    r = lxc("ps", "-n", "nosuch", lxcpath=lxcpath)
    assert r.returncode == 1 and r.stdout == "" and "doesn't exist" in r.stderr


# ---- lxc-ls ----------------------------------------------------------------------------

@pytest.fixture
def three(lxcpath: Path, probe_rootfs: Path) -> tuple[str, str, str]:
    """A stopped autostart container in two groups, a running one, a stopped unprivileged."""
    tag = unique("")[:6]
    a = make(lxcpath, "lxc.start.auto = 1\nlxc.group = web\nlxc.group = db\n", name=f"l{tag}a",
             rootfs=probe_rootfs)
    bb = make(lxcpath, name=f"l{tag}bb", rootfs=probe_rootfs)
    cee = make(lxcpath, "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n",
               name=f"l{tag}cee", rootfs=probe_rootfs)
    start_daemon(lxcpath, bb)
    return a, bb, cee


def test_ls_plain_and_one_per_line(lxcpath: Path, three: tuple[str, str, str]) -> None:
    a, bb, cee = three
    w = len(cee)
    r = lxc("ls", lxcpath=lxcpath, check=True)  # stdout is a pipe: one padded name a line
    assert r.stdout == f"{a:<{w}}\n{bb:<{w}}\n{cee:<{w}}\n"
    assert lxc("ls", "-1", lxcpath=lxcpath).stdout == f"{a}\n{bb}\n{cee}\n"
    assert lxc("ls", "--line", lxcpath=lxcpath).stdout == f"{a}\n{bb}\n{cee}\n"


def test_ls_short_names_pad_to_the_header_width(lxcpath: Path, probe_rootfs: Path) -> None:
    # LXC's name column is at least as wide as its NAME header, also in this mode
    tag = unique("")[:3]
    make(lxcpath, name=tag[:1] + "x", rootfs=probe_rootfs)
    assert lxc("ls", lxcpath=lxcpath).stdout == f"{tag[:1] + 'x':<4}\n"


def test_ls_filters(lxcpath: Path, three: tuple[str, str, str]) -> None:
    a, bb, cee = three

    def ls(*args: str) -> list[str]:
        r = lxc("ls", "-1", *args, lxcpath=lxcpath)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        return r.stdout.split()

    assert ls("--running") == [bb]
    assert ls("--active") == [bb]
    assert ls("--stopped") == [a, cee]
    assert ls("--frozen") == []
    assert ls("--running", "--stopped") == []
    assert ls("b+$") == [bb]  # a regex searched in the name, like LXC's regexec
    assert ls("--filter", "^l.*e$") == [cee]
    assert ls("-g", "web") == [a]
    assert ls("-g", "db,web") == [a]
    assert ls("-g", "web,nosuch") == []
    assert lxc("ls", "--stopped", lxcpath=lxcpath).stdout.split() == [a, cee]
    assert lxc("freeze", "-n", bb, lxcpath=lxcpath).returncode == 0
    assert ls("--frozen") == [bb]
    assert ls("--running") == [bb]
    assert ls("--active", "--frozen") == [bb]
    assert lxc("unfreeze", "-n", bb, lxcpath=lxcpath).returncode == 0
    assert ls("--frozen") == []


def test_ls_fancy_table_exact(lxcpath: Path, three: tuple[str, str, str]) -> None:
    a, bb, cee = three
    n = len(cee)
    g = len("web, db")
    expected = (
        f"{'NAME':<{n}} STATE   AUTOSTART {'GROUPS':<{g}} IPV4 IPV6 UNPRIVILEGED \n"
        f"{a:<{n}} STOPPED 1         web, db -    -    false        \n"
        f"{bb:<{n}} RUNNING 0         {'-':<{g}} -    -    false        \n"
        f"{cee:<{n}} STOPPED 0         {'-':<{g}} -    -    true         \n")
    assert lxc("ls", "-f", lxcpath=lxcpath).stdout == expected
    assert lxc("ls", "--fancy", lxcpath=lxcpath).stdout == expected
    frozen = expected.replace(f"{bb:<{n}} RUNNING", f"{bb:<{n}} FROZEN ")
    assert lxc("freeze", "-n", bb, lxcpath=lxcpath).returncode == 0
    assert lxc("ls", "-f", lxcpath=lxcpath).stdout == frozen


def test_ls_fancy_format_all_columns(lxcpath: Path, three: tuple[str, str, str]) -> None:
    a, bb, cee = three
    cols = "name,State,PID,RAM,swap,AUTOSTART,GROUPS,INTERFACE,IPV4,IPV6,UNPRIVILEGED"
    r = lxc("ls", "-F", cols, lxcpath=lxcpath, check=True)
    lines = r.stdout.splitlines(keepends=True)
    assert re.fullmatch(r"NAME +STATE +PID +RAM +SWAP +AUTOSTART GROUPS +INTERFACE IPV4 IPV6 "
                        r"UNPRIVILEGED \n", lines[0])
    pid = init_pid(lxcpath, bb)
    # an empty network namespace of its own: lo, as LXC 5 lists it
    assert re.fullmatch(rf"{bb} +RUNNING {pid} +\d+\.\d\dMB +\d+\.\d\dMB 0 +- +lo +- +- +false +\n",
                        lines[2]), lines[2]
    assert re.fullmatch(rf"{a} +STOPPED - +- +- +1 +web, db +- +- +- +false +\n", lines[1])
    assert re.fullmatch(rf"{cee} +STOPPED - +- +- +0 +- +- +- +- +true +\n", lines[3])
    # every line is as wide as the header: columns line up
    assert len({len(line) for line in lines}) == 1
    # -F alone implies the fancy layout (columns that cannot change between two runs: RAM
    # can); an unknown column is one error line
    steady = "name,State,PID,AUTOSTART,GROUPS,INTERFACE,UNPRIVILEGED"
    assert lxc("ls", "-f", "-F", steady, lxcpath=lxcpath).stdout == \
        lxc("ls", "-F", steady, lxcpath=lxcpath, check=True).stdout
    r = lxc("ls", "-F", "name,bogus", lxcpath=lxcpath)
    assert r.returncode == 1 and r.stdout == "" and "BOGUS" in r.stderr


def test_ls_empty_and_missing_lxcpath(lxcpath: Path, tmp_path: Path) -> None:
    for path in (lxcpath, tmp_path / "nonexistent"):
        for args in ((), ("-f",), ("-1",), ("-F", "name,pid"), ("--running",)):
            r = lxc("ls", *args, lxcpath=path)
            assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_ls_fancy_does_not_load_pyroute2_without_a_netns(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.net.0.type = none\n", prefix="l", rootfs=probe_rootfs)
    start_daemon(lxcpath, name)
    code = ("import sys\nfrom lxcpy.cli.ls import main\n"
            f"sys.argv = ['lxc-ls', '-P', {str(lxcpath)!r}, '-F', 'name,interface,ipv4,ipv6']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('pyroute2' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.stdout.splitlines()[-1] == "False", r.stderr
    assert r.stdout.splitlines()[1].split() == [name, "-", "-", "-"]


@pytest.fixture
def bridge() -> Iterator[tuple[str, int]]:
    name, net = f"lsbr{unique('')[:6]}", random.randint(1, 250)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"10.213.{net}.1/24", "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name, net
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


def test_ls_fancy_with_addresses(
        lxcpath: Path, probe_rootfs: Path, bridge: tuple[str, int]) -> None:
    br, net = bridge
    name = make(lxcpath, "lxc.net.0.type = veth\n"
                         f"lxc.net.0.link = {br}\n"
                         "lxc.net.0.flags = up\n"
                         "lxc.net.0.name = eth0\n"
                         f"lxc.net.0.ipv4.address = 10.213.{net}.2/24\n"
                         f"lxc.net.0.ipv6.address = fd00:213:{net:x}::2/64\n", prefix="n",
                rootfs=probe_rootfs)
    start_daemon(lxcpath, name)
    v4, v6 = f"10.213.{net}.2", f"fd00:213:{net:x}::2"
    expected = (f"{'NAME':<{len(name)}} STATE   AUTOSTART GROUPS {'IPV4':<{len(v4)}} "
                f"{'IPV6':<{len(v6)}} UNPRIVILEGED \n"
                f"{name} RUNNING 0         -      {v4} {v6} false        \n")
    # the IPv6 address may still be tentative for a moment
    assert wait_until(lambda: lxc("ls", "-f", lxcpath=lxcpath).stdout == expected, timeout=5), \
        lxc("ls", "-f", lxcpath=lxcpath).stdout
    r = lxc("ls", "-F", "NAME,INTERFACE,IPV4", lxcpath=lxcpath, check=True)
    assert re.fullmatch(rf"{name} eth0, lo +{re.escape(v4)} ", r.stdout.splitlines()[1])
