"""lxc-state -n NAME: the state word alone, for scripts."""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, echo, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


def run(name: str, lxcpath: str, **_: object) -> None:
    """Print the container's state (STOPPED, RUNNING, FROZEN, ...)."""
    from lxcpy.container import Container
    from lxcpy.errors import NotDefined

    container = Container(name, lxcpath)
    state = container.state
    if state == "STOPPED" and not container.defined:
        raise NotDefined(f"{name} doesn't exist")
    echo(state)


def build() -> click.Command:
    import click

    return declare(run, click.command("command", context_settings=CONTEXT), common_options())


FAST = fastpath.table()  # mirrors build(); tests/unit/test_fastpath.py keeps them equal
main = entry("lxc-state", build, FAST, run)
