"""lxc-cgroup -n NAME KEY [VALUE]"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


@click.command(context_settings=CONTEXT)
@common_options()
@click.argument("key")
@click.argument("value", required=False)
def command(name: str, lxcpath: str, key: str, value: str | None, **_: object) -> None:
    """Get or set a cgroup value of a running container."""
    from lxcpy.container import Container
    from lxcpy.errors import NotRunning

    container = Container(name, lxcpath)
    try:
        if value is None:
            click.echo(container.get_cgroup_item(key))
        else:
            container.set_cgroup_item(key, value)
    except NotRunning:
        raise NotRunning(f"'{name}' is not running") from None


main = entry("lxc-cgroup", command)
