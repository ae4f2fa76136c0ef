"""lxc-attach -n NAME [--clear-env] [-v VAR=VALUE] [-- COMMAND...]"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import COMMAND_CONTEXT, common_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


def run(name: str, lxcpath: str, clear_env: bool, keep_env: bool,
        variables: tuple[str, ...], command_args: tuple[str, ...], **_: object) -> None:
    """Run COMMAND (default: a shell) inside a running container."""
    from lxcpy.container import Container
    from lxcpy.errors import UsageError

    env = {}
    for item in variables:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid variable '{item}': expected VAR=VALUE")
        env[key] = value
    args = list(command_args)
    if args and args[0] == "--":
        args = args[1:]
    raise SystemExit(Container(name, lxcpath).attach_wait(args, env, clear_env))


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=COMMAND_CONTEXT),
        common_options(),
        click.option("--clear-env", is_flag=True, help="clear the environment before attaching"),
        click.option("--keep-env", is_flag=True, help="keep the environment (default)"),
        click.option("-v", "--set-var", "variables", multiple=True, metavar="VAR=VALUE",
                     help="set an environment variable in the attached program"),
        click.argument("command_args", nargs=-1, type=click.UNPROCESSED),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    fastpath.flag(("--clear-env",), "clear_env"),
    fastpath.flag(("--keep-env",), "keep_env"),
    fastpath.Opt(("-v", "--set-var"), "variables", multiple=True, default=()),
    args=(fastpath.Arg("command_args", nargs=-1, required=False),),
    interspersed=False,
)
main = entry("lxc-attach", build, FAST, run)
