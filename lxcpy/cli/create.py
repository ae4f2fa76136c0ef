"""lxc-create -n NAME [-f CONFIG] [-t TEMPLATE] [-- TEMPLATE-OPTIONS]"""

from __future__ import annotations

import click

from lxcpy.cli.common import COMMAND_CONTEXT, common_options, entry


@click.command(context_settings=COMMAND_CONTEXT)
@common_options()
@click.option("-f", "--config", "config_file", help="initial configuration file")
@click.option("-t", "--template", "template",
              help="template: none, busybox, or a path to a template script")
@click.argument("template_args", nargs=-1, type=click.UNPROCESSED)
def command(name: str, lxcpath: str, config_file: str | None, template: str | None,
            template_args: tuple[str, ...], **_: object) -> None:
    """Create a container NAME from a config file (and a template)."""
    from lxcpy.container import Container

    Container(name, lxcpath).create(config_file, template, template_args)


main = entry("lxc-create", command)
