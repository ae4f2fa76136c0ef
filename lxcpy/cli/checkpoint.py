"""lxc-checkpoint -n NAME -D DIR [-s] [-v] | -r -D DIR [-d|-F]

CRIU (Debian's criu) does the work in LXC. lxcpy probes it first (``criu check``) and, where
CRIU cannot work on the host, refuses with CRIU's own reason in one line. Where it can,
lxcpy still refuses: restoring a container means rebuilding its supervision (command
socket, cgroups, network devices, console) around CRIU's restored tree, which lxcpy does
not do yet -- a checkpoint that could not be restored is not offered.
"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


def criu_problem() -> str | None:
    """Why CRIU cannot work here (its first error line), or None when ``criu check`` passes."""
    import re
    import shutil
    import subprocess

    if shutil.which("criu") is None:
        return "criu is not installed (Debian: apt-get install criu)"
    done = subprocess.run(["criu", "check"], capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    for line in (done.stderr + done.stdout).splitlines():
        if line.startswith("Error"):  # "Error (criu/vdso.c:381): vdso: Unexpected ..."
            return re.sub(r"^Error \([^)]*\):\s*", "", line).strip()
    return f"criu check failed (exit {done.returncode})"


@click.command(context_settings=CONTEXT)
@common_options()
@click.option("-r", "--restore", is_flag=True, help="restore the container")
@click.option("-D", "--checkpoint-dir", "directory", metavar="DIR",
              help="directory of the checkpoint images")
@click.option("-s", "--stop", is_flag=True, help="stop the container after checkpointing")
@click.option("-v", "--verbose", is_flag=True, help="verbose CRIU logs")
@click.option("-d", "--daemon", is_flag=True, help="restore in the background (default)")
@click.option("-F", "--foreground", is_flag=True, help="restore in the foreground")
def command(name: str, lxcpath: str, restore: bool, directory: str | None, stop: bool,
            verbose: bool, daemon: bool, foreground: bool,
            rcfile: str | None = None, **_: object) -> None:
    """Checkpoint a running container into DIR, or restore it from there (CRIU)."""
    from lxcpy.cli.common import container_for
    from lxcpy.errors import LxcError, NotDefined, NotRunning, UsageError

    if not directory:
        raise UsageError("-D/--checkpoint-dir is required")
    if restore and stop:
        raise UsageError("-s only goes with a checkpoint, not with -r")
    if not restore and (daemon or foreground):
        raise UsageError("-d and -F only go with -r")
    if daemon and foreground:
        raise UsageError("-d and -F exclude each other")
    container = container_for(name, lxcpath, rcfile)
    if not container.defined:
        raise NotDefined(f"container '{name}' is not defined in {lxcpath}")
    running = container.state != "STOPPED"
    if not restore and not running:
        raise NotRunning(f"{name} is not running")
    if restore and running:
        raise LxcError(f"{name} is running")
    problem = criu_problem()
    if problem is not None:
        raise LxcError(f"CRIU cannot work on this host: {problem}")
    raise LxcError("checkpoint/restore is not supported by lxcpy yet (CRIU works here, but "
                   "lxcpy cannot rebuild a restored container's supervision)")


main = entry("lxc-checkpoint", command)
