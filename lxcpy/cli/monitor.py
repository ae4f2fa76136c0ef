"""lxc-monitor [-n REGEX]... [-P LXCPATH]... [-Q]: print state changes as they happen.

The lines are LXC 5's, byte for byte, one per event and flushed at once, so
``lxc-monitor | while read -r line; do ...; done`` sees each change when it happens.
There is no lxc-monitord: each lxc-monitor binds its own socket (lxcpy.runtime.monitor),
so it only sees what is published after it started — never a stale event.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from types import FrameType

import click

from lxcpy.cli.common import CONTEXT, common_options, entry

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from lxcpy.runtime.monitor import Listener

HELP = """Print the state changes of containers, one line per event, until interrupted:

\b
  'NAME' changed state to [STATE]
  'NAME' exited with status [CODE]

Without -n every container of the lxcpath(s) is watched. Each -n is a regular
expression anchored at both ends, like LXC ('web.*' matches web1 but not myweb);
a container is shown when any of them matches.

SIGINT, SIGTERM and SIGHUP end the monitor quietly: it removes its socket and then
dies of that signal, like a C tool, so a shell sees 130 after Ctrl-C and 143 after
kill (and a script loop reading from it stops as with any interrupted command).

Set LXCPY_MONITOR_DELAY=1 to append each event's delivery delay (milliseconds from
the state change to its receipt here) as a trailing column, e.g. `... [RUNNING] 0.084ms`.
"""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stopped(BaseException):
    """Raised from a signal handler to leave the event loop (not an error)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise _Stopped(signum)


def name_matcher(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for all -n patterns, anchored like LXC's ``^(regex)$``; None = all."""
    from lxcpy.errors import UsageError

    if not patterns:
        return None
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"invalid regular expression '{pattern}': {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _unique_lxcpaths(lxcpaths: list[str]) -> list[str]:
    # the Listener links one socket into each lxcpath's directory: a path given twice
    # (or under two spellings) would collide with itself
    seen: set[str] = set()
    out = []
    for path in lxcpaths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            out.append(path)
    return out


@click.command(context_settings=CONTEXT, help=HELP)
@common_options(name_required=False, name_multiple=True, lxcpath_multiple=True)
@click.option("-Q", "--quit", "quit_", is_flag=True,
              help="stop lxc-monitord (lxcpy has no monitor daemon: does nothing, exits 0)")
def command(name: tuple[str, ...], lxcpath: list[str], quit_: bool, **_: object) -> None:
    if quit_:
        return  # LXC's -Q stops lxc-monitord; without a daemon there is nothing to stop
    from lxcpy.runtime.monitor import Listener

    matcher = name_matcher(name)
    show_delay = os.environ.get("LXCPY_MONITOR_DELAY", "") not in ("", "0")
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stopped)
    listener: Listener | None = None
    out = sys.stdout
    try:
        listener = Listener(_unique_lxcpaths(lxcpath))
        for event in listener.events(output_fd=_pipe_fd(out)):
            if matcher is not None and not matcher.fullmatch(event.name):
                continue
            line = event.line()
            if show_delay:
                line += f" {(time.monotonic_ns() - event.sent_ns) / 1e6:.3f}ms"
            out.write(line + "\n")
            out.flush()  # a reader of a pipe must see each line at once
    except _Stopped as stop:
        _close(listener)
        listener = None
        _die_of(stop.signum)
    finally:  # a reader gone away (BrokenPipeError): run_guarded ends it, 141
        _close(listener)


def _pipe_fd(stream: object) -> int | None:
    """stdout's fd when it is a pipe or socket (a reader can go away), else None."""
    import stat

    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None
    return fd if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None


def _close(listener: Listener | None) -> None:
    """Remove our socket files so publishers stop sending to them."""
    if listener is not None:
        try:
            listener.close()
        except OSError:
            pass


def _die_of(signum: int) -> None:
    """Exit by the signal itself so the parent shell sees a death by signal (128+N)."""
    try:
        sys.stdout.flush()
    except OSError:
        pass
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not interrupt this
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    # not reached unless the signal is blocked: fall back to the shell's convention
    raise SystemExit(128 + signum)


main = entry("lxc-monitor", command)
