"""lxc-ps [-n NAME] [-P LXCPATH] [-- PS-OPTIONS]: the processes of running containers.

The seed's lxc-ps (section 3.10): a CONTAINER column, then the system ps's own columns.
PIDs are host PIDs, read from each container's cgroup; ``ps -p PIDS PS-OPTIONS`` does
the formatting, so any ps column works (default ``-o pid,tty,time,cmd``).
"""

from __future__ import annotations

import os
import sys

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click

DEFAULT_PS_OPTIONS = ("-o", "pid,tty,time,cmd")
HEADER = "CONTAINER"


def run_ps(pids: list[int], ps_options: list[str], columns: int | None) -> list[str]:
    """ps's output lines for ``pids`` (its header first)."""
    import subprocess

    from lxcpy.errors import LxcError

    env = dict(os.environ)
    if columns is not None:
        env["COLUMNS"] = str(columns)  # ps then cuts long command lines to what fits
    try:
        result = subprocess.run(["ps", "-p", ",".join(map(str, pids)), *ps_options],
                                capture_output=True, text=True, env=env, check=False)
    except FileNotFoundError:
        raise LxcError("ps: command not found (install procps)") from None
    # rc 1 with a header only means the processes ended meanwhile; a real error says so
    if result.returncode not in (0, 1) or (result.returncode == 1 and result.stderr.strip()):
        raise LxcError("ps: " + (result.stderr.strip().splitlines() or ["failed"])[0])
    return result.stdout.splitlines()


def _one_ps(found: list[tuple[str, list[int]]], options: list[str], columns: int | None,
            width: int) -> tuple[str | None, list[str] | None]:
    """One ``ps`` for every container's PIDs (a ps per container cost ~5 ms each), its
    lines given back to their containers by the PID column, in the order one ps per
    container prints them. (None, None) when that cannot be done exactly: the options
    show no PID column, a column before it can hold spaces, or a line names no PID of
    ours; the caller then runs one ps per container."""
    owner = {pid: name for name, procs in found for pid in procs}
    if len(found) < 2 or len(owner) != sum(len(p) for _, p in found):
        return None, None
    lines = run_ps(sorted(owner), options, columns)
    if not lines:
        return None, []  # not even a header: the caller asks ps for it
    head = lines[0].split()
    if "PID" not in head:
        return None, None
    index = head.index("PID")
    if any(col in ("CMD", "COMMAND", "ARGS", "STARTED", "LSTART") for col in head[:index]):
        return None, None
    grouped: dict[str, list[str]] = {name: [] for name, _ in found}
    for line in lines[1:]:
        fields = line.split(None, index + 1)
        pid = int(fields[index]) if len(fields) > index and fields[index].isdigit() else -1
        if pid not in owner:
            return None, None
        grouped[owner[pid]].append(f"{owner[pid]:<{width}} {line}")
    return lines[0], [row for name, _ in found for row in grouped[name]]


def run(name: str | None, lxcpath: str, ps_options: tuple[str, ...], **_: object) -> None:
    """List the processes of every running container (or of NAME) with ps.

    The first column names the container; the others are ps's, for the host PIDs found
    in the container's cgroup. Options after '--' go to ps instead of the default
    '-o pid,tty,time,cmd', e.g. lxc-ps -- -o pid,stat,cmd. Prints only the header when
    nothing runs.
    """
    from lxcpy.cli.ls import candidate_names
    from lxcpy.container import Container
    from lxcpy.errors import NotDefined

    options = list(ps_options) or list(DEFAULT_PS_OPTIONS)
    if name is not None:
        one = Container(name, lxcpath)
        procs = one.cgroup_procs()
        if not procs and not one.defined:
            raise NotDefined(f"{name} doesn't exist")
        found = [(name, procs)] if procs else []
    else:
        found = []
        for candidate in candidate_names(lxcpath):
            procs = Container(candidate, lxcpath).cgroup_procs()
            if procs:
                found.append((candidate, procs))

    width = max([len(HEADER), *(len(n) for n, _ in found)])
    columns = None
    if sys.stdout.isatty():
        columns = max(20, os.get_terminal_size(sys.stdout.fileno()).columns - width - 1)
    header, rows = _one_ps(found, options, columns, width)
    if header is None and rows is None:
        rows = []  # ps's columns name no PID to sort its lines by: one ps per container
        for container_name, procs in found:
            lines = run_ps(procs, options, columns)
            if not lines:
                continue
            header = header or lines[0]
            rows.extend(f"{container_name:<{width}} {line}" for line in lines[1:])
    if header is None:
        # nothing runs (or it all just ended): ps's header for these options, from PID 1
        lines = run_ps([1], options, columns)
        header = lines[0] if lines else ""
    out = [f"{HEADER:<{width}} {header}", *(rows or [])]
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()  # a reader gone away: run_guarded ends it quietly


def build() -> click.Command:
    import click

    return declare(run, click.command("command", context_settings=CONTEXT),
                   common_options(name_required=False, rcfile=False),
                   click.argument("ps_options", nargs=-1, type=click.UNPROCESSED,
                                  metavar="[-- PS-OPTIONS]"))


# mirrors build(); tests/unit/test_fastpath.py keeps them equal. Not click: ~40-50 ms a run
FAST = fastpath.Table(fastpath.COMMON, (fastpath.Arg("ps_options", nargs=-1, required=False),),
                      name_required=False)
main = entry("lxc-ps", build, FAST, run)
