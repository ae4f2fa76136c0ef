"""lxc-console -n NAME [-t TTY] [-e ESCAPE]"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry


@click.command(context_settings=CONTEXT)
@common_options()
@click.option("-t", "--tty", "ttynum", type=int, default=-1, show_default=True,
              help="tty number to attach to: 0 is the console, -1 the first free tty "
                   "(else the console)")
@click.option("-e", "--escape", "escape", default="a", show_default=True, metavar="LETTER",
              help="escape prefix: Ctrl-LETTER q detaches")
def command(name: str, lxcpath: str, ttynum: int, escape: str,
            rcfile: str | None = None, **_: object) -> None:
    """Attach this terminal to a console or tty of a running container.

    Type Ctrl-a q to detach (Ctrl-a Ctrl-a sends Ctrl-a). Without a terminal on stdin
    (a script): prints the console's recent output, sends stdin, and returns once stdin
    has ended and the container has been quiet for half a second.
    """
    from lxcpy.cli.common import container_for
    from lxcpy.runtime.console import escape_code

    code = escape_code(escape)
    raise SystemExit(container_for(name, lxcpath, rcfile).console(ttynum, code))


main = entry("lxc-console", command)
