"""lxc-autostart [-r|-s|-k] [-L] [-g GROUP]... [-a] [-A] [-t TIMEOUT]

LXC's order: containers with ``lxc.start.auto = 1`` (all with -A), sorted by
``lxc.start.order`` (lower first; shutdown and kill: reversed), ties by name; processed one
group of ``-g`` at a time in the order given (``-g onboot,`` = the boot group, then the
containers in no group; without -g only those in no group; -a ignores groups), each
container at most once. After each start or reboot, ``lxc.start.delay`` seconds pass.
"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, echo, entry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lxcpy.config.model import ContainerConfig
    from lxcpy.container import Container


def select(lxcpath: str, groups: list[str] | None, all_groups: bool, ignore_auto: bool,
           reverse: bool) -> tuple[list[tuple[Container, ContainerConfig]], list[str]]:
    """The containers to act on, in LXC's order; and one error line per unreadable config."""
    from lxcpy.container import Container, list_containers
    from lxcpy.errors import LxcError

    found, errors = [], []
    for name in list_containers(lxcpath):
        container = Container(name, lxcpath)
        try:
            cfg = container.load_config()
        except LxcError as exc:
            errors.append(f"{name}: {exc.message}")
            continue
        if cfg.start_auto or ignore_auto:
            found.append((container, cfg))
    found.sort(key=lambda item: (item[1].start_order, item[0].name), reverse=reverse)
    if all_groups:
        return found, errors
    chosen, done = [], set()
    for group in groups or [""]:
        for container, cfg in found:
            if container.name in done:
                continue
            if (group in cfg.groups) if group else not cfg.groups:
                chosen.append((container, cfg))
                done.add(container.name)
    return chosen, errors


@click.command(context_settings=CONTEXT)
@common_options(name_required=False)
@click.option("-k", "--kill", is_flag=True, help="kill the containers instead of starting them")
@click.option("-L", "--list", "do_list", is_flag=True,
              help="list the containers (and their lxc.start.delay) instead of acting")
@click.option("-r", "--reboot", is_flag=True, help="reboot the containers")
@click.option("-s", "--shutdown", is_flag=True, help="shut the containers down")
@click.option("-t", "--timeout", type=int, default=60, show_default=True,
              help="with -s: seconds to wait before killing a container")
@click.option("-g", "--groups", "groups", multiple=True, metavar="GROUP[,GROUP]",
              help="the groups to act on, in order; an empty name is the containers in no "
                   "group (e.g. -g onboot,)")
@click.option("-a", "--all", "all_groups", is_flag=True, help="ignore lxc.group")
@click.option("-A", "--ignore-auto", is_flag=True, help="ignore lxc.start.auto")
def command(lxcpath: str, kill: bool, do_list: bool, reboot: bool, shutdown: bool,
            timeout: int, groups: tuple[str, ...], all_groups: bool, ignore_auto: bool,
            **_: object) -> None:
    """Start, stop, kill or reboot the containers marked to start automatically."""
    import sys
    import time

    from lxcpy.errors import LxcError, UsageError

    if sum((kill, reboot, shutdown)) > 1:
        raise UsageError("-k, -r and -s exclude each other")
    wanted = [g for spec in groups for g in spec.split(",")] if groups else None
    chosen, errors = select(lxcpath, wanted, all_groups, ignore_auto, reverse=kill or shutdown)
    for container, cfg in chosen:
        running = container.state != "STOPPED"
        try:
            if shutdown or kill:
                if not running:
                    continue
                if do_list:
                    echo(container.name)
                elif kill:
                    container.stop(kill=True)
                else:
                    container.stop(timeout=timeout)
                continue
            if running != reboot:  # start: the stopped ones; reboot: the running ones
                continue
            if do_list:
                echo(f"{container.name} {cfg.start_delay}")
                continue
            if reboot:
                container.reboot()
            elif container.start(daemonize=True) != 0:
                errors.append(f"{container.name}: did not start")
                continue
            if cfg.start_delay:
                time.sleep(cfg.start_delay)  # LXC's lxc.start.delay: a pause, by definition
        except LxcError as exc:
            errors.append(f"{container.name}: {exc.message}")
    for line in errors:
        sys.stderr.write(f"lxc-autostart: {line}\n")
    if errors:
        raise SystemExit(1)


main = entry("lxc-autostart", command)
