"""lxc-start -n NAME [-d|-F] [-f CONFIG] [-s KEY=VAL] [-- COMMAND...]"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import COMMAND_CONTEXT, common_options, config_file_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


def run(name: str, lxcpath: str, config_file: str | None, defines: tuple[str, ...],
        daemon: bool, command_args: tuple[str, ...], **_: object) -> None:
    """Boot the container's init (lxc.init.cmd, default /sbin/init) or COMMAND as PID 1."""
    from lxcpy.container import Container

    args = list(command_args)
    if args and args[0] == "--":
        args = args[1:]
    Container(name, lxcpath).start(args, defines, config_file, daemonize=daemon)


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=COMMAND_CONTEXT),
        common_options(),
        *config_file_options(),
        click.option("-d", "--daemon", "daemon", flag_value=True, default=True,
                     help="daemonize the container (default)"),
        click.option("-F", "--foreground", "daemon", flag_value=False,
                     help="start with the current tty attached"),
        click.argument("command_args", nargs=-1, type=click.UNPROCESSED),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    *fastpath.CONFIG_FILE_OPTS,
    fastpath.flag(("-d", "--daemon"), "daemon", value=True, default=True),
    fastpath.flag(("-F", "--foreground"), "daemon", value=False),  # -d gives the default
    args=(fastpath.Arg("command_args", nargs=-1, required=False),),
    interspersed=False,
)
main = entry("lxc-start", build, FAST, run)
