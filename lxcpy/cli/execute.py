"""lxc-execute -n NAME [-f CONFIG] [-s KEY=VAL] [--] COMMAND..."""

from __future__ import annotations

import click

from lxcpy.cli.common import COMMAND_CONTEXT, common_options, entry


@click.command(context_settings=COMMAND_CONTEXT)
@common_options()
@click.option("-f", "--rcfile", "config_file", help="load configuration from FILE")
@click.option("-s", "--define", "defines", multiple=True, metavar="KEY=VAL",
              help="assign VAL to configuration KEY")
@click.option("-u", "--uid", type=int, help="run the command as UID")
@click.option("-g", "--gid", type=int, help="run the command as GID")
@click.option("-d", "--daemon", is_flag=True, help="daemonize the container")
@click.argument("command_args", nargs=-1, type=click.UNPROCESSED)
def command(name: str, lxcpath: str, config_file: str | None, defines: tuple[str, ...],
            uid: int | None, gid: int | None, daemon: bool, command_args: tuple[str, ...],
            **_: object) -> None:
    """Run COMMAND in the container under a small init; exit with its status."""
    from lxcpy.container import Container

    args = list(command_args)
    if args and args[0] == "--":
        args = args[1:]
    status = Container(name, lxcpath).execute(args, defines, config_file, prog="lxc-execute",
                                              uid=uid, gid=gid, daemonize=daemon)
    raise SystemExit(status)


main = entry("lxc-execute", command)
