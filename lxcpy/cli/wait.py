"""lxc-wait -n NAME -s 'STATE[|STATE...]' [-t TIMEOUT]"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


@click.command(context_settings=CONTEXT)
@common_options()
@click.option("-s", "--state", "wanted", required=True,
              help="states to wait for, e.g. 'RUNNING|FROZEN'")
@click.option("-t", "--timeout", type=float, default=-1,
              help="seconds to wait (-1: forever; 0: check once and return)")
def command(name: str, lxcpath: str, wanted: str, timeout: float, **_: object) -> None:
    """Wait until the container is in one of the given states (exit 1 on timeout)."""
    from lxcpy.container import Container
    from lxcpy.runtime.states import parse_states
    from lxcpy.runtime.wait import wait_for_states

    states = parse_states(wanted)
    if not wait_for_states(Container(name, lxcpath), states, timeout):
        raise SystemExit(1)


main = entry("lxc-wait", command)
