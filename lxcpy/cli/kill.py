"""lxc-kill -n NAME [-s] SIGNAL"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, entry, fail

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


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


def run(name: str, lxcpath: str, sig_option: str | None, sig_arg: str | None,
        **_: object) -> None:
    """Send SIGNAL to every process of the container."""
    from lxcpy.container import Container

    text = sig_option or sig_arg
    if not text:
        return fail("no signal given (-s SIGNAL)")
    try:
        number = parse_signal(text)
    except ValueError as exc:
        fail(str(exc))
    Container(name, lxcpath).kill(number)


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=CONTEXT),
        common_options(),
        click.option("-s", "--signal", "sig_option", help="the signal to send"),
        click.argument("sig_arg", required=False),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    fastpath.Opt(("-s", "--signal"), "sig_option"),
    args=(fastpath.Arg("sig_arg", required=False),),
)
main = entry("lxc-kill", build, FAST, run)
