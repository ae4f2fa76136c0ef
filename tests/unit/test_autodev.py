"""lxc.autodev in a private mount namespace of a forked child (nothing reaches the host)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from lxcpy import kernel as k
from lxcpy.config.model import ContainerConfig
from lxcpy.rootfs.dev import setup_autodev
from lxcpy.rootfs.mounts import Root

pytestmark = pytest.mark.root


def in_private_mounts(rootfs: Path, pty_max: int) -> dict[str, object]:
    """Run setup_autodev on ``rootfs`` in a child with its own mount namespace."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        result: dict[str, object] = {}
        try:
            k.unshare(k.CLONE_NEWNS)
            k.mount(None, "/", None, k.MS_REC | k.MS_PRIVATE, None)
            k.mount(str(rootfs), str(rootfs), None, k.MS_BIND | k.MS_REC, None)
            setup_autodev(ContainerConfig(pty_max=pty_max), Root(str(rootfs)))
            dev = rootfs / "dev"
            result["entries"] = {}
            for name in sorted(os.listdir(dev)):
                st = os.lstat(dev / name)
                result["entries"][name] = [  # type: ignore[index]
                    stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_rdev,
                    os.readlink(dev / name) if stat.S_ISLNK(st.st_mode) else None]
            mounts = [line.split() for line in open("/proc/self/mountinfo")]
            result["mounts"] = {m[4]: (m[m.index("-") + 1], m[m.index("-") + 3])
                                for m in mounts if m[4].startswith(str(dev))}
            with open(dev / "null", "w") as f:
                f.write("discarded")
            with open(dev / "zero", "rb") as f:
                result["zero"] = f.read(4).hex()
            fd = os.open(dev / "ptmx", os.O_RDWR | os.O_NOCTTY)
            result["pty"] = os.readlink(f"/proc/self/fd/{fd}")
            # which devpts the pty came from: the fd's file system and the mounts'
            result["pty_fs"] = os.fstat(fd).st_dev
            result["pts_fs"] = os.stat(dev / "pts").st_dev
            result["host_pts_fs"] = os.stat("/dev/pts").st_dev
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            result["error"] = repr(exc)
        os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def test_dev_contents(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    got = in_private_mounts(rootfs, pty_max=4)
    assert "error" not in got, got["error"]
    entries = got["entries"]
    for name, rdev in (("null", os.makedev(1, 3)), ("zero", os.makedev(1, 5)),
                       ("full", os.makedev(1, 7)), ("random", os.makedev(1, 8)),
                       ("urandom", os.makedev(1, 9)), ("tty", os.makedev(5, 0))):
        kind, mode, dev, _ = entries[name]
        assert (kind, mode, dev) == (stat.S_IFCHR, 0o666, rdev), name
    assert entries["ptmx"][3] == "pts/ptmx"
    assert entries["fd"][3] == "/proc/self/fd"
    assert entries["stdin"][3] == "/proc/self/fd/0"
    assert entries["stderr"][3] == "/proc/self/fd/2"
    assert entries["shm"][0] == stat.S_IFDIR and entries["shm"][1] == 0o1777
    assert entries["mqueue"][0] == stat.S_IFDIR
    mounts = got["mounts"]
    dev = str(rootfs / "dev")
    assert mounts[dev][0] == "tmpfs" and "mode=755" in mounts[dev][1]
    assert mounts[dev + "/pts"][0] == "devpts"
    assert "max=4" in mounts[dev + "/pts"][1] and "ptmxmode=666" in mounts[dev + "/pts"][1]
    assert got["zero"] == "00000000"
    # the pty came from the container's own devpts (a new instance), not the host's
    assert got["pty"] == dev + "/pts/ptmx"
    assert got["pty_fs"] == got["pts_fs"] != got["host_pts_fs"]
    # nothing of it is visible on the host
    assert os.listdir(rootfs / "dev") == []


def test_symlinked_dev_stays_inside(tmp_path: Path) -> None:
    """A rootfs whose /dev is a symlink to a host path must not mount on the host."""
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (rootfs / "dev").symlink_to(outside)  # absolute: resolves inside the rootfs instead
    got = in_private_mounts(rootfs, pty_max=0)
    assert os.listdir(outside) == []
    # ROOTFS/<outside> does not exist: refused, nothing made, nothing mounted
    assert set(got) == {"error"} and "No such file or directory" in str(got["error"]), got
    assert os.listdir(rootfs) == ["dev"]

