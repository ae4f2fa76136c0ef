"""lxc-kill -n NAME [-s] SIGNAL"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, entry, fail


def parse_signal(text: str) -> int:
    """SIGTERM, TERM, term, 15, SIGRTMIN+3 -> the signal number; error if unknown."""
    import signal

    raw = text.strip()
    if raw.isdigit():
        number = int(raw)
        if 0 < number <= signal.SIGRTMAX:
            return number
        raise ValueError(f"unknown signal '{text}'")
    upper = raw.upper()
    if not upper.startswith("SIG"):
        upper = "SIG" + upper
    for base, value in (("SIGRTMIN", signal.SIGRTMIN), ("SIGRTMAX", signal.SIGRTMAX)):
        if upper.startswith(base):
            rest = upper[len(base):]
            offset = int(rest) if rest and rest.lstrip("+-").isdigit() else 0
            if rest and not rest.lstrip("+-").isdigit():
                break
            number = value + offset
            if signal.SIGRTMIN <= number <= signal.SIGRTMAX:
                return number
            break
    try:
        return int(signal.Signals[upper])
    except KeyError:
        raise ValueError(f"unknown signal '{text}'") from None


@click.command(context_settings=CONTEXT)
@common_options()
@click.option("-s", "--signal", "sig_option", help="the signal to send")
@click.argument("sig_arg", required=False)
def command(name: str, lxcpath: str, sig_option: str | None, sig_arg: str | None,
            **_: object) -> None:
    """Send SIGNAL to every process of the container."""
    from lxcpy.container import Container

    text = sig_option or sig_arg
    if not text:
        fail("no signal given (-s SIGNAL)")
    try:
        number = parse_signal(text)
    except ValueError as exc:
        fail(str(exc))
    Container(name, lxcpath).kill(number)


main = entry("lxc-kill", command)
