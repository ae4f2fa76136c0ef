"""lxc-state -n NAME: the state word alone, for scripts."""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


@click.command(context_settings=CONTEXT)
@common_options()
def command(name: str, lxcpath: str, **_: object) -> None:
    """Print the container's state (STOPPED, RUNNING, FROZEN, ...)."""
    from lxcpy.container import Container
    from lxcpy.errors import NotDefined

    container = Container(name, lxcpath)
    state = container.state
    if state == "STOPPED" and not container.defined:
        raise NotDefined(f"{name} doesn't exist")
    click.echo(state)


main = entry("lxc-state", command)
