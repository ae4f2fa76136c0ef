"""lxc-start -n NAME [-d|-F] [-f CONFIG] [-s KEY=VAL] [-p PIDFILE] [-c CONSOLE] [-L LOG] [-C]
[--share-net|--share-ipc|--share-uts|--share-pid NAME|PID] [-- COMMAND...]"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import (
    COMMAND_CONTEXT,
    STATE,
    common_options,
    config_file_options,
    declare,
    entry,
    one_line,
)

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click

# --share-NS options: LXC sets lxc.namespace.share.NS from them (lxc_start.c)
SHARES = ("net", "ipc", "uts", "pid")


def start_defines(defines: tuple[str, ...], console: str | None, console_log: str | None,
                  shares: dict[str, str | None]) -> list[str]:
    """The config settings lxc-start's options stand for, after the user's ``-s``."""
    out = list(defines)
    if console is not None:
        out.append(f"lxc.console.path={console}")
    if console_log is not None:
        out.append(f"lxc.console.logfile={console_log}")
    for ns in SHARES:
        value = shares.get(ns)
        if value is not None:
            out.append(f"lxc.namespace.share.{ns}={value}")
    return out


def run(name: str, lxcpath: str, config_file: str | None, defines: tuple[str, ...],
        daemon: bool, command_args: tuple[str, ...], pidfile: str | None = None,
        console: str | None = None, console_log: str | None = None,
        close_all_fds: bool = False, share_net: str | None = None,
        share_ipc: str | None = None, share_uts: str | None = None,
        share_pid: str | None = None, **_: object) -> None:
    """Boot the container's init (lxc.init.cmd, default /sbin/init) or COMMAND as PID 1."""
    import os
    import sys

    from lxcpy.cgroups import warm

    warm.start()  # the kernel's wait before the first cgroup move, during the imports
    from lxcpy.container import Container

    args = list(command_args)
    if args and args[0] == "--":
        args = args[1:]
    container = Container(name, lxcpath)
    if container.state != "STOPPED":
        # LXC: a message, and success (a script's "make sure it runs" must not fail)
        sys.stderr.write(one_line(f"{STATE.prog}: {name}: Container is already running")
                         + "\n")
        return
    if pidfile is not None:
        pidfile = os.path.abspath(pidfile)  # the daemon changes its cwd
    # -C: lxcpy always closes inherited fds before the container's first process runs
    del close_all_fds
    shares = {"net": share_net, "ipc": share_ipc, "uts": share_uts, "pid": share_pid}
    container.start(args, start_defines(defines, console, console_log, shares), config_file,
                    daemonize=daemon, pidfile=pidfile)


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=COMMAND_CONTEXT),
        common_options(rcfile=False),
        *config_file_options(),
        click.option("-d", "--daemon", "daemon", flag_value=True, default=True,
                     help="daemonize the container (default)"),
        click.option("-F", "--foreground", "daemon", flag_value=False,
                     help="start with the current tty attached"),
        click.option("-p", "--pidfile", "pidfile", metavar="FILE",
                     help="write the PID of the container's monitor (lxc-start) to FILE; "
                          "removed when the container stops"),
        click.option("-c", "--console", "console", metavar="FILE",
                     help="use FILE for the container's console (lxc.console.path)"),
        click.option("-L", "--console-log", "console_log", metavar="FILE",
                     help="log the console output to FILE (lxc.console.logfile)"),
        click.option("-C", "--close-all-fds", "close_all_fds", is_flag=True,
                     help="close inherited file descriptors (lxcpy always does)"),
        click.option("--share-net", "share_net", metavar="NAME|PID",
                     help="share the network namespace of container NAME or process PID"),
        click.option("--share-ipc", "share_ipc", metavar="NAME|PID",
                     help="share the IPC namespace of container NAME or process PID"),
        click.option("--share-uts", "share_uts", metavar="NAME|PID",
                     help="share the UTS namespace of container NAME or process PID"),
        click.option("--share-pid", "share_pid", metavar="NAME|PID",
                     help="share the PID namespace (refused: lxcpy cannot join one yet)"),
        click.argument("command_args", nargs=-1, type=click.UNPROCESSED),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    *fastpath.CONFIG_FILE_OPTS,
    fastpath.flag(("-d", "--daemon"), "daemon", value=True, default=True),
    fastpath.flag(("-F", "--foreground"), "daemon", value=False),  # -d gives the default
    fastpath.Opt(("-p", "--pidfile"), "pidfile"),
    fastpath.Opt(("-c", "--console"), "console"),
    fastpath.Opt(("-L", "--console-log"), "console_log"),
    fastpath.flag(("-C", "--close-all-fds"), "close_all_fds"),
    fastpath.Opt(("--share-net",), "share_net"),
    fastpath.Opt(("--share-ipc",), "share_ipc"),
    fastpath.Opt(("--share-uts",), "share_uts"),
    fastpath.Opt(("--share-pid",), "share_pid"),
    args=(fastpath.Arg("command_args", nargs=-1, required=False),),
    interspersed=False,
)
main = entry("lxc-start", build, FAST, run)
