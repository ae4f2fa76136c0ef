"""lxc-wait -n NAME -s 'STATE[|STATE...]' [-t TIMEOUT]"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


def run(name: str, lxcpath: str, wanted: str, timeout: float,
        rcfile: str | None = None, **_: object) -> None:
    """Wait until the container is in one of the given states (exit 1 on timeout)."""
    from lxcpy.cli.common import container_for, fail

    container = container_for(name, lxcpath, rcfile)
    if not container.wait(wanted, timeout):
        # one line, as the README promises (LXC 5.0.2 exits 1 and says nothing); an
        # undefined container may still be made and started meanwhile, so it is waited for
        why = "" if container.defined else f" ({name} is not defined)"
        fail(f"timed out after {timeout:g} seconds waiting for state {wanted}{why}")


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=CONTEXT),
        common_options(),
        click.option("-s", "--state", "wanted", required=True,
                     help="states to wait for, e.g. 'RUNNING|FROZEN'"),
        click.option("-t", "--timeout", type=float, default=-1,
                     help="seconds to wait (-1: forever; 0: check once and return)"),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    fastpath.Opt(("-s", "--state"), "wanted", required=True),
    fastpath.Opt(("-t", "--timeout"), "timeout", default=-1.0, convert=float),
)
main = entry("lxc-wait", build, FAST, run)
