"""lxc-update-config -c FILE: rewrite a legacy config in today's keys (keeps FILE.backup)."""

from __future__ import annotations

import click

from lxcpy.cli.common import CONTEXT, entry, fail, usage_option


@click.command(context_settings=CONTEXT)
@usage_option()
@click.option("-c", "--config", "config_path", metavar="FILE",
              help="the container configuration to update (rewritten in place)")
@click.pass_context
def command(ctx: click.Context, config_path: str | None) -> None:
    """Convert FILE's legacy lxc.* keys (lxc.utsname, lxc.network.*, ...) to today's.

    The original is kept as FILE.backup.
    """
    if config_path is None:  # like LXC: no file, just the usage
        click.echo(ctx.get_help())
        return
    import os
    import stat

    from lxcpy.config.update import update_config_text
    from lxcpy.paths import write_atomic

    try:
        # O_NONBLOCK: a FIFO must be refused, not hang us; a device must never be replaced
        fd = os.open(config_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            os.close(fd)
            fail(f"{config_path}: "
                 + ("is a directory" if stat.S_ISDIR(kind) else "not a regular file"))
        mode = kind & 0o7777
        with open(fd, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        updated = update_config_text(text, config_path)  # through the model, before writing
        # both by rename of a fresh file: a symlink planted at FILE.backup is replaced,
        # never written through (root must not overwrite the file it points to)
        write_atomic(config_path + ".backup", text, mode)
        write_atomic(config_path, updated, mode)
    except OSError as exc:
        where = exc.filename if exc.filename is not None else config_path
        fail(f"{where}: {exc.strerror or exc}")


main = entry("lxc-update-config", command)
