"""lxc-cgroup -n NAME KEY [VALUE]"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, echo, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


def run(name: str, lxcpath: str, key: str, value: str | None,
        rcfile: str | None = None, **_: object) -> None:
    """Get or set a cgroup value of a running container."""
    from lxcpy.cli.common import container_for
    from lxcpy.errors import NotRunning

    container = container_for(name, lxcpath, rcfile)
    try:
        if value is None:
            echo(container.get_cgroup_item(key))
        else:
            container.set_cgroup_item(key, value)
    except NotRunning:
        raise NotRunning(f"{name} is not running") from None  # as every other tool says


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=CONTEXT),
        common_options(),
        click.argument("key"),
        click.argument("value", required=False),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(args=(fastpath.Arg("key"), fastpath.Arg("value", required=False)))
main = entry("lxc-cgroup", build, FAST, run)
