"""lxc-create -n NAME -t TEMPLATE [-f CONFIG] [-B dir [--dir ROOTFS]] [-- TEMPLATE-OPTIONS]"""

from __future__ import annotations

import click

from lxcpy.cli.common import COMMAND_CONTEXT, common_options, entry

# LXC's block-store options: --fstype and --fssize go with -B loop; the rest with stores
# lxcpy does not have (lvm, rbd, zfs: refused by lxcpy.storage.kind_of)
LOOP_OPTIONS = ("fstype", "fssize")


def check_bdev(bdev: str | None, rootfs_dir: str | None, block: dict[str, str | None]) -> str:
    """LXC's validate_bdev_args; returns the store kind (lxcpy.storage.KINDS)."""
    from lxcpy.errors import UsageError
    from lxcpy.storage import kind_of

    try:
        kind = kind_of(bdev or "dir")
    except Exception as exc:
        raise UsageError(str(exc)) from None
    given = [f"--{opt}" for opt, value in block.items()
             if value is not None and not (kind == "loop" and opt in LOOP_OPTIONS)]
    if given:
        raise UsageError(f"{', '.join(given)} only valid with a block or lvm/rbd/zfs backing "
                         f"store, not with -B {bdev or 'dir'}")
    if rootfs_dir is not None and rootfs_dir == "":
        raise UsageError("--dir needs a directory")
    if rootfs_dir is not None and kind not in ("dir", "btrfs"):
        raise UsageError(f"--dir only valid with -B dir or btrfs, not with -B {bdev}")
    return kind


@click.command(context_settings=COMMAND_CONTEXT)
@common_options()
@click.option("-f", "--config", "config_file", help="initial configuration file")
@click.option("-t", "--template", "template",
              help="template: none, busybox, the name of one of LXC's templates "
                   "(/usr/share/lxc/templates/lxc-NAME), or a path to a template script")
@click.option("-B", "--bdev", "bdev", metavar="BACKINGSTORE",
              help="backing store of the rootfs: dir (the default; also none and best), "
                   "overlay, btrfs (the lxcpath on btrfs) or loop (an image file); lvm, zfs "
                   "and rbd are not supported")
@click.option("--dir", "rootfs_dir", metavar="ROOTFS",
              help="with -B dir or btrfs: put the rootfs at ROOTFS instead of "
                   "LXCPATH/NAME/rootfs")
@click.option("--fstype", help="-B loop: the image's file system (default ext4)")
@click.option("--fssize", help="-B loop: the image's size, e.g. 500M (default 1G)")
@click.option("--lvname", help="-B lvm only")
@click.option("--vgname", help="-B lvm only")
@click.option("--thinpool", help="-B lvm only")
@click.option("--rbdname", help="-B rbd only")
@click.option("--rbdpool", help="-B rbd only")
@click.option("--zfsroot", help="-B zfs only")
@click.argument("template_args", nargs=-1, type=click.UNPROCESSED)
def command(name: str, lxcpath: str, config_file: str | None, template: str | None,
            bdev: str | None, rootfs_dir: str | None, fstype: str | None,
            fssize: str | None, lvname: str | None, vgname: str | None,
            thinpool: str | None, rbdname: str | None, rbdpool: str | None,
            zfsroot: str | None, template_args: tuple[str, ...], **_: object) -> None:
    """Create a container NAME from a config file (and a template)."""
    import os

    from lxcpy.container import Container
    from lxcpy.errors import UsageError

    kind = check_bdev(bdev, rootfs_dir, {"fstype": fstype, "fssize": fssize,
                                         "lvname": lvname, "vgname": vgname,
                                         "thinpool": thinpool, "rbdname": rbdname,
                                         "rbdpool": rbdpool, "zfsroot": zfsroot})
    args = list(template_args)
    if args and args[0] == "--":
        args = args[1:]
    container = Container(name, lxcpath)
    if rootfs_dir is not None:
        rootfs_dir = os.path.abspath(rootfs_dir)
        if template in (None, "", "none"):
            raise UsageError("--dir needs a template that builds the rootfs (-t NAME)")
    if kind == "dir" and bdev is None:
        if rootfs_dir is None:
            container.create(config_file, template, args)
        else:  # LXC hands the template --rootfs=<the backing store's directory>
            container.create(config_file, template, [f"--rootfs={rootfs_dir}", *args])
        return
    from lxcpy.storage import parse_size
    from lxcpy.store import create_container

    size = parse_size(fssize) if fssize is not None else None
    create_container(container, config_file, template, args,
                     store=(kind, rootfs_dir, size, fstype))


main = entry("lxc-create", command)
