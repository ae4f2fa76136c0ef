"""lxc-snapshot -n NAME [-c COMMENTFILE] | -L [-C] | -r SNAP [-N NEWNAME] | -d SNAP|ALL"""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, common_options, echo, entry


@click.command(context_settings=CONTEXT)
@common_options()
@click.option("-c", "--comment", "comment_file", metavar="FILE",
              help="store the contents of FILE as the snapshot's comment")
@click.option("-L", "--list", "do_list", is_flag=True, help="list the snapshots")
@click.option("-C", "--showcomments", is_flag=True, help="with -L: show the comments")
@click.option("-r", "--restore", metavar="SNAP", help="restore snapshot SNAP")
@click.option("-N", "--newname", help="with -r: restore into a new container NEWNAME")
@click.option("-d", "--destroy", metavar="SNAP", help="destroy snapshot SNAP (or ALL)")
def command(name: str, lxcpath: str, comment_file: str | None, do_list: bool,
            showcomments: bool, restore: str | None, newname: str | None,
            destroy: str | None, rcfile: str | None = None, **_: object) -> None:
    """Take, list, restore or destroy snapshots of a container."""
    from lxcpy.cli.common import container_for
    from lxcpy.errors import UsageError
    from lxcpy.storage import snapshot as snaps

    tasks = [t for t, given in (("-L", do_list), ("-r", restore is not None),
                                ("-d", destroy is not None)) if given]
    if len(tasks) > 1:
        raise UsageError(f"{' and '.join(tasks)} exclude each other")
    if showcomments and not do_list:
        raise UsageError("-C only goes with -L")
    if newname is not None and restore is None:
        raise UsageError("-N only goes with -r")
    if comment_file is not None and tasks:
        raise UsageError("-c only goes with taking a snapshot")
    container = container_for(name, lxcpath, rcfile)
    if do_list:
        found = snaps.list_snapshots(container)
        if not found:
            echo("No snapshots")
        for snap, ts, comment in found:
            echo(f"{snap} ({snaps.snaps_dir(container)}) {ts}")
            if showcomments and comment:
                echo(comment.rstrip("\n"))
        return
    if restore is not None:
        snaps.restore(container, restore, newname)
        return
    if destroy is not None:
        snaps.destroy_snapshot(container, destroy)
        return
    snaps.snapshot(container, comment_file)


main = entry("lxc-snapshot", command)
