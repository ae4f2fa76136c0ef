"""Logging in LXC's priorities: TRACE..FATAL, to ``-o FILE`` and (ERROR+) to stderr."""

from __future__ import annotations

import logging
import os
import sys

TRACE = 5
NOTICE = 25
CRIT = logging.CRITICAL
ALERT = logging.CRITICAL + 5
FATAL = logging.CRITICAL + 10

PRIORITIES = {
    "TRACE": TRACE, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "NOTICE": NOTICE,
    "WARN": logging.WARNING, "WARNING": logging.WARNING, "ERROR": logging.ERROR,
    "CRIT": CRIT, "ALERT": ALERT, "FATAL": FATAL,
}
for _name, _level in (("TRACE", TRACE), ("NOTICE", NOTICE), ("ALERT", ALERT), ("FATAL", FATAL)):
    logging.addLevelName(_level, _name)

log = logging.getLogger("lxcpy")


def parse_priority(text: str) -> int:
    key = text.strip().upper()
    if key.isdigit():  # LXC's numeric levels 0 (TRACE) .. 8 (FATAL)
        order = ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL"]
        idx = int(key)
        if idx < len(order):
            return PRIORITIES[order[idx]]
    if key not in PRIORITIES:
        raise ValueError(f"invalid log priority {text!r}")
    return PRIORITIES[key]


def setup(prog: str, name: str | None, logfile: str | None, priority: int | None,
          quiet: bool) -> None:
    """Configure the lxcpy logger once per command."""
    log.handlers.clear()
    log.propagate = False
    level = priority if priority is not None else logging.ERROR
    log.setLevel(min(level, logging.WARNING))
    prefix = f"{prog}: {name}: " if name else f"{prog}: "
    if not quiet:
        err = logging.StreamHandler(sys.stderr)
        # stderr gets warnings and worse unless a lower priority was asked for
        err.setLevel(min(level, logging.WARNING))
        err.setFormatter(logging.Formatter(prefix + "%(message)s"))
        log.addHandler(err)
    if logfile:
        fh = logging.FileHandler(logfile) if logfile != "-" else logging.StreamHandler(sys.stderr)
        fh.setLevel(level)
        fh.setFormatter(logging.Formatter(
            f"{prog} {name or ''} %(asctime)s %(levelname)-8s %(module)s - %(message)s"))
        log.addHandler(fh)
        log.setLevel(level)
    os.environ.setdefault("LXCPY_PROG", prog)


def debugging() -> bool:
    return log.isEnabledFor(logging.DEBUG)
