"""A hostile rootfs and config must never make a mount land outside the rootfs.

Symlinks inside the rootfs (absolute, ``../..``, through /proc/self magic links) as the
targets of lxc.mount.entry and lxc.mount.fstab lines, as the rootfs's /proc, /dev or /sys,
as a relative bind source, and a rootfs path with symlinked components. Each start either
mounts inside the rootfs or aborts with one clear line; nothing is mounted on, or written
into, the host. Each case pins the one outcome lxcpy gives (paths resolved by openat2 with
RESOLVE_IN_ROOT: an absolute symlink leads to a path inside the rootfs, which a create
option does not make through a symlink), never "either".

Three views are checked:
* inside the container after pivot_root: ``/proc/self/mountinfo`` shows the mount where it
  was meant to be;
* inside the container's mount namespace *before* pivot_root (``lxc.hook.pre-mount`` and
  ``lxc.hook.mount`` hooks dump ``/proc/self/mountinfo`` before and after the start's
  mounts, while the host tree is still visible): every mount the start made -- the
  difference of the two, both in the container's namespace, so nothing else on the host
  counts -- lies under the rootfs;
* on the host: its mounts on the test's directory and on the places the symlinks aim at
  (/, /etc, /tmp) and a host directory that the symlinks point at are unchanged.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults._helpers import (
    assert_one_line_error,
    mountinfo_points,
    mounts_at,
    tree,
)
from tests.integration.helpers import busybox_rootfs, lxc, make

pytestmark = pytest.mark.root

UP = "../" * 12  # more than enough to climb out of any tmp_path


@dataclass
class World:
    tmp: Path
    root: Path  # the rootfs (a real path)
    host: Path  # a host directory the symlinks aim at; nothing may change in it
    dump: Path  # where the mount hook writes the namespace's mountinfo
    lxcpath: Path

    @property
    def dump_before(self) -> Path:  # the same, written by the pre-mount hook
        return self.dump.with_suffix(".before")

    def hook_lines(self) -> str:
        lines = ""
        for hook, dump in (("pre-mount", self.dump_before), ("mount", self.dump)):
            script = self.tmp / f"dump-{hook}.sh"
            script.write_text(f"#!/bin/sh\ncat /proc/self/mountinfo > {dump}\n")
            script.chmod(0o755)
            lines += f"lxc.hook.{hook} = {script}\n"
        return lines


@pytest.fixture
def world(lxcpath: Path, tmp_path: Path) -> World:
    root = busybox_rootfs(tmp_path / "rootfs")
    host = tmp_path / "host"
    (host / "b").mkdir(parents=True)
    (host / "marker").write_text("host file\n")
    return World(tmp_path, root, host, tmp_path / "ns.mountinfo", lxcpath)


# the host's places a hostile symlink aims at (besides the test's own directory, which holds
# the host directory, the rootfs and the cwd that /proc/self/cwd names): / (``../..``), /etc
# and /tmp themselves. Other mounts of the host are other work's, not this test's.
HOST_AIMS = ("/", "/etc", "/tmp")


def watched_mounts(w: World) -> Counter[str]:
    return mounts_at((w.tmp,), exact=HOST_AIMS)


def start(w: World, extra: str, rootfs: str | None = None,
          cmd: tuple[str, ...] = ("cat", "/proc/self/mountinfo")) -> tuple[object, Counter[str]]:
    """Create and execute once; check the host; return (result, mounts the start made)."""
    name = make(w.lxcpath, f"lxc.rootfs.path = {rootfs or w.root}\n{w.hook_lines()}{extra}",
                prefix="hr")
    host_tree = tree(w.host)
    watched_before = watched_mounts(w)
    for dump in (w.dump, w.dump_before):
        if dump.exists():
            dump.unlink()
    r = lxc("execute", "-n", name, "--", *cmd, lxcpath=w.lxcpath, timeout=30, cwd=w.host)
    watched_after = watched_mounts(w)
    assert "Traceback" not in r.stderr, r.stderr
    # nothing mounted on the host, nothing written into the host directory
    assert watched_after == watched_before, (watched_after - watched_before,
                                             watched_before - watched_after)
    assert tree(w.host) == host_tree
    assert (w.host / "marker").read_text() == "host file\n"
    made: Counter[str] = Counter()
    if w.dump.exists():
        made = (mountinfo_points(w.dump.read_text())
                - mountinfo_points(w.dump_before.read_text()))
    # every mount the start made in the container's namespace lies inside the rootfs
    real_root = os.path.realpath(w.root)
    outside = [p for p in made if p != real_root and not p.startswith(real_root + "/")]
    assert outside == [], f"mounts outside the rootfs: {outside}"
    return r, made


def inside_points(r: object) -> set[str]:
    return set(mountinfo_points(r.stdout))  # type: ignore[attr-defined]


def expect_inside(r: object, point: str) -> None:
    assert r.returncode == 0, r.stderr  # type: ignore[attr-defined]
    assert point in inside_points(r), sorted(inside_points(r))


def expect_refused(r: object, why: str | None = None) -> str:
    """One line on stderr; with ``why``, the line ends with it (after the config's
    ``file:line: key: ``)."""
    line = assert_one_line_error(r)  # type: ignore[arg-type]
    if why is not None:
        assert line.endswith(f": lxc.mount.entry: {why}"), line
    return line


# ---- lxc.mount.entry and lxc.mount.fstab targets through symlinks ----------------------
def entries(w: World, lines: list[str], how: str) -> str:
    if how == "entry":
        return "".join(f"lxc.mount.entry = {line}\n" for line in lines)
    fstab = w.tmp / "fstab"
    fstab.write_text("".join(line + "\n" for line in lines))
    return f"lxc.mount.fstab = {fstab}\n"


@pytest.fixture(params=["entry", "fstab"])
def how(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_target_symlink_to_absolute_etc(world: World, how: str) -> None:
    (world.root / "mnt" / "e").symlink_to("/etc")
    r, made = start(world, entries(world, ["tmpfs mnt/e tmpfs defaults 0 0"], how))
    expect_inside(r, "/etc")  # the rootfs's /etc, not the host's
    assert str(world.root / "etc") in made


def test_target_symlink_to_a_host_dir(world: World, how: str) -> None:
    (world.root / "mnt" / "h").symlink_to(world.host)
    r, _ = start(world, entries(world, ["tmpfs mnt/h tmpfs defaults 0 0"], how))
    expect_refused(r)
    # create=dir makes nothing through the symlink (mkdir finds it there), and the path it
    # names inside the rootfs does not exist: refused
    r, _ = start(world, entries(world, ["tmpfs mnt/h tmpfs defaults,create=dir 0 0"], how))
    expect_refused(r, "cannot mount 'tmpfs' on 'mnt/h': No such file or directory")


def test_target_symlink_climbing_out(world: World, how: str) -> None:
    (world.root / "mnt" / "u").symlink_to(UP + str(world.host).lstrip("/"))
    r, _ = start(world, entries(world, ["tmpfs mnt/u tmpfs defaults 0 0"], how))
    expect_refused(r)
    (world.root / "mnt" / "t").symlink_to(UP + "tmp")
    r, made = start(world, entries(world, ["tmpfs mnt/t tmpfs defaults 0 0"], how))
    expect_inside(r, "/tmp")
    assert str(world.root / "tmp") in made


def test_target_symlink_to_the_rootfs_itself(world: World, how: str) -> None:
    """``../../..`` from the top is the rootfs: a mount over it must not hide the rootfs."""
    (world.root / "mnt" / "top").symlink_to(UP)
    r, _ = start(world, entries(world, ["tmpfs mnt/top tmpfs defaults 0 0"], how))
    expect_refused(r)


def test_target_through_proc_self_magic_links(world: World, how: str) -> None:
    # a proc mounted inside the rootfs by an earlier entry, then targets through its magic
    # links: /proc/self/cwd is the caller's cwd (the host dir), /proc/self/root the host's /
    lines = ["proc mnt/p proc defaults,create=dir 0 0"]
    for target in ("mnt/p/self/cwd", "mnt/p/self/root/etc", "mnt/p/1/cwd"):
        r, _ = start(world, entries(world, [*lines, f"tmpfs {target} tmpfs defaults 0 0"], how))
        expect_refused(r)
    (world.root / "mnt" / "s").symlink_to("/mnt/p/self/cwd")
    r, _ = start(world, entries(world, [*lines, "tmpfs mnt/s tmpfs defaults 0 0"], how))
    expect_refused(r)
    # and a symlink to /proc/self/... while /proc is still the rootfs's empty directory
    (world.root / "mnt" / "ps").symlink_to("/proc/self/cwd")
    r, _ = start(world, entries(world, ["tmpfs mnt/ps tmpfs defaults 0 0"], how))
    expect_refused(r)


def test_create_file_through_symlink_writes_nothing_on_host(world: World, how: str) -> None:
    (world.root / "mnt" / "f").symlink_to(world.host / "newfile")
    (world.root / "mnt" / "d").symlink_to(world.host / "newdir")
    # the file is not created through the symlink (O_NOFOLLOW: it exists), nor the
    # directories (the symlink's target, read inside the rootfs, does not exist)
    for target, kind, errno_text in (("mnt/f", "file", "File exists"),
                                     ("mnt/d", "dir", "No such file or directory"),
                                     ("mnt/d/sub", "dir", "No such file or directory")):
        r, _ = start(world, entries(
            world, [f"/etc/hostname {target} none bind,create={kind} 0 0"], how))
        expect_refused(r, f"cannot mount '/etc/hostname' on '{target}': {errno_text}")
    assert not (world.host / "newfile").exists() and not (world.host / "newdir").exists()


def test_relative_bind_source_through_symlink(world: World, how: str) -> None:
    """A relative bind source is inside the rootfs: a symlink there must not reach the host."""
    (world.root / "mnt" / "src").symlink_to(world.host)
    (world.root / "mnt" / "dst").mkdir()
    r, _ = start(world, entries(world, ["mnt/src mnt/dst none bind 0 0"], how),
                 cmd=("ls", "/mnt/dst"))
    assert "marker" not in r.stdout, "the host directory was bound into the container"
    # the source's symlink, read inside the rootfs, names a path that does not exist there
    expect_refused(r, "cannot mount 'mnt/src' on 'mnt/dst': No such file or directory")
    # a plain relative source inside the rootfs still works
    (world.root / "srcdir").mkdir()
    (world.root / "srcdir" / "inside").write_text("x")
    r, _ = start(world, entries(world, ["srcdir mnt/dst none bind 0 0"], how),
                 cmd=("ls", "/mnt/dst"))
    assert r.returncode == 0 and r.stdout.split() == ["inside"], r.stderr


# ---- the rootfs's own /proc, /dev, /sys are symlinks --------------------------------------
SPECIAL = {"proc": "", "dev": "lxc.autodev = 1\n", "sys": "lxc.mount.auto = sys:ro\n"}


@pytest.mark.parametrize("where", ["/tmp", "host", "up-host", "up", "self"])
@pytest.mark.parametrize("special", sorted(SPECIAL))
def test_special_dir_is_a_symlink(world: World, special: str, where: str) -> None:
    link = world.root / special
    link.rmdir()
    aim = {"/tmp": "/tmp", "host": str(world.host), "up-host": UP + str(world.host).lstrip("/"),
           "up": "../../", "self": "/proc/self/cwd"}[where]
    link.symlink_to(aim)
    r, made = start(world, SPECIAL[special], cmd=("cat", "/proc/self/mountinfo"))
    if where == "/tmp":
        # runs, and the mount lands in the rootfs's /tmp (the container follows its own
        # symlink, as it would after pivot_root)
        assert r.returncode == 0, r.stderr
        assert str(world.root / "tmp") in made, made
    else:
        # the rootfs itself, or a place that is not in the rootfs: refused
        expect_refused(r)


# ---- a rootfs path with symlinked components ----------------------------------------------
def test_rootfs_path_with_symlinked_components(world: World) -> None:
    (world.tmp / "via").symlink_to(world.tmp)
    (world.tmp / "via2").symlink_to("via")
    given = world.tmp / "via2" / "rootfs"
    (world.root / "mnt" / "a").mkdir()
    (world.root / "mnt" / "b").mkdir()
    extra = ("lxc.mount.entry = tmpfs mnt/a tmpfs defaults 0 0\n"
             f"lxc.mount.entry = tmpfs {given}/mnt/b tmpfs defaults,create=dir 0 0\n")
    r, made = start(world, extra, rootfs=str(given))
    expect_inside(r, "/mnt/a")
    assert str(world.root / "mnt" / "a") in made
    # the absolute target spelled with the symlinked rootfs path is not the rootfs path the
    # kernel resolved, so it is a path inside the rootfs, made there (create=dir) and
    # mounted there: the container sees it under its whole name
    assert str(given / "mnt" / "b") in inside_points(r), sorted(inside_points(r))
    assert str(world.root) + str(given / "mnt" / "b") in made, made


# ---- a symlink swapped between check and mount -------------------------------------------
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def exchange(a: Path, b: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE):
        raise OSError(ctypes.get_errno(), "renameat2")


def test_symlink_swapped_during_fifty_starts(world: World) -> None:
    """A thread flips rootfs dirs and symlinks (to the host, ``../..``, /proc/self) in a loop
    while 50 starts mount on them: no mount ever lands outside the rootfs."""
    mnt = world.root / "mnt"
    (mnt / "x").mkdir()
    (mnt / "x" / "b").mkdir()
    (mnt / "x_alt").symlink_to(world.host)  # world.host has b/ too
    (mnt / "y").mkdir()
    (mnt / "y_alt").symlink_to(UP + str(world.host).lstrip("/"))
    (mnt / "z").mkdir()
    (mnt / "z_alt").symlink_to("/proc/self/cwd")
    (mnt / "s").mkdir()
    (mnt / "s" / "inside").write_text("x")
    (mnt / "s_alt").symlink_to(world.host)
    (mnt / "dst").mkdir()
    stop = threading.Event()
    flips = [0]

    def flipper() -> None:
        while not stop.is_set():
            for a in ("x", "y", "z", "s"):
                exchange(mnt / a, mnt / f"{a}_alt")
            flips[0] += 1

    extra = ("lxc.mount.entry = tmpfs mnt/x/b tmpfs defaults 0 0\n"
             "lxc.mount.entry = tmpfs mnt/y tmpfs defaults 0 0\n"
             "lxc.mount.entry = tmpfs mnt/z tmpfs defaults 0 0\n"
             "lxc.mount.entry = mnt/s mnt/dst none bind 0 0\n")
    thread = threading.Thread(target=flipper, daemon=True)
    thread.start()
    outcomes: Counter[str] = Counter()
    try:
        for _ in range(50):
            r, made = start(world, extra, cmd=("sh", "-c", "cat /proc/self/mountinfo; "
                                                          "ls /mnt/dst"))
            assert "marker" not in r.stdout, "the host directory was bound into the container"
            if r.returncode == 0:
                # every entry resolved to the rootfs's own directory: the four mounts are
                # on those directories -- under their name, or under the twin's name when
                # a flip renamed the directory after the mount -- and the bind shows the
                # rootfs's mnt/s
                points = inside_points(r)
                for meant in ("/mnt/x/b", "/mnt/y", "/mnt/z", "/mnt/dst"):
                    twin = meant.replace("/mnt/x/", "/mnt/x_alt/") if "/x/" in meant \
                        else f"{meant}_alt"
                    assert meant in points or twin in points, (meant, sorted(points))
                assert r.stdout.split()[-1] == "inside", r.stdout
                outcomes["ran"] += 1
            else:
                # an entry met a symlink: its path, read inside the rootfs, does not exist
                line = expect_refused(r)
                assert "lxc.mount.entry: cannot mount" in line, line
                outcomes["refused"] += 1
    finally:
        stop.set()
        thread.join(10)
    assert flips[0] > 50, flips
    print(f"fifty starts under flipping symlinks: {dict(outcomes)}")
