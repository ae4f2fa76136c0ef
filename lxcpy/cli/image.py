"""lxc-image export -n NAME FILE.tar.xz

An image as LXD moves one (its "unified tarball"): ``metadata.yaml`` (architecture,
creation_date, properties, templates) and the container's rootfs under ``rootfs/``, xz
compressed, owners, modes, devices, symlinks and hard links kept. ``lxc-create -t image --
--file FILE.tar.xz`` makes a container from it (lxcpy.templates.image)."""

from __future__ import annotations

import click

from lxcpy.cli.common import COMMAND_CONTEXT, common_options, entry


def yaml_str(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    import json

    return json.dumps(text)


def metadata_yaml(arch: str, created: int, props: dict[str, str]) -> str:
    """LXD's metadata.yaml, written by hand (no YAML library needed for four keys)."""
    lines = [f"architecture: {yaml_str(arch)}", f"creation_date: {created}", "properties:"]
    lines += [f"  {key}: {yaml_str(value)}" for key, value in props.items()]
    lines.append("templates: {}")
    return "\n".join(lines) + "\n"


def os_release(rootfs: str) -> dict[str, str]:
    """ID and VERSION_ID of the rootfs's os-release, read without following its links out."""
    import os

    from lxcpy.errors import KernelError
    from lxcpy.rootfs.pathrs import Root

    out: dict[str, str] = {}
    root = Root(rootfs)
    try:
        for rel in ("etc/os-release", "usr/lib/os-release"):
            try:
                fd = root.open(rel)
            except (OSError, KernelError):
                continue
            try:
                with open(f"/proc/self/fd/{fd}", encoding="utf-8", errors="replace") as f:
                    for line in f.read(65536).splitlines():
                        key, _, value = line.partition("=")
                        out[key.strip()] = value.strip().strip("\"'")
            except OSError:
                pass
            finally:
                os.close(fd)
            break
    finally:
        root.close()
    return out


def export(name: str, lxcpath: str, target: str) -> None:
    import os
    import platform
    import tarfile
    import tempfile
    import time

    from lxcpy.container import Container
    from lxcpy.errors import LxcError
    from lxcpy.storage.removal import store_of_container

    src = Container(name, lxcpath)
    store = store_of_container(src)  # NotDefined for an unknown name
    if store is None:
        raise LxcError(f"{name} has no rootfs to export")
    if src.running:
        raise LxcError(f"{name} is running: stop it before exporting its rootfs")
    target = os.path.abspath(target)
    rootfs = store.open_for_read()
    # written next to FILE and renamed at the end: never a half-written image under its name
    fd, tmp = tempfile.mkstemp(prefix=".lxc-image.", dir=os.path.dirname(target))
    try:
        release = os_release(rootfs)
        props = {"description": f"{release.get('ID', 'linux')} container {name}",
                 "os": release.get("ID", "linux"), "release": release.get("VERSION_ID", "")}
        meta = metadata_yaml(platform.machine(), int(time.time()), props).encode()
        with os.fdopen(fd, "wb") as out, \
                tarfile.open(fileobj=out, mode="w:xz", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("metadata.yaml")
            info.size, info.mode, info.mtime = len(meta), 0o644, int(time.time())
            import io

            tar.addfile(info, io.BytesIO(meta))
            # tarfile.add: lstat, never follows a symlink; owners numeric; devices kept
            tar.add(os.path.join(rootfs, "."), arcname="rootfs", recursive=True)
        os.chmod(tmp, 0o600)  # an image holds a whole rootfs (shadow files): root's only
        os.rename(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise LxcError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise
    finally:
        store.close_read(rootfs)


@click.command(context_settings={**COMMAND_CONTEXT, "allow_interspersed_args": True})
@common_options(rcfile=False)
@click.argument("action", metavar="export")
@click.argument("file", metavar="FILE.tar.xz")
def command(name: str, lxcpath: str, action: str, file: str, **_: object) -> None:
    """Export a container's rootfs as an image (LXD's tarball: metadata.yaml + rootfs/)."""
    from lxcpy.errors import UsageError

    if action != "export":
        raise UsageError(f"unknown action '{action}' (lxc-image export -n NAME FILE.tar.xz)")
    export(name, lxcpath, file)


main = entry("lxc-image", command)
