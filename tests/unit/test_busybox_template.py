"""The busybox and script templates, called directly (no lxc-create, no parser)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from lxcpy.container import Container
from lxcpy.errors import LxcError
from lxcpy.templates import find_template
from lxcpy.templates.busybox import MISSING, busybox_template, is_static_elf

DATA = Path(__file__).resolve().parent.parent / "data" / "lxc-5.0.2"
needs_busybox = pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")


def container(tmp_path: Path, name: str = "bb") -> Container:
    c = Container(name, str(tmp_path))
    os.mkdir(c.paths.dir)
    return c


def keys(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


@needs_busybox
def test_rootfs_layout(tmp_path: Path) -> None:
    c = container(tmp_path)
    busybox_template(c, "", [])
    root = Path(c.paths.rootfs)
    for d in ("bin", "sbin", "etc/init.d", "usr/bin", "usr/sbin", "proc", "sys", "dev/pts",
              "var/log", "root", "home", "mnt"):
        assert (root / d).is_dir(), d
    assert stat.S_IMODE((root / "tmp").stat().st_mode) == 0o1777
    bb = root / "bin/busybox"
    assert bb.is_file() and not bb.is_symlink() and os.access(bb, os.X_OK)
    assert not bb.stat().st_mode & (stat.S_ISUID | stat.S_ISGID)
    for applet in ("sbin/init", "bin/sh", "bin/ps", "bin/hostname", "usr/bin/["):
        assert os.readlink(root / applet) == "/bin/busybox", applet
    assert (root / "etc/passwd").read_text() == "root:x:0:0:root:/root:/bin/sh\n"
    assert (root / "etc/group").read_text() == "root:x:0:root\n"
    assert (root / "etc/shadow").read_text().startswith("root:")
    machine_id = (root / "etc/machine-id").read_text().strip()
    assert len(machine_id) == 32 and int(machine_id, 16) >= 0
    if os.access("/etc/resolv.conf", os.R_OK):
        assert (root / "etc/resolv.conf").read_text() == Path("/etc/resolv.conf").read_text()
    rcs = (root / "etc/init.d/rcS").read_text()
    assert rcs.startswith("#!/bin/sh") and os.access(root / "etc/init.d/rcS", os.X_OK)
    assert "udhcpc" not in rcs.replace("udhcpc's", "").replace("\"udhcpc -i", "")
    inittab = (root / "etc/inittab").read_text()
    assert "::sysinit:/etc/init.d/rcS" in inittab
    assert "::shutdown:" in inittab
    assert "askfirst" not in inittab  # would spin on a /dev/null console


@needs_busybox
def test_machine_ids_differ(tmp_path: Path) -> None:
    a, b = container(tmp_path, "a"), container(tmp_path, "b")
    busybox_template(a, "", [])
    busybox_template(b, "", [])
    assert (Path(a.paths.rootfs) / "etc/machine-id").read_text() != \
        (Path(b.paths.rootfs) / "etc/machine-id").read_text()


@needs_busybox
def test_config_lines(tmp_path: Path) -> None:
    c = container(tmp_path)
    user = "# mine\nlxc.net.0.type = empty\n"
    text = busybox_template(c, user, [])
    assert text.startswith(user)
    got = dict(keys(text))
    assert got["lxc.rootfs.path"] == f"dir:{c.paths.rootfs}"
    assert got["lxc.signal.halt"] == "SIGUSR1"
    assert got["lxc.signal.reboot"] == "SIGTERM"
    assert got["lxc.uts.name"] == "bb"
    assert got["lxc.autodev"] == "1"
    assert got["lxc.tty.max"] == "5" and got["lxc.pty.max"] == "1"
    # LXC's common.conf: its capability drops, its seccomp profile, its device allow-list
    assert got["lxc.cap.drop"] == "mac_admin mac_override sys_time sys_module sys_rawio"
    profile = Path(c.paths.dir) / "common.seccomp"
    assert got["lxc.seccomp.profile"] == str(profile)
    assert profile.read_text().splitlines()[:2] == ["2", "denylist"]
    lxc_rules = [line for line in (DATA / "common.seccomp").read_text().splitlines()[2:]
                 if not line.startswith("#")]
    assert [line for line in profile.read_text().splitlines()[2:]
            if not line.startswith("#")] == lxc_rules
    common = [(k, v) for k, v in keys((DATA / "common.conf").read_text())
              if k.startswith(("lxc.cgroup.devices.", "lxc.cgroup2.devices."))]
    assert len(common) == 26
    assert [(k, v) for k, v in keys(text) if ".devices." in k] == common
    assert got["lxc.mount.auto"] == "cgroup:mixed proc:mixed sys:ro"
    entries = [v for k, v in keys(text) if k == "lxc.mount.entry"]
    assert any(e.split()[1] == "dev/shm" for e in entries)
    assert any(e.split()[1] == "dev/mqueue" for e in entries)
    assert not any(k.startswith("lxc.net.1") or k == "lxc.net.0.link" for k, _ in keys(text))
    inittab = (Path(c.paths.rootfs) / "etc/inittab").read_text()
    assert [n for n in range(1, 9) if f"tty{n}::" in inittab] == [1, 2, 3, 4, 5]


@needs_busybox
def test_users_lines_win(tmp_path: Path) -> None:
    c = container(tmp_path)
    text = busybox_template(c, "lxc.utsname = mine\nlxc.tty.max = 0\nlxc.signal.halt = 10\n", [])
    got = keys(text)
    assert [v for k, v in got if k in ("lxc.uts.name", "lxc.utsname")] == ["mine"]
    assert [v for k, v in got if k == "lxc.tty.max"] == ["0"]
    assert [v for k, v in got if k == "lxc.signal.halt"] == ["10"]
    root = Path(c.paths.rootfs)
    assert "tty1::" not in (root / "etc/inittab").read_text()
    assert "mine" in (root / "etc/hosts").read_text()


@needs_busybox
def test_users_confinement_lines_win(tmp_path: Path) -> None:
    c = container(tmp_path)
    mine = tmp_path / "mine"  # the template reads the config through the parser: it must load
    mine.write_text("2\ndenylist\n")
    text = busybox_template(c, f"lxc.cap.keep = sys_admin\nlxc.seccomp.profile = {mine}\n"
                               "lxc.cgroup2.devices.allow = a\n", [])
    got = keys(text)
    assert not any(k == "lxc.cap.drop" for k, _ in got)  # cannot be combined with keep
    assert [v for k, v in got if k == "lxc.seccomp.profile"] == [str(mine)]
    assert not (Path(c.paths.dir) / "common.seccomp").exists()
    assert [v for k, v in got if k.startswith("lxc.cgroup2.devices.")] == ["a"]
    assert len([k for k, _ in got if k.startswith("lxc.cgroup.devices.")]) == 13


@needs_busybox
def test_rootfs_option(tmp_path: Path) -> None:
    c = container(tmp_path)
    where = tmp_path / "elsewhere" / "rootfs"
    text = busybox_template(c, "", ["--rootfs", str(where)])
    assert (where / "sbin/init").is_symlink()
    assert ("lxc.rootfs.path", f"dir:{where}") in keys(text)
    assert not os.path.exists(c.paths.rootfs)


def test_unknown_option_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LxcError) as info:
        busybox_template(container(tmp_path), "", ["--bogus"])
    assert "--bogus" in info.value.message and "\n" not in info.value.message


@needs_busybox
def test_refuses_a_non_empty_rootfs(tmp_path: Path) -> None:
    where = tmp_path / "data"
    where.mkdir()
    (where / "precious").write_text("x")
    with pytest.raises(LxcError, match="not an empty directory"):
        busybox_template(container(tmp_path), "", ["--rootfs", str(where)])
    assert os.listdir(where) == ["precious"]


def test_missing_busybox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    c = container(tmp_path)
    with pytest.raises(LxcError) as info:
        busybox_template(c, "", [])
    assert info.value.message == MISSING
    assert os.listdir(c.paths.dir) == []


@needs_busybox
def test_failure_removes_what_it_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lxcpy.templates.busybox as bb

    def broken(*_: object) -> None:
        raise LxcError("boom")

    monkeypatch.setattr(bb, "_install_busybox", broken)
    c = container(tmp_path)
    with pytest.raises(LxcError, match="boom"):
        busybox_template(c, "", [])
    assert not os.path.exists(c.paths.rootfs)


def _elf(path: Path, *program_headers: int) -> str:
    """A minimal 64-bit little-endian ELF file with program headers of these types."""
    import struct

    header = (b"\x7fELF\x02\x01\x01" + bytes(9)
              + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56,
                            len(program_headers), 0, 0, 0))
    path.write_bytes(header + b"".join(struct.pack("<I", t) + bytes(52)
                                       for t in program_headers))
    return str(path)


def test_static_detection(tmp_path: Path) -> None:
    """Made-up files, not the host's binaries (whose linking is the host's business)."""
    script = tmp_path / "s"
    script.write_text("#!/bin/sh\n")
    assert is_static_elf(str(script))
    assert not is_static_elf(_elf(tmp_path / "dynamic", 6, 3, 1))  # PHDR, INTERP, LOAD
    assert is_static_elf(_elf(tmp_path / "static", 1, 1))  # LOAD, LOAD


def test_find_template(tmp_path: Path) -> None:
    assert find_template("busybox") is busybox_template
    with pytest.raises(LxcError, match="not found"):
        find_template("nosuchtemplate")


def test_script_template(tmp_path: Path) -> None:
    script = tmp_path / "tmpl.sh"
    script.write_text("#!/bin/sh\n"
                      "echo \"# args: $*\" >> \"$LXC_CONFIG_FILE\"\n"
                      "echo \"lxc.uts.name = $LXC_NAME\" >> \"$LXC_CONFIG_FILE\"\n"
                      "echo \"# env: $LXC_PATH $LXC_ROOTFS_PATH\" >> \"$LXC_CONFIG_FILE\"\n"
                      "touch \"$LXC_ROOTFS_PATH/made\"\n")
    script.chmod(0o755)
    c = container(tmp_path, "sc")
    text = find_template(str(script))(c, "lxc.tty.max = 0\n", ["-x", "y"])
    lines = text.splitlines()
    assert lines[0] == "lxc.tty.max = 0"
    assert lines[1] == (f"# args: --path={c.paths.dir} --name=sc --rootfs={c.paths.rootfs} "
                        "-x y")
    assert lines[2] == "lxc.uts.name = sc"
    assert lines[3] == f"# env: {c.paths.dir} {c.paths.rootfs}"
    assert os.path.exists(os.path.join(c.paths.rootfs, "made"))


def test_script_template_failure(tmp_path: Path) -> None:
    script = tmp_path / "bad.sh"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(LxcError) as info:
        find_template(str(script))(container(tmp_path), "", [])
    assert str(script) in info.value.message and "status 3" in info.value.message
