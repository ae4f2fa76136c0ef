"""Logging in LXC's priorities: TRACE..FATAL, to ``-o FILE`` and (ERROR+) to stderr."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    import logging
    from typing import Any, TextIO

    from lxcpy.config.model import ContainerConfig

# logging's levels as numbers: `logging` itself (~5 ms with string, traceback, ...) is
# imported only once something is logged at WARNING or above, or -o/-l configures it
TRACE = 5
DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50
NOTICE = 25
CRIT = CRITICAL
ALERT = CRITICAL + 5
FATAL = CRITICAL + 10

PRIORITIES = {
    "TRACE": TRACE, "DEBUG": DEBUG, "INFO": INFO, "NOTICE": NOTICE,
    "WARN": WARNING, "WARNING": WARNING, "ERROR": ERROR,
    "CRIT": CRIT, "ALERT": ALERT, "FATAL": FATAL,
}

_logger: logging.Logger | None = None


def get_logger() -> logging.Logger:
    """The real ``lxcpy`` logger (imports logging on first use)."""
    global _logger
    if _logger is None:
        import logging

        for name, level in (("TRACE", TRACE), ("NOTICE", NOTICE), ("ALERT", ALERT),
                            ("FATAL", FATAL)):
            logging.addLevelName(level, name)
        _logger = logging.getLogger("lxcpy")
    return _logger


class _LazyLog:
    """Stands for ``logging.getLogger("lxcpy")`` without importing logging up front.

    debug() and info() are dropped while logging has not been imported at all: nothing
    can have configured a handler or a level low enough to show them.
    """

    def debug(self, *args: Any, **kwargs: Any) -> None:
        if _logger is not None or "logging" in sys.modules:
            # stacklevel + 1: %(module)s names our caller, not this wrapper
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            get_logger().debug(*args, **kwargs)

    def info(self, *args: Any, **kwargs: Any) -> None:
        if _logger is not None or "logging" in sys.modules:
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            get_logger().info(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(get_logger(), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(get_logger(), attr, value)


log: logging.Logger = _LazyLog()  # type: ignore[assignment]


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


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written: ``lxc-start -d`` points it at the
    caller's stderr until the container runs (lxcpy.runtime.daemon), then at /dev/null."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text) if sys.stderr is not None else 0

    def flush(self) -> None:
        if sys.stderr is not None:
            sys.stderr.flush()


_STDERR = _Stderr()

LOG_MODE = 0o640  # LXC's: a log may name paths and commands; not for every user


def _open_logfile(path: str) -> TextIO:
    """Open ``-o FILE`` for appending; a FIFO nobody reads fails at once instead of hanging.

    O_NOFOLLOW: a symlink planted at the log's path must not make root append elsewhere.
    """
    from lxcpy.errors import LxcError

    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
                     | os.O_NOFOLLOW, LOG_MODE)
    except OSError as exc:
        why = "it is a symbolic link" if exc.errno == 40 else exc.strerror  # ELOOP
        raise LxcError(f"cannot open log file '{path}': {why}") from None
    os.set_blocking(fd, True)  # O_NONBLOCK only for the open (F_SETFL, without fcntl)
    return open(fd, "a", encoding="utf-8", errors="backslashreplace")


def setup(prog: str, name: str | None, logfile: str | None, priority: int | None,
          quiet: bool) -> None:
    """Configure the lxcpy logger once per command."""
    import logging

    global _cli_file, _cli_priority
    _cli_file, _cli_priority = bool(logfile), priority is not None
    log = get_logger()
    log.handlers.clear()
    log.propagate = False
    level = priority if priority is not None else logging.ERROR
    log.setLevel(min(level, logging.WARNING))
    prefix = f"{prog}: {name}: " if name else f"{prog}: "
    if not quiet:
        err = logging.StreamHandler(_STDERR)
        # stderr gets warnings and worse unless a lower priority was asked for
        err.setLevel(min(level, logging.WARNING))
        err.setFormatter(logging.Formatter(prefix + "%(message)s"))
        log.addHandler(err)
    if logfile:
        # without -l the file gets INFO and up (LXC's default is ERROR: an empty -o file
        # after a good run tells nothing); stderr keeps its WARNING/ERROR
        _add_file(prog, name, logfile, priority if priority is not None else INFO)
    os.environ.setdefault("LXCPY_PROG", prog)


_cli_file = False  # -o given: it wins over lxc.log.file, as in LXC
_cli_priority = False  # -l given: it wins over lxc.log.level


def _add_file(prog: str, name: str | None, logfile: str, level: int) -> None:
    import logging

    log = get_logger()
    fh = logging.StreamHandler(_open_logfile(logfile) if logfile != "-" else sys.stderr)
    fh.setLevel(level)
    fh.set_name("lxcpy-file")
    fh.setFormatter(logging.Formatter(
        f"{prog} {name or ''} %(asctime)s %(levelname)-8s %(module)s - %(message)s"))
    log.addHandler(fh)
    log.setLevel(min(level, log.level or level))


def configure_from_config(cfg: ContainerConfig, prog: str, name: str) -> None:
    """lxc.log.file / lxc.log.level of a container's config, unless -o / -l said otherwise."""
    if not cfg.log_file and not cfg.log_level:
        return

    log = get_logger()
    level = PRIORITIES[cfg.log_level] if cfg.log_level else None
    if cfg.log_file and not _cli_file:
        if not log.handlers:  # no -o/-l: setup() never ran; keep warnings on stderr
            setup(prog, name, None, None, False)
        _add_file(prog, name, cfg.log_file, level if level is not None else INFO)
    elif level is not None and not _cli_priority:
        for handler in log.handlers:
            if handler.get_name() == "lxcpy-file":
                handler.setLevel(level)
                log.setLevel(min(level, log.level))


def debugging() -> bool:
    if _logger is None and "logging" not in sys.modules:
        return False  # nothing configured: the default level is WARNING
    return get_logger().isEnabledFor(DEBUG)
