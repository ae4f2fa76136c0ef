"""lxc-freeze -n NAME / lxc-unfreeze -n NAME"""

# No `from __future__ import annotations` (its import is ~2% of this command) and nothing
# else of lxcpy at import time: lxcpy._quick answers the ordinary invocation alone.
from lxcpy import _quick as quick

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click

    from lxcpy.cli.fastpath import Table


def run_freeze(name: str, lxcpath: str, rcfile: str | None = None, **_: object) -> None:
    """Freeze every process of the container; returns once all are frozen."""
    from lxcpy.cli.common import container_for
    from lxcpy.errors import LxcError, NotRunning

    container = container_for(name, lxcpath, rcfile)
    try:
        container.freeze()
    except NotRunning:
        raise
    except LxcError:
        # LXC: freezing a frozen container succeeds (exit 0), as scripts expect
        if container.state != "FROZEN":
            raise


def run_unfreeze(name: str, lxcpath: str, rcfile: str | None = None,
                 **_: object) -> None:
    """Thaw every process of a frozen container; returns once all run again."""
    from lxcpy.cli.common import container_for
    from lxcpy.errors import LxcError, NotRunning

    container = container_for(name, lxcpath, rcfile)
    try:
        container.unfreeze()
    except NotRunning:
        # C LXC 5.0.2 (tried): thawing a defined, stopped container exits 0 silently; an
        # undefined one fails
        if not container.defined:
            raise
    except LxcError:
        # LXC: thawing a running (not frozen) container succeeds (exit 0)
        if container.state != "RUNNING":
            raise


def build_freeze() -> "click.Command":
    import click

    from lxcpy.cli.common import CONTEXT, common_options, declare

    return declare(run_freeze, click.command("freeze", context_settings=CONTEXT),
                   common_options())


def build_unfreeze() -> "click.Command":
    import click

    from lxcpy.cli.common import CONTEXT, common_options, declare

    return declare(run_unfreeze, click.command("unfreeze", context_settings=CONTEXT),
                   common_options())


def fast() -> "Table":
    """The fastpath table; mirrors both builds (tests/unit/test_fastpath.py keeps them
    equal)."""
    from lxcpy.cli import fastpath

    return fastpath.table()


def __getattr__(name: str) -> object:
    if name == "FAST":
        return fast()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


freeze_main = quick.entry("lxc-freeze", build_freeze, fast, run_freeze)
unfreeze_main = quick.entry("lxc-unfreeze", build_unfreeze, fast, run_unfreeze)
