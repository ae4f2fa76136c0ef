"""lxc-state -n NAME: the state word alone, for scripts."""

# No `from __future__ import annotations` (its import is ~2% of this command) and nothing
# else of lxcpy at import time: lxcpy._quick answers the ordinary invocation alone.
from lxcpy import _quick as quick

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click

    from lxcpy.cli.fastpath import Table


def run(name: str, lxcpath: str, **_: object) -> None:
    """Print the container's state (STOPPED, RUNNING, FROZEN, ...)."""
    from lxcpy.cli.common import echo
    from lxcpy.container import Container
    from lxcpy.errors import NotDefined

    container = Container(name, lxcpath)
    state = container.state
    if state == "STOPPED" and not container.defined:
        raise NotDefined(f"{name} doesn't exist")
    echo(state)


def build() -> "click.Command":
    import click

    from lxcpy.cli.common import CONTEXT, common_options, declare

    return declare(run, click.command("command", context_settings=CONTEXT), common_options())


def fast() -> "Table":
    """The fastpath table; mirrors build() (tests/unit/test_fastpath.py keeps them equal)."""
    from lxcpy.cli import fastpath

    return fastpath.table()


def __getattr__(name: str) -> object:
    if name == "FAST":
        return fast()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


main = quick.entry("lxc-state", build, fast, run)
