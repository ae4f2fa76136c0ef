"""LXC-style template scripts: ``lxc-create -t /path/to/script -- ARGS``.

The script gets LXC's arguments (``--path=LXCPATH/NAME --name=NAME
--rootfs=LXCPATH/NAME/rootfs`` then ARGS) and environment (``LXC_NAME``, ``LXC_PATH`` =
the container directory, ``LXC_ROOTFS_PATH``, ``LXC_CONFIG_FILE``), builds the rootfs
and appends its config lines to ``LXC_CONFIG_FILE``, which holds the config so far.
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from lxcpy.errors import LxcError
from lxcpy.paths import write_atomic

if TYPE_CHECKING:
    from lxcpy.templates import Container, Template


def script_template(path: str) -> Template:
    script = os.path.abspath(path)

    def run(container: Container, config_text: str, args: list[str]) -> str:
        paths = container.paths
        # lxc-create --dir DIR comes as a leading --rootfs=DIR: LXC's --rootfs argument
        rootfs = paths.rootfs
        if args and args[0].startswith("--rootfs="):
            rootfs, args = args[0][len("--rootfs="):], args[1:]
        write_atomic(paths.config, config_text, 0o640)
        os.makedirs(rootfs, mode=0o755, exist_ok=True)
        argv = [script, f"--path={paths.dir}", f"--name={container.name}",
                f"--rootfs={rootfs}", *args]
        env = {**os.environ, "LXC_NAME": container.name, "LXC_PATH": paths.dir,
               "LXC_ROOTFS_PATH": rootfs, "LXC_CONFIG_FILE": paths.config}
        try:
            status = subprocess.run(argv, env=env, cwd=paths.dir).returncode
        except OSError as exc:
            raise LxcError(f"template '{script}': cannot run it: {exc.strerror}") from None
        if status != 0:
            how = (f"was killed by signal {-status}" if status < 0
                   else f"exited with status {status}")
            raise LxcError(f"template '{script}' {how}")
        try:
            with open(paths.config) as f:
                return f.read()
        except OSError as exc:
            raise LxcError(f"template '{script}': cannot read the config back: "
                           f"{exc.strerror}") from None

    return run
