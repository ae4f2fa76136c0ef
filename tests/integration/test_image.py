"""Images: lxc-image export, lxc-create -t image (hostile tarballs refused) and -t oci."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.integration.helpers import lxc, unique
from tests.integration.test_storage import make_busybox, run_in

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")]


def create(lxcpath: Path, template: str, *args: str) -> tuple[str, object]:
    name = unique()
    conf = lxcpath.parent / f"{name}.conf"
    conf.write_text(f"lxc.uts.name = {name}\n")
    result = lxc("create", "-n", name, "-f", str(conf), "-t", template, "--", *args,
                 lxcpath=lxcpath, timeout=120)
    return name, result


def test_export_then_create_from_the_image_and_execute(lxcpath: Path, tmp_path: Path) -> None:
    origin = make_busybox(lxcpath)
    run_in(lxcpath, origin, "echo kept > /root/note; chmod 4711 /root/note; "
                            "ln /root/note /root/hard")
    image = tmp_path / "img.tar.xz"
    result = lxc("image", "export", "-n", origin, str(image), lxcpath=lxcpath, timeout=120)
    assert result.returncode == 0, result.stderr
    assert oct(image.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(image, "r:xz") as tar:
        meta = tar.extractfile("metadata.yaml").read().decode()  # type: ignore[union-attr]
        sh = tar.getmember("rootfs/bin/sh")
        assert sh.issym() and sh.linkname == "/bin/busybox"
        assert {tar.getmember(f"rootfs/root/{n}").type for n in ("hard", "note")} == \
            {tarfile.REGTYPE, tarfile.LNKTYPE}
    assert f"architecture: \"{os.uname().machine}\"\n" in meta
    assert "creation_date: " in meta and "properties:\n  description: " in meta
    assert meta.endswith("templates: {}\n")

    name, result = create(lxcpath, "image", "--file", str(image))
    assert result.returncode == 0, result.stderr
    rootfs = lxcpath / name / "rootfs"
    assert f"lxc.rootfs.path = dir:{rootfs}\n" in (lxcpath / name / "config").read_text()
    out = run_in(lxcpath, name, "cat /root/note; stat -c '%a %u %h' /root/note; hostname")
    assert out == f"kept\n4711 0 2\n{name}\n"
    assert os.lstat(rootfs / "bin" / "sh").st_mode & 0o170000 == 0o120000


def test_export_of_an_unknown_container_refused(lxcpath: Path, tmp_path: Path) -> None:
    ghost = unique()
    result = lxc("image", "export", "-n", ghost, str(tmp_path / "x.tar.xz"), lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (
        1, f"lxc-image: {ghost}: container '{ghost}' is not defined in {lxcpath}\n")
    assert not (tmp_path / "x.tar.xz").exists()


def hostile(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w:xz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", **kw: int
           ) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    for key, value in kw.items():
        setattr(info, key, value)
    return info


def snapshot(where: Path) -> set[str]:
    return {str(p) for p in where.rglob("*") if p.suffix != ".conf"}


@pytest.mark.parametrize("case", ["absolute", "dotdot", "symlink-out", "symlink-dotdot",
                                  "hardlink-out", "hardlink-via-symlink", "device", "corrupt"])
def test_hostile_image_refused(lxcpath: Path, tmp_path: Path, case: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    image = tmp_path / "evil.tar.xz"
    data = b"owned\n"
    if case == "absolute":
        hostile(image, (member(f"{victim}/pwned"), data))
        line = f"member '{victim}/pwned': absolute path"
    elif case == "dotdot":
        hostile(image, (member("etc/../../../../../../../../" + f"{victim}/pwned"), data))
        line = "'..' in the path"
    elif case == "symlink-out":  # the link itself is data; writing through it is the attack
        hostile(image, (member("out", tarfile.SYMTYPE, str(victim)), None),
                (member("out/pwned"), data))
        line = "member 'out/pwned': written through a symlink that leaves the rootfs"
    elif case == "symlink-dotdot":
        hostile(image, (member("d", tarfile.DIRTYPE), None),
                (member("d/out", tarfile.SYMTYPE, "../../../../../../../../" + str(victim)),
                 None), (member("d/out/pwned"), data))
        line = "member 'd/out/pwned': written through a symlink that leaves the rootfs"
    elif case == "hardlink-out":
        hostile(image, (member("h", tarfile.LNKTYPE, "../../etc/passwd"), None))
        line = "'..' in the path"
    elif case == "hardlink-via-symlink":  # a hard link to a host file, reached through a link
        (victim / "secret").write_text("host\n")
        hostile(image, (member("out", tarfile.SYMTYPE, str(victim)), None),
                (member("h", tarfile.LNKTYPE, "out/secret"), None))
        line = "member 'h': written through a symlink that leaves the rootfs"
    elif case == "device":  # /dev/sda: a raw disk inside the container
        hostile(image, (member("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0), None))
        line = "member 'dev/sda': device node 8:0 is not a standard one"
    else:
        image.write_bytes(b"\xfd7zXZ\x00\x00garbage" * 10)
        line = "corrupt"
    before = snapshot(tmp_path)
    name, result = create(lxcpath, "image", "--file", str(image))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and line in result.stderr, result.stderr
    assert result.stderr.startswith(f"lxc-create: {name}: image template: ")
    assert not (lxcpath / name).exists()
    assert not victim.joinpath("pwned").exists()
    assert set(os.listdir(victim)) <= {"secret"}
    assert snapshot(tmp_path) == before


def test_standard_device_nodes_kept(lxcpath: Path, tmp_path: Path) -> None:
    image = hostile(tmp_path / "dev.tar.xz",
                    (member("dev", tarfile.DIRTYPE, mode=0o755), None),
                    (member("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666),
                     None),
                    (member("bin", tarfile.SYMTYPE, "usr/bin"), None),
                    (member("usr/bin/tool"), b"#!/bin/sh\n"))
    name, result = create(lxcpath, "image", "--file", str(image))
    assert result.returncode == 0, result.stderr
    st = os.lstat(lxcpath / name / "rootfs" / "dev" / "null")
    assert (os.major(st.st_rdev), os.minor(st.st_rdev), st.st_mode & 0o7777) == (1, 3, 0o666)
