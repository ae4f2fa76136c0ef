"""lxc-ps [-n NAME] [-P LXCPATH] [-- PS-OPTIONS]: the processes of running containers.

The seed's lxc-ps (section 3.10): a CONTAINER column, then the system ps's own columns.
PIDs are host PIDs, read from each container's cgroup; ``ps -p PIDS PS-OPTIONS`` does
the formatting, so any ps column works (default ``-o pid,tty,time,cmd``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import click

from lxcpy.cli.common import CONTEXT, common_options, entry

DEFAULT_PS_OPTIONS = ("-o", "pid,tty,time,cmd")
HEADER = "CONTAINER"


def run_ps(pids: list[int], ps_options: list[str], columns: int | None) -> list[str]:
    """ps's output lines for ``pids`` (its header first)."""
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


@click.command(context_settings=CONTEXT)
@common_options(name_required=False)
@click.argument("ps_options", nargs=-1, type=click.UNPROCESSED, metavar="[-- PS-OPTIONS]")
def command(name: str | None, lxcpath: str, ps_options: tuple[str, ...], **_: object) -> None:
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
    header: str | None = None
    rows: list[str] = []
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
    out = [f"{HEADER:<{width}} {header}", *rows]
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()  # a reader gone away: run_guarded ends it quietly


main = entry("lxc-ps", command)
