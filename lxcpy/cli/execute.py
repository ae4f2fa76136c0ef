"""lxc-execute -n NAME [-f CONFIG] [-s KEY=VAL] [--] COMMAND..."""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import COMMAND_CONTEXT, common_options, config_file_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


def run(name: str, lxcpath: str, config_file: str | None, defines: tuple[str, ...],
        uid: int | None, gid: int | None, daemon: bool, command_args: tuple[str, ...],
        **_: object) -> None:
    """Run COMMAND in the container under a small init; exit with its status."""
    from lxcpy.cgroups import warm

    warm.start()  # the kernel's wait before the first cgroup move, during the imports
    from lxcpy.container import Container

    args = list(command_args)
    if args and args[0] == "--":
        args = args[1:]
    status = Container(name, lxcpath).execute(args, defines, config_file, prog="lxc-execute",
                                              uid=uid, gid=gid, daemonize=daemon)
    raise SystemExit(status)


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=COMMAND_CONTEXT),
        common_options(rcfile=False),
        *config_file_options(),
        click.option("-u", "--uid", type=int, help="run the command as UID"),
        click.option("-g", "--gid", type=int, help="run the command as GID"),
        click.option("-d", "--daemon", is_flag=True, help="daemonize the container"),
        click.argument("command_args", nargs=-1, type=click.UNPROCESSED),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    *fastpath.CONFIG_FILE_OPTS,
    fastpath.Opt(("-u", "--uid"), "uid", convert=int),
    fastpath.Opt(("-g", "--gid"), "gid", convert=int),
    fastpath.flag(("-d", "--daemon"), "daemon"),
    args=(fastpath.Arg("command_args", nargs=-1, required=False),),
    interspersed=False,
)
main = entry("lxc-execute", build, FAST, run)
