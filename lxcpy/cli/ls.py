"""lxc-ls [-1] [--running|--stopped|--frozen|--active] [REGEX]"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


@click.command(context_settings=CONTEXT)
@common_options(name_required=False)
@click.option("-1", "one", is_flag=True, help="one name a line")
@click.argument("pattern", required=False)
def command(lxcpath: str, one: bool, pattern: str | None, **_: object) -> None:
    """List the containers of the lxcpath."""
    import re

    from lxcpy.container import list_containers

    names = list_containers(lxcpath)
    if pattern:
        rx = re.compile(pattern)
        names = [n for n in names if rx.search(n)]
    for n in names:
        click.echo(n)


main = entry("lxc-ls", command)
