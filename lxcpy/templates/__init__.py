"""Templates that build a rootfs at lxc-create time: built-in ones and LXC-style scripts."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from lxcpy.errors import LxcError

if TYPE_CHECKING:
    from typing import Protocol

    from lxcpy.paths import ContainerPaths

    class Container(Protocol):
        """What templates and lxcpy.store read of a lxcpy.container.Container: they are
        handed one by the layer above and never import it."""

        @property
        def name(self) -> str: ...
        @property
        def lxcpath(self) -> str: ...
        @property
        def paths(self) -> ContainerPaths: ...

# (container, config text so far, template args) -> final config text
Template = Callable[["Container", str, list[str]], str]


# LXC's templates directory (Debian: the lxc and lxc-templates packages): lxc-NAME scripts.
# $LXCPY_TEMPLATE_DIR names another one (tests, a custom install).
LXC_TEMPLATE_DIR = "/usr/share/lxc/templates"


def template_dir() -> str:
    return os.environ.get("LXCPY_TEMPLATE_DIR") or LXC_TEMPLATE_DIR


def find_template(name: str) -> Template:
    """lxcpy's own template NAME, else a path to a script, else LXC's ``lxc-NAME``."""
    from lxcpy.templates.script import script_template

    if name == "busybox":
        from lxcpy.templates.busybox import busybox_template

        return busybox_template
    if name == "image":
        from lxcpy.templates.image import image_template

        return image_template
    if name == "oci":
        from lxcpy.templates.oci import oci_template

        return oci_template
    if "/" in name:
        if not os.access(name, os.X_OK):
            raise LxcError(f"template '{name}' is not an executable file")
        return script_template(name)
    script = os.path.join(template_dir(), "lxc-" + name)
    if name not in (".", "..") and os.path.isfile(script) and os.access(script, os.X_OK):
        return script_template(script)
    raise LxcError(f"template '{name}' not found (built in: busybox, image, oci, none; LXC's in "
                   f"{template_dir()}: lxc-NAME; or a path to a template script)")
