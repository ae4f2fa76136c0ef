"""lxc-top against real running containers: LXC 5's table (printed below the last without
a terminal), its columns, sort order and -r; --batch: LXC 5's CSV lines."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration._monitor_helpers import start_daemon
from tests.integration.helpers import lxc, make, tool, unique, wait_until

pytestmark = pytest.mark.root

# the bigger one: ~64 MiB of memory and a second of CPU, then it says so (the file named
# by its argument) and sleeps
BIG = ("python3", "-c", "import sys, time\nb = bytearray(64 << 20)\n"
       "for i in range(64 << 20, 0, -4096):\n    b[i - 1] = 1\nt = time.process_time()\n"
       "while time.process_time() - t < 1: pass\nopen(sys.argv[1], 'w').close()\n"
       "time.sleep(60)")


def one_refresh(lxcpath: Path, *args: str, lines: int) -> list[str]:
    """The first ``lines`` lines of ``lxc-top -d 0.2 ARGS`` without a terminal (each table
    below the last), then it is ended by its PID (it refreshes until stopped)."""
    proc = subprocess.Popen([tool("lxc-top"), "-P", str(lxcpath), "-d", "0.2", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    buf = b""
    deadline = time.monotonic() + 20
    try:
        while buf.count(b"\n") < lines and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
    out = buf.decode().split("\n")
    assert len(out) > lines, f"lxc-top printed only {buf!r}"
    return out[:lines]


def names_of(table: list[str]) -> list[str]:
    """The container rows of one refresh: after the two header lines, up to TOTAL."""
    rows = []
    for line in table[2:]:
        if line.startswith("TOTAL "):
            return rows
        rows.append(line.split()[0])
    raise AssertionError(f"no TOTAL row in {table}")


@pytest.fixture
def two(lxcpath: Path) -> tuple[str, str]:
    """Two running containers: ``small`` (sleep; first by name), ``big`` (64 MiB, 1 s CPU)."""
    tag = unique("")[:6]
    small, big = make(lxcpath, name=f"top{tag}a"), make(lxcpath, name=f"top{tag}b")
    start_daemon(lxcpath, small, "sleep", "60")
    ready = lxcpath.parent / f"{big}.ready"
    start_daemon(lxcpath, big, *BIG, str(ready))
    # the big one has its memory and its second of CPU once the file is there
    assert wait_until(ready.exists, timeout=60), "the big container did not get ready"
    return small, big


def test_top_rows_columns_and_sort(lxcpath: Path, two: tuple[str, str]) -> None:
    small, big = two
    make(lxcpath, prefix="s")  # defined, stopped: not a row
    table = one_refresh(lxcpath, lines=6)
    assert re.fullmatch(r"Container +CPU +CPU +CPU +BlkIO +Mem( +MemSw)?( +KMem)?", table[0])
    assert re.fullmatch(r"Name +Used +Sys +User +Total\(Read/Write\) +Used( +Used)*", table[1])
    assert table[0].startswith(f"{'Container':<18} {'CPU':>12}")
    assert names_of(table) == [small, big]  # -s n: names ascending
    assert table[4].startswith("TOTAL 2 of 2 ")
    assert table[5] == ""  # each refresh ends with an empty line
    rows = {line.split()[0]: line for line in table[2:4]}
    cpu = {name: float(rows[name][19:31]) for name in rows}
    assert cpu[big] >= 0.9 > cpu[small]
    mem = re.search(r"(\d+\.\d\d) MiB", rows[big][19 + 3 * 13 + 37:])
    assert mem is not None and float(mem.group(1)) >= 60, rows[big]

    assert names_of(one_refresh(lxcpath, "-r", lines=5)) == [big, small]
    for key in ("m", "c"):  # values: largest first; -r: smallest first
        assert names_of(one_refresh(lxcpath, "-s", key, lines=5)) == [big, small]
        assert names_of(one_refresh(lxcpath, "-s", key, "-r", lines=5)) == [small, big]
    for key in ("b", "s", "k"):  # accepted (equal values: any order)
        assert sorted(names_of(one_refresh(lxcpath, "-s", key, lines=5))) == [small, big]


def test_top_batch_prints_lxc_csv(lxcpath: Path, two: tuple[str, str]) -> None:
    """--batch: C LXC 5.0.2's CSV (tried: its header), a line per container each refresh,
    CPU sys/user in USER_HZ ticks, no TOTAL row."""
    small, big = two
    before = int(time.time() * 1000)
    out = one_refresh(lxcpath, "--batch", lines=5)
    assert out[0] == ("time_ms,container,cpu_nanos,cpu_sys_userhz,cpu_user_userhz,"
                      "blkio_bytes,blkio_iops,mem_used_bytes,memsw_used_bytes,"
                      "kernel_mem_used_bytes")
    rows = [line.split(",") for line in out[1:5]]
    assert [r[1] for r in rows] == [small, big, small, big]  # two refreshes, by name
    assert all(len(r) == 10 and all(f.isdigit() for i, f in enumerate(r) if i != 1)
               for r in rows), out
    stamp, _, cpu, sys_ticks, user_ticks, _io, _ios, mem = (
        int(f) if i != 1 else 0 for i, f in enumerate(rows[1][:8]))
    assert before <= stamp <= int(time.time() * 1000)
    assert cpu >= 0.9e9 and mem >= 60 << 20, rows[1]
    assert 90 <= sys_ticks + user_ticks <= cpu * 100 // 10**9 + 2, rows[1]


def test_top_refreshes_below_the_last(lxcpath: Path, two: tuple[str, str]) -> None:
    out = one_refresh(lxcpath, lines=12)
    assert out[:6][0] == out[6] and names_of(out[6:]) == names_of(out) == list(two)
    assert "\033" not in "".join(out)  # no clearing, no bold: not a terminal


def test_top_no_containers(lxcpath: Path) -> None:
    make(lxcpath, prefix="s")
    table = one_refresh(lxcpath, lines=4)
    assert table[0].startswith("Container") and table[1].startswith("Name")
    assert table[2].split() == ["TOTAL", "0", "of", "0", "-", "-", "-", "-", "-"]
    assert table[3] == ""


@pytest.mark.parametrize(("args", "line"), [
    (("-s", "x"), "lxc-top: invalid sort key 'x': one of n, c, b, m, s, k"),
    (("-d", "0"), "lxc-top: invalid delay '0': a number of seconds above 0"),
    (("-d", "soon"), "lxc-top: invalid delay 'soon': a number of seconds above 0"),
])
def test_top_bad_values_one_line(lxcpath: Path, args: tuple[str, ...], line: str) -> None:
    r = lxc("top", *args, lxcpath=lxcpath, timeout=20)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", line + "\n")


def test_top_python_module_importable() -> None:
    r = subprocess.run([sys.executable, "-c", "import lxcpy.cli.top"], check=False)
    assert r.returncode == 0


# one row: name, CPU used, sys, user (seconds), then "TOTAL(READ/WRITE)" and memory
ROW = re.compile(r"(?P<name>\S+) +(?P<used>[\d.]+) +(?P<sys>[\d.]+) +(?P<user>[\d.]+) +"
                 r"(?P<total>[\d.]+ +\w*)\((?P<read>[\d.]+ +\w*)/(?P<write>[\d.]+ +\w*)\) +")


def test_top_cpu_sys_user_and_blkio_read_write(lxcpath: Path, tmp_path: Path) -> None:
    """A container that reads 8 MiB and writes 4 MiB of a loop device with O_DIRECT and
    burns CPU in both modes: lxc-top's CPU Sys/User and BlkIO read/write columns show it
    (they printed "-" and "(-/-)" before)."""
    from tests.integration.helpers import cgroup_version

    image = tmp_path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(16 << 20)
    loop = subprocess.run(["losetup", "--find", "--show", str(image)], check=True,
                          capture_output=True, text=True).stdout.strip()
    try:
        st = os.stat(loop)
        dev = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        if cgroup_version() == 1:
            # v1's throttle counters count only on a disk with a throttle rule (Linux 6.9+)
            limits = (f"lxc.cgroup.blkio.throttle.read_bps_device = {dev} 1099511627776\n"
                      f"lxc.cgroup.blkio.throttle.write_bps_device = {dev} 1099511627776\n")
        else:
            limits = f"lxc.cgroup2.io.max = {dev} rbps=max\n"  # delegates io: io.stat
        name = make(lxcpath, limits)
        done = tmp_path / "done"
        burn = ("import os, time\nt = time.process_time()\n"
                "while time.process_time() - t < 0.6:\n    os.stat('/')\n"
                "    sum(range(2000))\n")
        start_daemon(lxcpath, name, "sh", "-c",
                     f"dd if=/dev/zero of={loop} bs=1M count=4 oflag=direct 2>/dev/null && "
                     f"dd if={loop} of=/dev/null bs=1M count=8 iflag=direct 2>/dev/null && "
                     f"python3 -c \"{burn}\" && touch {done} && exec sleep 60")
        assert wait_until(done.exists, timeout=30), "the container's dd/python did not finish"
        table = one_refresh(lxcpath, lines=4)
        row = ROW.match(table[2])
        assert row is not None and row["name"] == name, table
        assert float(row["sys"]) > 0 and float(row["user"]) > 0, table[2]
        assert float(row["sys"]) + float(row["user"]) <= float(row["used"]) + 0.05, table[2]
        assert (row["total"], row["read"], row["write"]) == (
            "12.00 MiB", "8.00 MiB", "4.00 MiB"), table[2]
        total = ROW.match(table[3].replace("TOTAL 1 of 1", "TOTAL", 1))
        assert total is not None and total["read"] == "8.00 MiB", table[3]
        csv = one_refresh(lxcpath, "--batch", lines=2)[1].split(",")
        assert int(csv[5]) == 12 << 20 and int(csv[6]) >= 12, csv  # bytes, operations
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30)
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)
