"""lxc-destroy -n NAME [-f] [-s]"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


@click.command(context_settings=CONTEXT)
@common_options()
@click.option("-f", "--force", is_flag=True, help="stop the container first if it is running")
@click.option("-s", "--snapshots", is_flag=True,
              help="destroy its snapshot clones too (lxc-copy -s); its own snapshots "
                   "(lxc-snapshot) always go with it")
def command(name: str, lxcpath: str, force: bool, snapshots: bool,
            rcfile: str | None = None, **_: object) -> None:
    """Destroy a container: its config, and its rootfs when that lives in its directory."""
    from lxcpy.cli.common import container_for

    container_for(name, lxcpath, rcfile).destroy(force=force, snapshots=snapshots)


main = entry("lxc-destroy", command)
