"""lxc-console: not built yet."""

from lxcpy.cli.common import not_built

main = not_built("lxc-console")
