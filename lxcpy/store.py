"""The container store: ``LXCPATH/NAME/config`` (and a rootfs when a template makes one).

A create is all or nothing: the name is claimed with mkdir (exactly one concurrent create
wins), the config is checked before anything is made, and any failure removes the
directory again.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import TYPE_CHECKING

from lxcpy.errors import AlreadyExists, ConfigError, LxcError
from lxcpy.paths import write_atomic

if TYPE_CHECKING:
    from lxcpy.container import Container

_HWADDR_LINE = re.compile(r"^(\s*lxc\.(?:net\.\d+|network(?:\.\d+)?)\.hwaddr\s*=\s*)(\S+)(.*)$")


def randomize_hwaddr(mac: str) -> str:
    """Fill LXC's ``xx`` template digits (e.g. 00:16:3e:xx:xx:xx) with random hex."""
    import random

    rng = random.SystemRandom()
    out = "".join(rng.choice("0123456789abcdef") if c in "xX" else c for c in mac)
    # keep the first octet a unicast, locally meaningful address like LXC does
    if "x" in mac[:2].lower():
        first = (int(out[:2], 16) & 0xFE) | 0x02
        out = f"{first:02x}" + out[2:]
    return out


def stored_config_text(source: str) -> str:
    """The user's lines and comments as written, blank lines dropped, hwaddr filled once."""
    lines = []
    with open(source) as f:
        for line in f.read().splitlines():
            if not line.strip():
                continue
            match = _HWADDR_LINE.match(line)
            if match and "x" in match.group(2).lower():
                line = match.group(1) + randomize_hwaddr(match.group(2)) + match.group(3)
            lines.append(line)
    return "\n".join(lines) + "\n"


def default_config_text(name: str) -> str:
    return (f"# lxcpy default configuration for {name}\n"
            f"lxc.uts.name = {name}\n")


def default_config(name: str) -> str:
    """LXC: without -f, lxc-create starts from lxc.default_config (/etc/lxc/default.conf)."""
    from lxcpy.config import parse_file
    from lxcpy.paths import default_config_path

    path = default_config_path()
    if not os.path.isfile(path):
        return default_config_text(name)
    parse_file(path)  # a broken system default is refused before anything is made
    return stored_config_text(path)


def set_rootfs_line(text: str, spec: str) -> str:
    """``text`` with its lxc.rootfs.path (or lxc.rootfs) lines replaced by one saying spec."""
    key = re.compile(r"^\s*lxc\.rootfs(?:\.path)?\s*=")
    lines = [line for line in text.splitlines() if not key.match(line)]
    return "\n".join([*lines, f"lxc.rootfs.path = {spec}"]) + "\n"


def create_container(container: Container, config_file: str | None, template: str | None,
                     template_args: list[str],
                     store: tuple[str, str | None, int | None, str | None] | None = None,
                     ) -> None:
    """``store``: lxc-create -B (kind, --dir, --fssize bytes, --fstype): the rootfs is made in
    that backing store (lxcpy.storage), the template fills it, the config names it."""
    from lxcpy.config import parse_file, parse_text

    paths = container.paths
    if config_file is not None:
        if os.path.isdir(config_file):
            raise ConfigError("is a directory, not a config file", file=config_file)
        if not os.path.isfile(config_file):
            if not os.path.exists(config_file):
                raise ConfigError("no such file", file=config_file)
            raise ConfigError("not a regular file", file=config_file)
        parse_file(config_file)  # refuse a bad config before making anything
        text = stored_config_text(config_file)
    else:
        text = default_config(container.name)
    if template in ("none", ""):
        template = None
    runner = None
    if template is not None:
        from lxcpy.templates import find_template

        runner = find_template(template)

    try:
        os.makedirs(container.lxcpath, mode=0o755, exist_ok=True)
    except OSError as exc:
        raise LxcError(f"cannot create lxcpath '{container.lxcpath}': {exc.strerror}") from None
    if not os.access(container.lxcpath, os.W_OK):
        raise LxcError(f"lxcpath '{container.lxcpath}' is not writable")
    try:
        os.mkdir(paths.dir, 0o770)
    except FileExistsError:
        raise AlreadyExists(f"container '{container.name}' already exists") from None
    except OSError as exc:
        raise LxcError(f"cannot create '{paths.dir}': {exc.strerror}") from None
    try:
        if store is not None:
            text = _make_store(container, text, runner, template_args, *store)
        elif runner is not None:
            text = runner(container, text, template_args)
        parse_text(text, paths.config)  # what we store must load
        write_atomic(paths.config, text, 0o640)
    except BaseException:
        shutil.rmtree(paths.dir, ignore_errors=True)
        raise


def _make_store(container: Container, text: str, runner: object, template_args: list[str],
                kind: str, rootfs_dir: str | None, size: int | None,
                fstype: str | None) -> str:
    """Make the store, let the template fill it (LXC: --rootfs=<where it is mounted>)."""
    from lxcpy.storage import make_store

    made = make_store(kind, container.paths.dir, rootfs_dir, size, fstype)
    if runner is not None:
        where = made.populate()
        try:
            text = runner(container, text, [f"--rootfs={where}", *template_args])  # type: ignore[operator]
        finally:
            if where != made.rootfs and where != getattr(made, "upper", None):
                made.close_read(where)
    return set_rootfs_line(text, made.spec)
