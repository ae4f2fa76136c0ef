"""Whether a start needs a console at all, decided without importing ``runtime.console``.

That module (with ``termios``) costs ~3 ms and ~300 KiB of every supervisor, and of the
container's init it forks, even when there is no console: ``lxc-execute`` with
``lxc.console.path = none`` and no rootfs ttys. The console's modes are documented there.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time
if TYPE_CHECKING:
    from lxcpy.config.model import ContainerConfig


def wants_pty(cfg: ContainerConfig, daemonized: bool) -> bool:
    """The console is a pty of the supervisor's: an ``lxc.console.path`` other than
    ``none``, or a daemonised start (LXC's default)."""
    return cfg.console_path != "none" and bool(cfg.console_path or daemonized)


def needs_console(cfg: ContainerConfig, mode: str, daemonized: bool) -> bool:
    """False: no console object at all (the init keeps the supervisor's stdio): neither
    a session of its own (``lxc-start``, a pty) nor ttys in a rootfs."""
    with_root = bool(cfg.rootfs_path or cfg.chroot)
    return mode == "start" or wants_pty(cfg, daemonized) or (with_root and cfg.tty_max > 0)
