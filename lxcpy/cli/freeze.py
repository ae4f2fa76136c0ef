"""lxc-freeze -n NAME / lxc-unfreeze -n NAME"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


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


def build_freeze() -> click.Command:
    import click

    return declare(run_freeze, click.command("freeze", context_settings=CONTEXT),
                   common_options())


def build_unfreeze() -> click.Command:
    import click

    return declare(run_unfreeze, click.command("unfreeze", context_settings=CONTEXT),
                   common_options())


FAST = fastpath.table()  # mirrors both builds; tests/unit/test_fastpath.py keeps them equal
freeze_main = entry("lxc-freeze", build_freeze, FAST, run_freeze)
unfreeze_main = entry("lxc-unfreeze", build_unfreeze, FAST, run_unfreeze)
