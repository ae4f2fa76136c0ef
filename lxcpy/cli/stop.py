"""lxc-stop -n NAME [-t TIMEOUT] [-k] [-r] [-W] [--nokill]"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, entry, fail

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


def run(name: str, lxcpath: str, timeout: int | None, kill: bool, nowait: bool,
        reboot: bool, nokill: bool, nolock: bool,
        rcfile: str | None = None, **_: object) -> None:
    """Stop the container: ask its init to end, then kill what is left after TIMEOUT."""
    from lxcpy.cli.common import container_for

    if kill and timeout is not None:
        fail("-k doesn't allow timeouts")
    if kill and reboot:
        fail("-k can't be used with -r")
    if kill and nokill:
        fail("-k can't be used with --nokill")
    if nolock and not kill:
        fail("--nolock may only be used with -k")
    if reboot:
        # LXC sends lxc.signal.reboot to the init; lxcpy does not restart it afterwards
        container_for(name, lxcpath, rcfile).reboot()
        return
    if timeout is None:
        timeout = 60
    if timeout == 0:
        nowait = True
    container_for(name, lxcpath, rcfile).stop(timeout=timeout, kill=kill, nowait=nowait,
                                              nokill=nokill)


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=CONTEXT),
        common_options(),
        click.option("-t", "--timeout", type=int, default=None,
                     help="seconds to wait before killing (default 60; -1: wait forever)"),
        click.option("-k", "--kill", "kill", is_flag=True, help="kill every process at once"),
        click.option("-W", "--nowait", is_flag=True,
                     help="do not wait for the container to stop"),
        click.option("-r", "--reboot", is_flag=True,
                     help="send lxc.signal.reboot (default SIGINT) to the init; lxcpy does "
                          "not start the container again when it exits"),
        click.option("--nokill", is_flag=True, help="do not kill after the timeout"),
        click.option("--nolock", is_flag=True, help="accepted for LXC compatibility"),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    fastpath.Opt(("-t", "--timeout"), "timeout", convert=int),
    fastpath.flag(("-k", "--kill"), "kill"),
    fastpath.flag(("-W", "--nowait"), "nowait"),
    fastpath.flag(("-r", "--reboot"), "reboot"),
    fastpath.flag(("--nokill",), "nokill"),
    fastpath.flag(("--nolock",), "nolock"),
)
main = entry("lxc-stop", build, FAST, run)
