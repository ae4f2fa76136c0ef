"""Templates that build a rootfs at lxc-create time: built-in ones and LXC-style scripts."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from lxcpy.errors import LxcError

if TYPE_CHECKING:
    from lxcpy.container import Container

# (container, config text so far, template args) -> final config text
Template = Callable[["Container", str, list[str]], str]


def find_template(name: str) -> Template:
    if name == "busybox":
        from lxcpy.templates.busybox import busybox_template

        return busybox_template
    if "/" in name:
        if not os.access(name, os.X_OK):
            raise LxcError(f"template '{name}' is not an executable file")
        from lxcpy.templates.script import script_template

        return script_template(name)
    raise LxcError(f"template '{name}' not found (built in: busybox, none; or a path to a "
                   "template script)")
