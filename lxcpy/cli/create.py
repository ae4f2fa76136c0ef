"""lxc-create -n NAME -t TEMPLATE [-f CONFIG] [-B dir [--dir ROOTFS]] [-- TEMPLATE-OPTIONS]"""

from __future__ import annotations

import click

from lxcpy.cli.common import COMMAND_CONTEXT, common_options, entry

# LXC's backing stores: "dir" (and its aliases) is lxcpy's; the others come with the
# storage layer of the lifecycle issue
DIR_BDEVS = ("dir", "none", "best")  # best: LXC falls back to dir when nothing else fits
OTHER_BDEVS = ("lvm", "loop", "btrfs", "zfs", "rbd", "overlay", "overlayfs")


def check_bdev(bdev: str | None, rootfs_dir: str | None, block: dict[str, str | None]) -> None:
    """LXC's validate_bdev_args, and lxcpy's refusal of the stores it does not have yet."""
    from lxcpy.errors import UsageError

    kind = bdev or "dir"
    if kind not in DIR_BDEVS:
        if kind in OTHER_BDEVS:
            raise UsageError(f"backing store {kind} is not supported yet")
        raise UsageError(f"unknown backing store '{kind}' (dir, lvm, loop, btrfs, zfs, rbd, "
                         "overlay, best)")
    given = [f"--{opt}" for opt, value in block.items() if value is not None]
    if given:
        raise UsageError(f"{', '.join(given)} only valid with a block or lvm/rbd/zfs backing "
                         f"store, not with -B {kind}")
    if rootfs_dir is not None and rootfs_dir == "":
        raise UsageError("--dir needs a directory")


@click.command(context_settings=COMMAND_CONTEXT)
@common_options()
@click.option("-f", "--config", "config_file", help="initial configuration file")
@click.option("-t", "--template", "template",
              help="template: none, busybox, the name of one of LXC's templates "
                   "(/usr/share/lxc/templates/lxc-NAME), or a path to a template script")
@click.option("-B", "--bdev", "bdev", metavar="BACKINGSTORE",
              help="backing store of the rootfs: dir (the default; also none and best); "
                   "lvm, loop, btrfs, zfs, rbd and overlay are not supported yet")
@click.option("--dir", "rootfs_dir", metavar="ROOTFS",
              help="with -B dir: put the rootfs at ROOTFS instead of LXCPATH/NAME/rootfs")
@click.option("--fstype", help="block backing stores only")
@click.option("--fssize", help="block backing stores only")
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

    check_bdev(bdev, rootfs_dir, {"fstype": fstype, "fssize": fssize, "lvname": lvname,
                                  "vgname": vgname, "thinpool": thinpool, "rbdname": rbdname,
                                  "rbdpool": rbdpool, "zfsroot": zfsroot})
    args = list(template_args)
    if args and args[0] == "--":
        args = args[1:]
    container = Container(name, lxcpath)
    if rootfs_dir is None:
        container.create(config_file, template, args)
        return
    rootfs_dir = os.path.abspath(rootfs_dir)
    if template in (None, "", "none"):
        raise UsageError("--dir needs a template that builds the rootfs (-t NAME)")
    # LXC hands the template --rootfs=<the backing store's directory>
    container.create(config_file, template, [f"--rootfs={rootfs_dir}", *args])


main = entry("lxc-create", command)
