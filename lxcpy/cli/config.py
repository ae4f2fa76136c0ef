"""lxc-config [-l] [ITEM]: LXC's system settings (/etc/lxc/lxc.conf), as LXC prints them."""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, LXC_VERSION, entry, usage_option

# lxc_config.c's items, in its order
ITEMS = ("lxc.default_config", "lxc.lxcpath", "lxc.bdev.lvm.vg", "lxc.bdev.lvm.thin_pool",
         "lxc.bdev.zfs.root", "lxc.cgroup.use", "lxc.cgroup.pattern")
# LXC's built-in values when lxc.conf does not set an item (none: "ITEM is not set.")
DEFAULTS = {"lxc.bdev.lvm.vg": "lxc", "lxc.bdev.lvm.thin_pool": "lxc",
            "lxc.bdev.zfs.root": "lxc"}


def item_value(item: str) -> str | None:
    """What lxcpy uses for ``item``: lxc.conf's value, else LXC's default (or None)."""
    from lxcpy.paths import default_config_path, default_lxcpath, global_config

    if item == "lxc.lxcpath":
        return default_lxcpath()
    if item == "lxc.default_config":
        return default_config_path()
    return global_config().get(item) or DEFAULTS.get(item)


@click.command(context_settings=CONTEXT)
@click.option("-l", "list_items", is_flag=True, help="list all supported keys")
@click.version_option(LXC_VERSION, "--version", message="%(version)s")
@usage_option()
@click.argument("item", required=False)
def command(list_items: bool, item: str | None) -> None:
    """Print the value of a system configuration ITEM (lxc.lxcpath, lxc.default_config, ...).

    The values come from /etc/lxc/lxc.conf ($LXC_GLOBAL_CONF), else LXC's defaults.
    """
    from lxcpy.cli.common import echo, fail

    if list_items:
        echo("\n".join(ITEMS))
        return
    if item is None:
        echo(click.get_current_context().get_help())
        return
    if item not in ITEMS:
        # LXC prints this one on stdout; one line on stderr here, like every lxcpy error
        fail(f"Unknown configuration item: {item}")
    value = item_value(item)
    echo(value if value is not None else f"{item} is not set.")


main = entry("lxc-config", command)
