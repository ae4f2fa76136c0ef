"""lxc-destroy -n NAME [-f] [-s]"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


@click.command(context_settings=CONTEXT)
@common_options()
@click.option("-f", "--force", is_flag=True, help="stop the container first if it is running")
@click.option("-s", "--snapshots", is_flag=True,
              help="destroy its snapshots too (lxcpy makes none yet: a container without "
                   "snapshots is destroyed as without -s)")
def command(name: str, lxcpath: str, force: bool, snapshots: bool, **_: object) -> None:
    """Destroy a container: its config, and its rootfs when that lives in its directory."""
    from lxcpy.container import Container

    del snapshots  # no snapshot store yet: nothing more to remove (LXC succeeds the same)
    Container(name, lxcpath).destroy(force=force)


main = entry("lxc-destroy", command)
