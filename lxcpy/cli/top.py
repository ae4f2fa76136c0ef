"""lxc-top [-d DELAY] [-s n|c|b|m|s|k] [-r] [-b] [-P LXCPATH]: LXC 5's container statistics.

LXC's columns (lxc_top.c): name, CPU used (seconds), CPU sys and user, block I/O, memory,
memory+swap (MemSw: shown when swap is accounted), kernel memory (shown when any container
accounts it), then a "TOTAL <shown> of <running>" row. Sizes as LXC's size_humanize prints
them. The numbers come from each container's supervisor (Container.stats(): the cgroup
manager reads its own files: cpuacct.stat or cpu.stat's user_usec/system_usec for CPU sys
and user, blkio.throttle.io_service_bytes or io.stat's rbytes/wbytes for the read/write
split); a counter this host or driver cannot give prints as ``-``.

On a terminal the screen is cleared and redrawn every DELAY seconds; ``q`` quits, ``r``
reverses and a sort letter sorts by it (the same letter again reverses); without a terminal
the table is printed below the last. ``--batch`` prints LXC 5's CSV instead, for a file:
a header line, then a line per container each refresh (default DELAY then 300 seconds, as
LXC).
"""

from __future__ import annotations

import os
import sys

from lxcpy.cli.common import CONTEXT, common_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click

SORT_KEYS = "ncbmsk"
USER_HZ = 100  # lxc_top.c's: --batch gives CPU sys/user in these ticks
CSV_HEADER = ("time_ms,container,cpu_nanos,cpu_sys_userhz,cpu_user_userhz,blkio_bytes,"
              "blkio_iops,mem_used_bytes,memsw_used_bytes,kernel_mem_used_bytes")
CLEAR = "\033[H\033[2J"
BOLD = "\033[1m"
NORMAL = "\033[0m"


def size_humanize(value: int | None) -> str:
    """LXC's size_humanize (lxc_top.c), byte for byte; None: ``-``."""
    if value is None:
        return "-"
    if value > 1 << 30:
        return f"{value >> 30}.{(value & ((1 << 30) - 1)) // 10737419:02d} GiB"
    if value > 1 << 20:
        x = value + 5243
        return f"{x >> 20}.{((x & ((1 << 20) - 1)) * 100) >> 20:02d} MiB"
    if value > 1 << 10:
        x = value + 5
        return f"{x >> 10}.{((x & ((1 << 10) - 1)) * 100) >> 10:02d} KiB"
    return f"{value:3d}.00   "


def _seconds(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / 1e9:.2f}"


def collect(lxcpath: str) -> list[tuple[str, dict[str, int | None]]]:
    """(name, stats) of every running container of ``lxcpath``, through the library."""
    from lxcpy.cli.ls import candidate_names
    from lxcpy.container import Container
    from lxcpy.errors import LxcError

    out = []
    for name in candidate_names(lxcpath):
        container = Container(name, lxcpath)
        try:
            if container.state == "STOPPED":
                continue
            stats = container.stats()
        except LxcError:  # it stopped meanwhile
            continue
        out.append((name, stats))
    return out


def _value(stats: dict[str, int | None], key: str) -> int:
    value = stats.get(key)
    return int(value) if value is not None else 0


def _memswap(stats: dict[str, int | None]) -> int | None:
    memory, swap = stats.get("memory_bytes"), stats.get("swap_bytes")
    if memory is None or swap is None:
        return None
    return int(memory) + int(swap)


SORT_FIELD = {"c": "cpu_ns", "b": "blkio_bytes", "m": "memory_bytes", "k": "kmem_bytes"}


def sort_rows(rows: list[tuple[str, dict[str, int | None]]], sort_by: str,
              reverse: bool) -> list[tuple[str, dict[str, int | None]]]:
    """LXC's order: names ascending, values largest first (then by name); -r flips it."""
    if sort_by == "n":
        ordered = sorted(rows, key=lambda r: r[0])
    elif sort_by == "s":
        ordered = sorted(rows, key=lambda r: (-(_memswap(r[1]) or 0), r[0]))
    else:
        field = SORT_FIELD[sort_by]
        ordered = sorted(rows, key=lambda r: (-_value(r[1], field), r[0]))
    return ordered[::-1] if reverse else ordered


def render(rows: list[tuple[str, dict[str, int | None]]], bold: bool = False,
           limit: int | None = None) -> list[str]:
    """The table's lines: two header lines, a row per container (the first ``limit``),
    the TOTAL row of them all ("TOTAL <shown> of <all>", as LXC's)."""
    total: dict[str, int | None] = {}
    for key in ("cpu_ns", "cpu_sys_ns", "cpu_user_ns", "blkio_bytes", "blkio_read_bytes",
                "blkio_write_bytes", "memory_bytes", "swap_bytes", "kmem_bytes"):
        values = [r[1].get(key) for r in rows]
        known = [int(v) for v in values if v is not None]
        total[key] = sum(known) if known else None
    show_swap = any(_memswap(r[1]) for r in rows)  # LXC: memory.memsw.usage_in_bytes > 0
    show_kmem = any(_value(r[1], "kmem_bytes") for r in rows)

    head1 = f"{'Container':<18} {'CPU':>12} {'CPU':>12} {'CPU':>12} {'BlkIO':>36} {'Mem':>10}"
    head2 = (f"{'Name':<18} {'Used':>12} {'Sys':>12} {'User':>12} "
             f"{'Total(Read/Write)':>36} {'Used':>10}")
    if show_swap:
        head1 += f" {'MemSw':>10}"
        head2 += f" {'Used':>10}"
    if show_kmem:
        head1 += f" {'KMem':>10}"
        head2 += f" {'Used':>10}"
    if bold:
        head1, head2 = BOLD + head1, head2 + NORMAL

    def line(name: str, stats: dict[str, int | None]) -> str:
        blkio = stats.get("blkio_bytes")
        io = "-" if blkio is None else (  # LXC: total(read/write), each size_humanize'd
            f"{size_humanize(int(blkio))}({size_humanize(stats.get('blkio_read_bytes'))}/"
            f"{size_humanize(stats.get('blkio_write_bytes'))})")
        text = (f"{name[:18]:<18} {_seconds(stats.get('cpu_ns')):>12} "
                f"{_seconds(stats.get('cpu_sys_ns')):>12} "
                f"{_seconds(stats.get('cpu_user_ns')):>12} "
                f"{io:>36} {size_humanize(stats.get('memory_bytes')):>10}")
        if show_swap:
            text += f" {size_humanize(_memswap(stats)):>10}"
        if show_kmem:
            text += f" {size_humanize(stats.get('kmem_bytes')):>10}"
        return text.rstrip()

    shown = rows[:limit] if limit is not None else rows
    return [head1, head2, *(line(name, stats) for name, stats in shown),
            line(f"TOTAL {len(shown)} of {len(rows)}", total)]


def csv_lines(rows: list[tuple[str, dict[str, int | None]]], time_ms: int) -> list[str]:
    """LXC 5's --batch lines (lxc_top.c stats_print): a counter it cannot read is 0."""
    out = []
    for name, stats in rows:
        fields = (_value(stats, "cpu_ns"), _value(stats, "cpu_sys_ns") * USER_HZ // 10**9,
                  _value(stats, "cpu_user_ns") * USER_HZ // 10**9, _value(stats, "blkio_bytes"),
                  _value(stats, "blkio_ios"), _value(stats, "memory_bytes"),
                  _memswap(stats) or 0, _value(stats, "kmem_bytes"))
        out.append(f"{time_ms},{name}," + ",".join(str(v) for v in fields))
    return out


def _interactive(lxcpath: str, delay: float, sort_by: str, reverse: bool) -> None:
    """Clear and redraw every ``delay`` seconds; q quits, a sort letter sorts by it."""
    import select
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        while True:
            rows = sort_rows(collect(lxcpath), sort_by, reverse)
            height = os.get_terminal_size(sys.stdout.fileno()).lines
            # LXC: as many containers as fit beside the two header lines and the TOTAL
            lines = render(rows, bold=True, limit=max(0, height - 3))
            sys.stdout.write(CLEAR + "\n".join(lines) + "\n")
            sys.stdout.flush()
            ready, _, _ = select.select([fd], [], [], delay)
            if not ready:
                continue
            key = os.read(fd, 1).decode(errors="replace")
            if key == "q":
                return
            if key == "r":  # LXC: r flips the order
                reverse = not reverse
            elif key in SORT_KEYS:  # LXC: the same letter again reverses the order
                reverse = not reverse if key == sort_by else False
                sort_by = key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run(lxcpath: str, delay: str | None, sort_by: str, reverse: bool, batch: bool,
        **_: object) -> None:
    """Show the running containers' CPU, block I/O and memory use, refreshed every DELAY
    seconds. On a terminal: q quits, n/c/b/m/s/k sort by that column (again: reverse).
    --batch prints LXC's CSV lines, for a file."""
    import time

    from lxcpy.errors import UsageError

    if sort_by not in tuple(SORT_KEYS):
        raise UsageError(f"invalid sort key '{sort_by}': one of n, c, b, m, s, k")
    if delay is None:
        delay = "300" if batch else "3"  # LXC: a batch refreshes every 5 minutes
    try:
        seconds = float(delay)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(f"invalid delay '{delay}': a number of seconds above 0")
    if not batch and sys.stdin.isatty() and sys.stdout.isatty():
        _interactive(lxcpath, seconds, sort_by, reverse)
        return
    if batch:
        sys.stdout.write(CSV_HEADER + "\n")
    while True:
        rows = sort_rows(collect(lxcpath), sort_by, reverse)
        if batch:
            lines = csv_lines(rows, int(time.time() * 1000))
            sys.stdout.write("".join(line + "\n" for line in lines))
        else:  # no terminal: each table below the last
            sys.stdout.write("\n".join(render(rows)) + "\n\n")
        sys.stdout.flush()  # a reader gone away: run_guarded ends it quietly
        time.sleep(seconds)


def build() -> click.Command:
    import click

    return declare(run, click.command("command", context_settings=CONTEXT),
                   common_options(name_required=False),
                   click.option("-d", "--delay", "delay", default=None, metavar="DELAY",
                                help="delay in seconds between refreshes (default 3; "
                                     "300 with --batch)"),
                   click.option("-s", "--sort", "sort_by", default="n", metavar="SORTBY",
                                help="sort by n name, c cpu, b blkio, m memory, "
                                     "s memory+swap, k kmem (default n)"),
                   click.option("-r", "--reverse", "reverse", is_flag=True,
                                help="reverse the sort order"),
                   click.option("-b", "--batch", "batch", is_flag=True,
                                help="output designed to capture to a file: LXC's CSV "
                                     "lines"))


main = entry("lxc-top", build)
