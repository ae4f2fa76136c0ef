"""The oci template: ``lxc-create -t oci -- --path OCI-LAYOUT-DIR [--tag T]``, as LXC's
lxc-oci does it (without skopeo/umoci: the layout is read here).

index.json -> the manifest (the one there is, or the one whose
``org.opencontainers.image.ref.name`` is the tag; ``latest`` by default) -> its layers
unpacked in order into the rootfs, gzip or plain tar, with the layer whiteouts of the OCI
image spec (``.wh.NAME`` removes NAME of the layers below, ``.wh..wh..opq`` empties its
directory of them) -> the image config mapped to lxc.init.cmd and lxc.execute.cmd
(Entrypoint + Cmd), lxc.environment (Env), lxc.init.cwd (WorkingDir) and lxc.init.uid/gid
(User: numbers, or names looked up in the image's /etc/passwd and /etc/group). Every blob
is named by a digest, checked against its content before use. Each layer goes through
lxcpy.templates.image.Unpacker: nothing is written outside the rootfs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from typing import TYPE_CHECKING, Any

from lxcpy.errors import KernelError, LxcError
from lxcpy.templates.image import (
    Unpacker,
    archive_errors,
    claim_rootfs,
    finish_config,
    open_archive,
    parse_args,
    read_members,
    split_name,
)

if TYPE_CHECKING:
    from lxcpy.templates import Container

WHAT = "oci template"
REF_NAME = "org.opencontainers.image.ref.name"
DIGEST = re.compile(r"(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")


def read_json(path: str, what: str = WHAT) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(16 << 20))
    except FileNotFoundError:
        raise LxcError(f"{what}: {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise LxcError(f"{what}: {path}: not a JSON document ({exc})") from None
    if not isinstance(data, dict):
        raise LxcError(f"{what}: {path}: not a JSON object")
    return data


def blob(layout: str, desc: Any) -> str:
    """The path of the blob a descriptor names, its content checked against the digest."""
    digest = desc.get("digest") if isinstance(desc, dict) else None
    m = DIGEST.fullmatch(digest) if isinstance(digest, str) else None
    if m is None:
        raise LxcError(f"{WHAT}: {layout}: descriptor without a valid digest: {desc!r:.100}")
    alg, hexa = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    path = os.path.join(layout, "blobs", alg, hexa)
    h = hashlib.new(alg)
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except FileNotFoundError:
        raise LxcError(f"{WHAT}: {path}: no such blob") from None
    except OSError as exc:
        raise LxcError(f"{WHAT}: {path}: {exc.strerror}") from None
    if h.hexdigest() != hexa:
        raise LxcError(f"{WHAT}: {path}: content does not match its digest {digest}")
    return path


def pick_manifest(layout: str, tag: str | None) -> dict[str, Any]:
    index = read_json(os.path.join(layout, "index.json"))
    manifests = index.get("manifests")
    if not isinstance(manifests, list) or not manifests:
        raise LxcError(f"{WHAT}: {layout}/index.json: no manifests")
    if tag is None and len(manifests) == 1:
        chosen = manifests[0]
    else:
        want = tag or "latest"
        found = [d for d in manifests if isinstance(d, dict)
                 and (d.get("annotations") or {}).get(REF_NAME) == want]
        if not found:
            raise LxcError(f"{WHAT}: {layout}: no image tagged '{want}'")
        chosen = found[0]
    if chosen.get("mediaType", MANIFEST_TYPES[0]) not in MANIFEST_TYPES:
        raise LxcError(f"{WHAT}: {layout}: manifest type '{chosen.get('mediaType')}' "
                       "is not supported (an image manifest is needed)")
    return read_json(blob(layout, chosen))


def unpack_layer(path: str, unpacker: Unpacker) -> None:
    """One layer: its whiteouts applied to the layers below first, then its members."""
    tar = open_archive(path, WHAT)
    try:
        members = read_members(tar, path, WHAT)
        rest = []
        for member in members:
            parts = split_name(member.name, WHAT)
            base = parts[-1] if parts else ""
            if not base.startswith(".wh."):
                rest.append((member, parts))
                continue
            dirfd = unpacker.open_dir(parts[:-1], member.name)
            try:
                if base == ".wh..wh..opq":
                    for entry in os.listdir(dirfd):
                        Unpacker.remove(dirfd, entry)
                elif base[4:] not in ("", ".", ".."):
                    Unpacker.remove(dirfd, base[4:])
            finally:
                os.close(dirfd)
        for member, parts in rest:
            unpacker.add(tar, member, parts)
    except archive_errors()[:-1] as exc:
        raise LxcError(f"{WHAT}: {path}: corrupt layer ({exc})") from None
    finally:
        tar.close()


def read_in_rootfs(rootfs: str, rel: str) -> str:
    """A file of the image as the container sees it (its symlinks resolved inside it)."""
    from lxcpy.rootfs.pathrs import Root, fd_path

    root = Root(rootfs)
    try:
        fd = root.open(rel)
        try:
            with open(fd_path(fd), encoding="utf-8", errors="replace") as f:
                return f.read(1 << 20)
        finally:
            os.close(fd)
    except (OSError, KernelError):
        return ""
    finally:
        root.close()


def lookup(rootfs: str, table: str, name: str, field: int) -> int:
    """A numeric id, or the id of ``name`` in the image's /etc/passwd or /etc/group."""
    if name.isdigit():
        return int(name)
    for line in read_in_rootfs(rootfs, f"etc/{table}").splitlines():
        fields = line.split(":")
        if len(fields) > field and fields[0] == name and fields[field].isdigit():
            return int(fields[field])
    raise LxcError(f"{WHAT}: User: no {'user' if table == 'passwd' else 'group'} '{name}' "
                   f"in the image's /etc/{table}")


def config_items(rootfs: str, image: dict[str, Any]) -> list[tuple[str, str]]:
    conf = image.get("config") or {}
    if not isinstance(conf, dict):
        raise LxcError(f"{WHAT}: the image config's 'config' is not an object")
    items = [("lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed"), ("lxc.autodev", "1")]
    argv = [*(conf.get("Entrypoint") or []), *(conf.get("Cmd") or [])]
    if not all(isinstance(a, str) for a in argv):
        raise LxcError(f"{WHAT}: Entrypoint/Cmd: not a list of strings")
    if argv:
        items += [("lxc.init.cmd", shlex.join(argv)), ("lxc.execute.cmd", shlex.join(argv))]
    for env in conf.get("Env") or []:
        if not isinstance(env, str) or "=" not in env or "\n" in env:
            raise LxcError(f"{WHAT}: Env: {env!r:.100} is not NAME=VALUE on one line")
        items.append(("lxc.environment", env))
    cwd = conf.get("WorkingDir")
    if cwd:
        items.append(("lxc.init.cwd", str(cwd)))
    user = conf.get("User")
    if user:
        name, _, group = str(user).partition(":")
        uid = lookup(rootfs, "passwd", name, 2)
        if group:
            gid = lookup(rootfs, "group", group, 2)
        elif name.isdigit():
            gid = uid
        else:  # the user's primary group
            gid = next((int(f[3]) for f in (ln.split(":") for ln in read_in_rootfs(
                rootfs, "etc/passwd").splitlines()) if len(f) > 3 and f[0] == name
                and f[3].isdigit()), 0)
        items += [("lxc.init.uid", str(uid)), ("lxc.init.gid", str(gid))]
    for _, value in items:
        if "\n" in value:
            raise LxcError(f"{WHAT}: image config value {value!r:.60} spans lines")
    return items


def oci_template(container: Container, config_text: str, args: list[str]) -> str:
    opts = parse_args("oci", args, (("--path", True), ("--tag", False)))
    layout = os.path.abspath(opts.path)
    manifest = pick_manifest(layout, opts.tag)  # the layout checked before the rootfs is made
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise LxcError(f"{WHAT}: {layout}: the manifest has no layer list")
    for layer in layers:
        if "zstd" in str((layer or {}).get("mediaType", "")):
            raise LxcError(f"{WHAT}: {layout}: zstd layers are not supported")
    image = read_json(blob(layout, manifest.get("config")))
    rootfs = claim_rootfs(container, opts.rootfs, WHAT)
    unpacker = Unpacker(rootfs, WHAT)
    old = os.umask(0)
    try:
        for layer in layers:
            unpack_layer(blob(layout, layer), unpacker)
    finally:
        os.umask(old)
        unpacker.close()
    return finish_config(container, config_text, rootfs, config_items(rootfs, image),
                         "oci template")
