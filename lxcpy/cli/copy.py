"""lxc-copy -n NAME -N NEW [-p PATH] [-s] [-B TYPE] [-L SIZE] [-K] [-M] [-a] [-- HOOK-ARGS]
lxc-copy -n NAME [-N NEW] -e [-d|-F] [-D] [-m bind=SRC[:DEST]] [-- CMD]
lxc-copy -n NAME -N NEW -R

As LXC's: the words after ``--`` are also handed to the copy's lxc.hook.clone hooks (after
NEW, ``lxc``, ``clone``); with -e they are the command run in the clone too."""

from __future__ import annotations

import click

from lxcpy.cli.common import COMMAND_CONTEXT, STATE, common_options, echo, entry


@click.command(context_settings=COMMAND_CONTEXT)
@common_options()
@click.option("-N", "--newname", help="NEWNAME of the copy")
@click.option("-p", "--newpath", help="lxcpath of the copy (default: the original's)")
@click.option("-R", "--rename", is_flag=True, help="rename the container")
@click.option("-s", "--snapshot", is_flag=True,
              help="snapshot clone (overlay, or btrfs on a btrfs origin) instead of a copy")
@click.option("-a", "--allowrunning", is_flag=True, help="copy a running container")
@click.option("-F", "--foreground", is_flag=True, help="-e: start in the foreground")
@click.option("-d", "--daemon", is_flag=True, help="-e: start in the background (default)")
@click.option("-e", "--ephemeral", is_flag=True,
              help="start an overlay clone now; it is destroyed when it stops")
@click.option("-m", "--mount", "mounts", multiple=True, metavar="bind=SRC[:DEST][:ro]",
              help="-e: bind mount SRC on DEST in the clone")
@click.option("-B", "--backingstorage", "bdev", metavar="TYPE",
              help="backing store of the copy: dir, overlay, btrfs, loop")
@click.option("-L", "--fssize", help="-B loop: size of the image (default MB: 500, 2G)")
@click.option("-D", "--keepdata", is_flag=True, help="-e: keep the clone after it stops")
@click.option("-K", "--keepname", is_flag=True, help="keep the hostname of the original")
@click.option("-M", "--keepmac", is_flag=True, help="keep the MAC addresses of the original")
@click.option("-t", "--tmpfs", is_flag=True, help="-e: the clone's writable layer on a tmpfs")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def command(name: str, lxcpath: str, newname: str | None, newpath: str | None, rename: bool,
            snapshot: bool, allowrunning: bool, foreground: bool, daemon: bool,
            ephemeral: bool, mounts: tuple[str, ...], bdev: str | None, fssize: str | None,
            keepdata: bool, keepname: bool, keepmac: bool, tmpfs: bool,
            command: tuple[str, ...], rcfile: str | None = None, **_: object) -> None:
    """Copy, snapshot-clone, rename a container, or start an ephemeral clone of it."""
    import os

    from lxcpy.cli.common import container_for
    from lxcpy.errors import UsageError
    from lxcpy.storage import clone as clones
    from lxcpy.storage import parse_size

    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not ephemeral:
        for flag, given in (("-F", foreground), ("-d", daemon), ("-D", keepdata),
                            ("-m", bool(mounts)), ("-t", tmpfs)):
            if given:
                raise UsageError(f"{flag} is only valid with -e")
    if tmpfs:
        raise UsageError("-t (a tmpfs upper layer) is not supported by lxcpy")
    if foreground and daemon:
        raise UsageError("-F and -d exclude each other")
    if not newname and not ephemeral:
        raise UsageError("You must provide a NEWNAME for the clone (-N)")
    size = None
    if fssize is not None:  # LXC: a bare number is MB
        size = parse_size(fssize + "M" if fssize.strip().isdigit() else fssize)
    src = container_for(name, lxcpath, rcfile)
    if newpath is not None:
        newpath = os.path.abspath(newpath)
    if rename:
        if snapshot or ephemeral or bdev or newpath or argv:
            raise UsageError("-R renames in place: no -s, -e, -B, -p or arguments with it")
        clones.rename(src, newname or "", keepname)
        return
    if not ephemeral:
        clones.clone(src, newname or "", newpath, snapshot=snapshot, bdev=bdev, fssize=size,
                     keepname=keepname, keepmac=keepmac, allow_running=allowrunning,
                     hook_args=tuple(argv))
        return
    entries = tuple(clones.bind_entry(m) for m in mounts)
    target = newname or clones.random_name(src.name, newpath or src.lxcpath)
    new = clones.clone(src, target, newpath, snapshot=bdev in (None, "overlay", "overlayfs"),
                       bdev=bdev or "overlay", fssize=size, keepname=keepname,
                       keepmac=keepmac, allow_running=allowrunning,
                       ephemeral=not keepdata, mount_entries=entries, hook_args=tuple(argv))
    if not STATE.quiet:  # LXC's line, -D or not: scripts take the new name from it
        echo(f"Created {new.name} as clone of {src.name}")
    if foreground and not argv:
        raise SystemExit(new.start(daemonize=False))
    try:
        status = new.start(daemonize=True)
    except BaseException:
        status = -1
        raise
    finally:
        if status != 0 and new.defined:  # LXC: a clone that did not start is not kept
            new.destroy(force=True, snapshots=True)
    if status or not argv:
        raise SystemExit(status)
    # LXC: with a command, run it in the clone (attach), then shut the clone down
    try:
        code = new.attach_wait(argv, clear_env=True)
    finally:
        new.stop(timeout=10)
    raise SystemExit(code)


main = entry("lxc-copy", command)
