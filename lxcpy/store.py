"""The container store: ``LXCPATH/NAME/config`` (and a rootfs when a template makes one).

A create is all or nothing: the name is claimed with mkdir (exactly one concurrent create
wins), the config is checked before anything is made, and any failure removes the
directory again.
"""

from __future__ import annotations

import os
import shutil

from lxcpy.config.keys import randomize_hwaddr  # noqa: F401 -- the one randomiser (lxc-copy)
from lxcpy.errors import AlreadyExists, ConfigError, LxcError
from lxcpy.paths import write_atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lxcpy.templates import Container  # what is read of one: store is below container


def stored_config_text(source: str) -> str:
    """LXC: the user's lines and comments as written (includes not expanded), blank lines
    dropped, hwaddr ``xx`` digits filled once -- the model read and written back."""
    from lxcpy.config.parser import parse_file, to_text

    return to_text(parse_file(source, randomize_hwaddr=True))


def default_config_text(name: str) -> str:
    from lxcpy.config.parser import new_config, set_item, to_text

    cfg = new_config()
    cfg.lines.append((f"# lxcpy default configuration for {name}", None, ""))
    set_item(cfg, "lxc.uts.name", name)
    return to_text(cfg)


def default_config(name: str) -> str:
    """LXC: without -f, lxc-create starts from lxc.default_config (/etc/lxc/default.conf)."""
    from lxcpy.paths import default_config_path

    path = default_config_path()
    if not os.path.isfile(path):
        return default_config_text(name)
    return stored_config_text(path)  # a broken system default is refused before anything


def set_rootfs_line(text: str, spec: str, config_path: str | None = None) -> str:
    """``text`` with lxc.rootfs.path (or the legacy lxc.rootfs) set to ``spec`` once."""
    from lxcpy.config.parser import parse_text, set_item, to_text

    cfg = parse_text(text, config_path or "<config>")
    set_item(cfg, "lxc.rootfs.path", spec)
    return to_text(cfg)


def create_container(container: Container, config_file: str | None, template: str | None,
                     template_args: list[str],
                     store: tuple[str, str | None, int | None, str | None] | None = None,
                     ) -> None:
    """``store``: lxc-create -B (kind, --dir, --fssize bytes, --fstype): the rootfs is made in
    that backing store (lxcpy.storage), the template fills it, the config names it."""
    from lxcpy.config import parse_text

    paths = container.paths
    if config_file is not None:
        if os.path.isdir(config_file):
            raise ConfigError("is a directory, not a config file", file=config_file)
        if not os.path.isfile(config_file):
            if not os.path.exists(config_file):
                raise ConfigError("no such file", file=config_file)
            raise ConfigError("not a regular file", file=config_file)
        text = stored_config_text(config_file)  # a bad config: refused before anything
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
            made.close_read(where)
    return set_rootfs_line(text, made.spec, container.paths.config)
