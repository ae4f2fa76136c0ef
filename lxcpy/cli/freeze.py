"""lxc-freeze -n NAME / lxc-unfreeze -n NAME"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


@click.command(context_settings=CONTEXT)
@common_options()
def freeze(name: str, lxcpath: str, **_: object) -> None:
    """Freeze every process of the container; returns once all are frozen."""
    from lxcpy.container import Container

    Container(name, lxcpath).freeze()


@click.command(context_settings=CONTEXT)
@common_options()
def unfreeze(name: str, lxcpath: str, **_: object) -> None:
    """Thaw every process of a frozen container; returns once all run again."""
    from lxcpy.container import Container

    Container(name, lxcpath).unfreeze()


freeze_main = entry("lxc-freeze", freeze)
unfreeze_main = entry("lxc-unfreeze", unfreeze)
