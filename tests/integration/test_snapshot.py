"""lxc-snapshot and lxc-destroy -s through the installed commands."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import lxc, unique
from tests.integration.test_storage import make_busybox, mounts_under, run_in

pytestmark = pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")
TS = r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d"


def snap(lxcpath: Path, name: str, *args: str) -> str:
    result = lxc("snapshot", "-n", name, *args, lxcpath=lxcpath, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_take_list_restore_destroy(lxcpath: Path, tmp_path: Path) -> None:
    name = make_busybox(lxcpath)
    assert snap(lxcpath, name, "-L") == "No snapshots\n"
    run_in(lxcpath, name, "echo one > /state")
    comment = tmp_path / "comment"
    comment.write_text("before the upgrade\nsecond line\n")
    assert snap(lxcpath, name, "-c", str(comment)) == ""
    run_in(lxcpath, name, "echo two > /state")
    assert snap(lxcpath, name) == ""
    snaps = lxcpath / name / "snaps"
    assert sorted(p.name for p in snaps.iterdir()) == ["snap0", "snap1"]
    assert (snaps / "snap0" / "comment").read_text() == "before the upgrade\nsecond line\n"
    assert re.fullmatch(TS + "\n", (snaps / "snap0" / "ts").read_text())
    listing = snap(lxcpath, name, "-L")
    assert re.fullmatch(rf"snap0 \({snaps}\) {TS}\nsnap1 \({snaps}\) {TS}\n", listing), listing
    with_comments = snap(lxcpath, name, "-L", "-C")
    assert re.fullmatch(rf"snap0 \({snaps}\) {TS}\nbefore the upgrade\nsecond line\n"
                        rf"snap1 \({snaps}\) {TS}\n", with_comments), with_comments
    # a snapshot keeps the hostname; its paths are its own
    text = (snaps / "snap0" / "config").read_text()
    assert f"lxc.uts.name = {name}\n" in text
    assert f"lxc.rootfs.path = dir:{snaps / 'snap0' / 'rootfs'}\n" in text

    run_in(lxcpath, name, "echo three > /state")
    snap(lxcpath, name, "-r", "snap0")
    assert run_in(lxcpath, name, "cat /state; hostname") == f"one\n{name}\n"
    config = (lxcpath / name / "config").read_text()
    assert f"lxc.rootfs.path = dir:{lxcpath / name / 'rootfs'}\n" in config
    assert "snaps" not in config
    # into a new container
    other = unique("n")
    snap(lxcpath, name, "-r", "snap1", "-N", other)
    assert run_in(lxcpath, other, "cat /state; hostname") == f"two\n{other}\n"
    assert (snaps / "snap1").is_dir()

    snap(lxcpath, name, "-d", "snap0")
    assert sorted(p.name for p in snaps.iterdir()) == ["snap1"]
    snap(lxcpath, name)  # the free number is taken again
    assert sorted(p.name for p in snaps.iterdir()) == ["snap0", "snap1"]
    snap(lxcpath, name, "-d", "ALL")
    assert snap(lxcpath, name, "-L") == "No snapshots\n"


def test_destroy_needs_s_with_snapshots(lxcpath: Path) -> None:
    name = make_busybox(lxcpath)
    snap(lxcpath, name)
    result = lxc("destroy", "-n", name, lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (
        1, f"lxc-destroy: {name}: {name} has snapshots (snap0): use -s to destroy them with "
           "it\n")
    assert (lxcpath / name / "snaps" / "snap0" / "config").is_file()
    lxc("destroy", "-n", name, "-s", lxcpath=lxcpath, check=True)
    assert not (lxcpath / name).exists()


def test_overlay_container_snapshot_shares_the_lower(lxcpath: Path) -> None:
    base = make_busybox(lxcpath)
    clone = unique("c")
    lxc("copy", "-n", base, "-N", clone, "-s", lxcpath=lxcpath, check=True)
    run_in(lxcpath, clone, "echo mine > /state")
    snap(lxcpath, clone)
    snapdir = lxcpath / clone / "snaps" / "snap0"
    assert (f"lxc.rootfs.path = overlay:{lxcpath / base / 'rootfs'}:{snapdir / 'delta0'}\n"
            in (snapdir / "config").read_text())
    assert (snapdir / "delta0" / "state").read_text() == "mine\n"
    run_in(lxcpath, clone, "echo changed > /state")
    snap(lxcpath, clone, "-r", "snap0")
    assert run_in(lxcpath, clone, "cat /state") == "mine\n"
    # the base's record names both users of its rootfs: destroying it needs -s
    assert lxc("destroy", "-n", base, lxcpath=lxcpath).returncode == 1
    lxc("destroy", "-n", base, "-s", lxcpath=lxcpath, check=True)
    assert list(lxcpath.iterdir()) == []
    assert mounts_under(lxcpath) == []


def test_running_dir_container_snapshot_refused(lxcpath: Path) -> None:
    name = make_busybox(lxcpath)
    lxc("start", "-n", name, "-d", "--", "sleep", "300", lxcpath=lxcpath, check=True)
    try:
        result = lxc("snapshot", "-n", name, lxcpath=lxcpath)
        assert (result.returncode, result.stderr) == (
            1, f"lxc-snapshot: {name}: {name} is running and its dir store cannot be "
               "snapshotted live (only btrfs can): stop it first\n")
        assert not (lxcpath / name / "snaps" / "snap0").exists()
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath)


@pytest.mark.parametrize(("args", "message"), [
    (("-r", "snap7"), "has no snapshot snap7"),
    (("-d", "../x"), "'../x' is not a snapshot name"),
    (("-L", "-r", "snap0"), "-L and -r exclude each other"),
    (("-c", "/nonexistent"), "comment file /nonexistent: No such file or directory"),
])
def test_bad_requests_one_line(lxcpath: Path, args: tuple[str, ...], message: str) -> None:
    name = make_busybox(lxcpath)
    result = lxc("snapshot", "-n", name, *args, lxcpath=lxcpath)
    assert result.returncode != 0 and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert not (lxcpath / name / "snaps").exists() or \
        list((lxcpath / name / "snaps").iterdir()) == []
