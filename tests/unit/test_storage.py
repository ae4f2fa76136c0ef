"""The pure parts of lxcpy.storage: spellings, sizes, config rewriting, -m mount entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from lxcpy.errors import LxcError
from lxcpy.storage import (
    BtrfsStore,
    DirStore,
    LoopStore,
    OverlayStore,
    SpecError,
    kind_of,
    parse_size,
    parse_spec,
)
from lxcpy.storage.clone import bind_entry, new_config_text


@pytest.mark.parametrize(("value", "cls", "rootfs", "spec"), [
    ("/srv/a", DirStore, "/srv/a", "dir:/srv/a"),
    ("/srv/a:b", DirStore, "/srv/a:b", "dir:/srv/a:b"),
    ("dir:/srv/a", DirStore, "/srv/a", "dir:/srv/a"),
    ("overlay:/l/a/rootfs:/l/b/delta0", OverlayStore, "/l/b/rootfs",
     "overlay:/l/a/rootfs:/l/b/delta0"),
    ("overlayfs:/l/a/rootfs:/l/b/delta0", OverlayStore, "/l/b/rootfs",
     "overlay:/l/a/rootfs:/l/b/delta0"),
    ("btrfs:/l/a/rootfs", BtrfsStore, "/l/a/rootfs", "btrfs:/l/a/rootfs"),
    ("loop:/l/a/rootdev", LoopStore, "/l/a/rootfs", "loop:/l/a/rootdev"),
])
def test_parse_spec(value: str, cls: type, rootfs: str, spec: str) -> None:
    store = parse_spec(value)
    assert type(store) is cls
    assert (store.rootfs, store.spec) == (rootfs, spec)
    assert parse_spec(store.spec).spec == spec  # round trip


def test_overlay_work_dir_is_lxcs() -> None:
    store = parse_spec("overlay:/l/a/rootfs:/l/b/delta0")
    assert isinstance(store, OverlayStore)
    assert store.work == "/l/b/olwork"


@pytest.mark.parametrize(("value", "message"), [
    ("lvm:/dev/vg/lv", "storage backend 'lvm' is not supported"),
    ("zfs:pool/x", "storage backend 'zfs' is not supported"),
    ("overlay:/a", "is not overlay:LOWER:UPPER"),
    ("overlay::/b", "is not overlay:LOWER:UPPER"),
    ("loop:", "names no path"),
])
def test_bad_specs(value: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(value)


def test_kind_of() -> None:
    assert [kind_of(k) for k in ("dir", "none", "best", "overlayfs", "btrfs", "loop")] == \
        ["dir", "dir", "dir", "overlay", "btrfs", "loop"]
    with pytest.raises(LxcError, match="not supported by lxcpy"):
        kind_of("lvm")
    with pytest.raises(LxcError, match="unknown backing store 'tape'"):
        kind_of("tape")


@pytest.mark.parametrize(("text", "size"), [("64M", 64 << 20), ("1G", 1 << 30),
                                            ("512k", 512 << 10), ("100", 100), ("2t", 2 << 40)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "M", "1.5G", "-1G", "1X"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(LxcError, match="is not a size"):
        parse_size(text)


class _C:
    def __init__(self, name: str, lxcpath: str) -> None:
        from lxcpy.paths import ContainerPaths

        self.name, self.lxcpath = name, lxcpath
        self.paths = ContainerPaths(name, lxcpath)


def test_new_config_text(tmp_path: Path) -> None:
    # the source config is read by the config parser: the profile it names must exist
    lp, m = tmp_path / "l", tmp_path / "m"
    (lp / "old").mkdir(parents=True)
    (lp / "old" / "common.seccomp").write_text("2\ndenylist\n")
    text = (f"lxc.uts.name = old\nlxc.rootfs.path = dir:{lp}/old/rootfs\n"
            f"lxc.seccomp.profile = {lp}/old/common.seccomp\nlxc.mount.fstab = {lp}/oldish/fstab\n"
            "lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:00:00:01\nlxc.ephemeral = 0\n")
    out = new_config_text(text, _C("old", str(lp)), _C("new", str(m)), f"overlay:{lp}/old/rootfs:"
                          f"{m}/new/delta0", keepname=False, keepmac=False, ephemeral=True)
    lines = out.splitlines()
    assert lines[0] == "lxc.uts.name = new"
    assert f"lxc.seccomp.profile = {m}/new/common.seccomp" in lines
    assert f"lxc.mount.fstab = {lp}/oldish/fstab" in lines  # only the container dir moves
    mac = next(line for line in lines if "hwaddr" in line)
    assert mac != "lxc.net.0.hwaddr = 00:16:3e:00:00:01" and mac.startswith(
        "lxc.net.0.hwaddr = 00:16:3e:")
    assert lines[-2:] == [f"lxc.rootfs.path = overlay:{lp}/old/rootfs:{m}/new/delta0",
                          "lxc.ephemeral = 1"]
    assert sum("lxc.ephemeral" in line for line in lines) == 1
    kept = new_config_text(text, _C("old", str(lp)), _C("new", str(lp)), None, keepname=True,
                           keepmac=True)
    assert "lxc.uts.name = old" in kept and "00:16:3e:00:00:01" in kept
    assert "lxc.rootfs" not in kept


def test_bind_entry(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    f = tmp_path / "f"
    f.write_text("")
    assert bind_entry(f"bind={d}") == \
        f"{d} {str(d).lstrip('/')} none bind,optional,rw,create=dir 0 0"
    assert bind_entry(f"bind={d}:/mnt/x") == f"{d} mnt/x none bind,optional,rw,create=dir 0 0"
    assert bind_entry(f"bind={f}:ro") == \
        f"{f} {str(f).lstrip('/')} none bind,optional,ro,create=file 0 0"
    assert bind_entry(f"bind={d}:/a/../b:ro") == f"{d} b none bind,optional,ro,create=dir 0 0"
    for bad, message in ((f"tmpfs={d}", "only bind="), ("bind=rel", "existing absolute"),
                         (f"bind={d}:/x:ro,exec", "ro or rw"), (f"bind={d}:/../..", "bad"),
                         (f"bind={d}:/a:b:c", "too many")):
        with pytest.raises(LxcError, match=message):
            bind_entry(bad)
