"""Images: lxc-image export, lxc-create -t image (hostile tarballs refused) and -t oci."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
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


def test_export_of_an_overlay_backed_container(lxcpath: Path, tmp_path: Path) -> None:
    origin = make_busybox(lxcpath, "-B", "overlay")
    run_in(lxcpath, origin, "echo upper > /root/made")
    image = tmp_path / "ov.tar.xz"
    lxc("image", "export", "-n", origin, str(image), lxcpath=lxcpath, check=True, timeout=120)
    with tarfile.open(image, "r:xz") as tar:  # the merged tree: lower and upper
        assert tar.getmember("rootfs/bin/busybox").isreg()
        assert tar.extractfile("rootfs/root/made").read() == b"upper\n"  # type: ignore[union-attr]


def test_export_of_an_unknown_container_refused(lxcpath: Path, tmp_path: Path) -> None:
    ghost = unique()
    result = lxc("image", "export", "-n", ghost, str(tmp_path / "x.tar.xz"), lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (
        1, f"lxc-image: {ghost}: container '{ghost}' is not defined in {lxcpath}\n")
    assert not (tmp_path / "x.tar.xz").exists()


def test_export_of_a_running_container_refused(lxcpath: Path, tmp_path: Path) -> None:
    name = make_busybox(lxcpath)
    lxc("execute", "-n", name, "-d", "--", "sleep", "1000", lxcpath=lxcpath, check=True)
    try:
        result = lxc("image", "export", "-n", name, str(tmp_path / "x.tar.xz"),
                     lxcpath=lxcpath)
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath, check=True)
    assert (result.returncode, result.stderr) == (
        1, f"lxc-image: {name}: {name} is running: stop it before exporting its rootfs\n")
    assert not (tmp_path / "x.tar.xz").exists() and not list(tmp_path.glob(".lxc-image.*"))


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
                                  "hardlink-out", "hardlink-via-symlink",
                                  "hardlink-missing", "architecture", "device", "corrupt"])
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
    elif case == "hardlink-missing":
        hostile(image, (member("h", tarfile.LNKTYPE, "nowhere/file"), None))
        line = "member 'h': No such file or directory"
    elif case == "architecture":
        hostile(image, (member("metadata.yaml"), b'architecture: "s390x"\ntemplates: {}\n'),
                (member("rootfs/pwned"), data))
        line = "image architecture 's390x' cannot run on this"
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


def layer_bytes(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def put_blob(layout: Path, data: bytes, media: str, **extra: object) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media, "digest": f"sha256:{digest}", "size": len(data), **extra}


def oci_layout(layout: Path, config: dict[str, object]) -> Path:
    """Two layers (gzip, then plain) over a busybox rootfs; the second whites out a file
    and makes a directory opaque."""
    busybox = Path(shutil.which("busybox") or "").resolve().read_bytes()
    base = [(member("bin", tarfile.DIRTYPE, mode=0o755), None),
            (member("bin/busybox", mode=0o755), busybox)]
    base += [(member(f"bin/{a}", tarfile.SYMTYPE, "busybox"), None)
             for a in ("sh", "echo", "pwd", "ls", "cat", "id")]
    base += [(member("etc/passwd"), b"root:x:0:0::/root:/bin/sh\napp:x:1234:4321::/:/bin/sh\n"),
             (member("data/gone"), b"old\n"), (member("data/stays"), b"yes\n"),
             (member("opq/old"), b"old\n"), (member("work", tarfile.DIRTYPE, mode=0o755), None)]
    top = [(member("data/.wh.gone"), b""), (member("opq/.wh..wh..opq"), b""),
           (member("opq/new"), b"new\n")]
    layers = [put_blob(layout, gzip.compress(layer_bytes(*base)),
                       "application/vnd.oci.image.layer.v1.tar+gzip"),
              put_blob(layout, layer_bytes(*top), "application/vnd.oci.image.layer.v1.tar")]
    cfg = put_blob(layout, json.dumps({"architecture": "amd64", "os": "linux",
                                       "config": config}).encode(),
                   "application/vnd.oci.image.config.v1+json")
    manifest = put_blob(layout, json.dumps({"schemaVersion": 2, "config": cfg,
                                            "layers": layers}).encode(),
                        "application/vnd.oci.image.manifest.v1+json",
                        annotations={"org.opencontainers.image.ref.name": "v1"})
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2,
                                                   "manifests": [manifest]}))
    return layout


def test_oci_layout_layers_whiteouts_and_config(lxcpath: Path, tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "oci", {"Env": ["FOO=bar baz", "PATH=/bin"],
                                           "Entrypoint": ["sh", "-c"],
                                           "Cmd": ["echo from-cmd; pwd"],
                                           "WorkingDir": "/work", "User": "app"})
    name, result = create(lxcpath, "oci", "--path", str(layout), "--tag", "v1")
    assert result.returncode == 0, result.stderr
    config = (lxcpath / name / "config").read_text()
    assert "lxc.init.cmd = sh -c 'echo from-cmd; pwd'\n" in config
    assert "lxc.environment = FOO=bar baz\n" in config
    assert "lxc.init.uid = 1234\nlxc.init.gid = 4321\n" in config
    rootfs = lxcpath / name / "rootfs"
    assert sorted(os.listdir(rootfs / "data")) == ["stays"]
    assert sorted(os.listdir(rootfs / "opq")) == ["new"]
    out = run_in(lxcpath, name, 'echo "$FOO"; pwd; id -u; ls /data /opq')
    assert out == "bar baz\n/work\n1234\n/data:\nstays\n\n/opq:\nnew\n"
    result = lxc("execute", "-n", name, lxcpath=lxcpath, timeout=60)  # lxc.execute.cmd
    assert (result.returncode, result.stdout) == (0, "from-cmd\n/work\n"), result.stderr


def test_oci_bad_digest_and_missing_tag_refused(lxcpath: Path, tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "oci", {"Cmd": ["true"]})
    name, result = create(lxcpath, "oci", "--path", str(layout), "--tag", "nope")
    assert (result.returncode, result.stderr) == (
        1, f"lxc-create: {name}: oci template: {layout}: no image tagged 'nope'\n")
    for blob in (layout / "blobs" / "sha256").iterdir():
        if blob.read_bytes()[:2] == b"\x1f\x8b":  # the gzip layer: tampered with
            blob.write_bytes(blob.read_bytes()[:-8] + b"\0" * 8)
    name, result = create(lxcpath, "oci", "--path", str(layout))
    assert result.returncode == 1 and "content does not match its digest" in result.stderr
    assert not (lxcpath / name).exists()


def test_oci_layer_writing_through_a_lower_layers_symlink_refused(lxcpath: Path,
                                                                 tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    layout = tmp_path / "oci"
    layers = [put_blob(layout, layer_bytes((member("out", tarfile.SYMTYPE, str(victim)), None)),
                       "application/vnd.oci.image.layer.v1.tar"),
              put_blob(layout, layer_bytes((member("out/pwned"), b"owned\n")),
                       "application/vnd.oci.image.layer.v1.tar")]
    cfg = put_blob(layout, b'{"config": {}}', "application/vnd.oci.image.config.v1+json")
    manifest = put_blob(layout, json.dumps({"schemaVersion": 2, "config": cfg,
                                            "layers": layers}).encode(),
                        "application/vnd.oci.image.manifest.v1+json")
    (layout / "index.json").write_text(json.dumps({"manifests": [manifest]}))
    name, result = create(lxcpath, "oci", "--path", str(layout))
    assert (result.returncode, result.stderr) == (
        1, f"lxc-create: {name}: oci template: member 'out/pwned': written through a symlink "
           "that leaves the rootfs\n")
    assert os.listdir(victim) == [] and not (lxcpath / name).exists()
