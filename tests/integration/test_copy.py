"""lxc-copy through the installed commands: copies, snapshot clones and their dependency
record, renames, ephemeral clones, lxc.ephemeral; bad input leaves nothing made."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import cleanup_lxcpath, lxc, unique, wait_until
from tests.integration.test_storage import make_busybox, mounts_under, run_in
from tests.integration.test_userns_nonroot import IDMAP, SUB, User, user  # noqa: F401
from tests.integration.test_userns_nonroot import config as nonroot_config

pytestmark = pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")

HWADDR = "lxc.net.0.type = empty\nlxc.net.0.hwaddr = 00:16:3e:12:34:56\n"


@pytest.fixture
def origin(lxcpath: Path) -> str:
    name = unique("o")
    conf = lxcpath.parent / f"{name}.conf"
    conf.write_text(f"lxc.uts.name = {name}\n{HWADDR}")
    lxc("create", "-n", name, "-f", str(conf), "-t", "busybox", lxcpath=lxcpath, check=True,
        timeout=120)
    (lxcpath / name / "rootfs" / "mark").write_text("origin\n")
    (lxcpath / name / "rootfs" / "etc" / "hostname").write_text(f"{name}\n")
    return name


def config(lxcpath: Path, name: str) -> str:
    return (lxcpath / name / "config").read_text()


def test_full_copy_new_hostname_mac_and_paths(lxcpath: Path, origin: str) -> None:
    new = unique("c")
    result = lxc("copy", "-n", origin, "-N", new, lxcpath=lxcpath)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    text = config(lxcpath, new)
    assert f"lxc.rootfs.path = dir:{lxcpath / new / 'rootfs'}\n" in text
    assert f"lxc.uts.name = {new}\n" in text
    mac = re.search(r"lxc\.net\.0\.hwaddr = (\S+)", text)
    assert mac and mac.group(1) != "00:16:3e:12:34:56" and mac.group(1).startswith("00:16:3e:")
    # the origin's own files (its seccomp policy) are the copy's, at the copy's path
    assert str(lxcpath / origin) not in text
    assert (lxcpath / new / "common.seccomp").is_file()
    assert run_in(lxcpath, new, "cat /mark /etc/hostname; hostname; echo copy > /mark") == \
        f"origin\n{new}\n{new}\n"
    assert (lxcpath / origin / "rootfs" / "mark").read_text() == "origin\n"
    # a full copy is independent
    lxc("destroy", "-n", origin, lxcpath=lxcpath, check=True)
    assert run_in(lxcpath, new, "cat /mark") == "copy\n"


def test_keepname_keepmac(lxcpath: Path, origin: str) -> None:
    new = unique("c")
    lxc("copy", "-n", origin, "-N", new, "-K", "-M", lxcpath=lxcpath, check=True)
    text = config(lxcpath, new)
    assert f"lxc.uts.name = {origin}\n" in text
    assert "lxc.net.0.hwaddr = 00:16:3e:12:34:56\n" in text
    assert (lxcpath / new / "rootfs" / "etc" / "hostname").read_text() == f"{origin}\n"


def test_snapshot_clone_and_its_dependency_record(lxcpath: Path, origin: str) -> None:
    snap = unique("s")
    lxc("copy", "-n", origin, "-N", snap, "-s", lxcpath=lxcpath, check=True)
    assert (f"lxc.rootfs.path = overlay:{lxcpath / origin / 'rootfs'}:"
            f"{lxcpath / snap / 'delta0'}\n") in config(lxcpath, snap)
    assert (lxcpath / origin / "lxc_snapshots").read_text() == f"{lxcpath}\n{snap}\n"
    assert (lxcpath / snap / "lxc_rdepends").read_text() == f"{lxcpath}\n{origin}\n"
    assert run_in(lxcpath, snap, "cat /mark /etc/hostname; echo clone > /mark") == \
        f"origin\n{snap}\n"
    assert (lxcpath / origin / "rootfs" / "etc" / "hostname").read_text() == f"{origin}\n"
    assert (lxcpath / origin / "rootfs" / "mark").read_text() == "origin\n"
    assert (lxcpath / snap / "delta0" / "mark").read_text() == "clone\n"
    # the origin may not go while a clone uses its rootfs
    result = lxc("destroy", "-n", origin, lxcpath=lxcpath)
    assert (result.returncode, result.stderr) == (
        1, f"lxc-destroy: {origin}: {origin} has snapshot clones ({snap}): destroy them "
           "first, or use -s to destroy them with it\n")
    assert (lxcpath / origin / "rootfs" / "mark").exists()
    # a clone's destroy removes it from the record
    lxc("destroy", "-n", snap, lxcpath=lxcpath, check=True)
    assert not (lxcpath / origin / "lxc_snapshots").exists()
    lxc("destroy", "-n", origin, lxcpath=lxcpath, check=True)
    assert mounts_under(lxcpath) == []


def test_destroy_s_takes_the_snapshot_clones(lxcpath: Path, origin: str) -> None:
    snap = unique("s")
    lxc("copy", "-n", origin, "-N", snap, "-s", lxcpath=lxcpath, check=True)
    snap2 = unique("s")  # a snapshot of the snapshot: same lower, a copy of its upper
    lxc("copy", "-n", snap, "-N", snap2, "-s", lxcpath=lxcpath, check=True)
    assert f"overlay:{lxcpath / origin / 'rootfs'}:{lxcpath / snap2 / 'delta0'}" in \
        config(lxcpath, snap2)
    lxc("destroy", "-n", origin, "-s", lxcpath=lxcpath, check=True)
    assert sorted(p.name for p in lxcpath.iterdir()) == []


def test_copy_onto_an_existing_name_refused(lxcpath: Path, origin: str) -> None:
    other = make_busybox(lxcpath)
    before = config(lxcpath, other)
    for args in ((), ("-s",)):
        result = lxc("copy", "-n", origin, "-N", other, *args, lxcpath=lxcpath)
        assert (result.returncode, result.stderr) == (
            1, f"lxc-copy: {origin}: container '{other}' already exists in {lxcpath}\n")
    assert config(lxcpath, other) == before
    assert not (lxcpath / origin / "lxc_snapshots").exists()


def test_copy_needs_newname_and_a_defined_origin(lxcpath: Path, origin: str) -> None:
    result = lxc("copy", "-n", origin, lxcpath=lxcpath)
    assert result.returncode == 1 and "NEWNAME" in result.stderr
    result = lxc("copy", "-n", "nosuch", "-N", "x", lxcpath=lxcpath)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert not (lxcpath / "x").exists()


def test_running_origin_refused(lxcpath: Path, origin: str) -> None:
    lxc("start", "-n", origin, "-d", "--", "sleep", "300", lxcpath=lxcpath, check=True)
    try:
        new = unique("c")
        result = lxc("copy", "-n", origin, "-N", new, lxcpath=lxcpath)
        assert result.returncode == 1 and "is running" in result.stderr
        # -a allows a copy, never an overlay snapshot of a changing rootfs
        result = lxc("copy", "-n", origin, "-N", new, "-s", "-a", lxcpath=lxcpath)
        assert result.returncode == 1 and "cannot snapshot it live" in result.stderr
        assert not (lxcpath / new).exists()
        lxc("copy", "-n", origin, "-N", new, "-a", lxcpath=lxcpath, check=True)
        assert (lxcpath / new / "rootfs" / "mark").is_file()
    finally:
        lxc("stop", "-n", origin, "-k", lxcpath=lxcpath)


def test_rename(lxcpath: Path, origin: str) -> None:
    new = unique("r")
    lxc("copy", "-n", origin, "-N", new, "-R", lxcpath=lxcpath, check=True)
    assert not (lxcpath / origin).exists()
    text = config(lxcpath, new)
    assert f"lxc.rootfs.path = dir:{lxcpath / new / 'rootfs'}\n" in text
    assert f"lxc.uts.name = {new}\n" in text and str(lxcpath / origin) not in text
    assert run_in(lxcpath, new, "cat /mark; hostname") == f"origin\n{new}\n"


def test_ephemeral_clone_is_destroyed_when_it_stops(lxcpath: Path, origin: str,
                                                   tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in").write_text("host\n")
    result = lxc("copy", "-n", origin, "-e", "-m", f"bind={shared}:/mnt/shared",
                 lxcpath=lxcpath, timeout=60)
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(rf"Created ({origin}_[0-9a-f]{{8}}) as clone of {origin}\n",
                         result.stdout)
    assert match, result.stdout
    clone = match.group(1)
    assert lxc("state", "-n", clone, lxcpath=lxcpath).stdout == "RUNNING\n"
    text = config(lxcpath, clone)
    assert "lxc.ephemeral = 1\n" in text
    assert f"lxc.mount.entry = {shared} mnt/shared none bind,optional,rw,create=dir 0 0\n" \
        in text
    got = lxc("attach", "-n", clone, "--", "cat", "/mnt/shared/in", "/mark", lxcpath=lxcpath)
    assert got.stdout == "host\norigin\n", got.stderr
    lxc("stop", "-n", clone, "-k", lxcpath=lxcpath, check=True)
    assert wait_until(lambda: not (lxcpath / clone).exists(), timeout=20)
    assert not (lxcpath / origin / "lxc_snapshots").exists()
    assert mounts_under(lxcpath) == []


@pytest.mark.parametrize("keepdata", [False, True])
def test_ephemeral_clone_of_a_killed_supervisor_destroyed_by_recovery(
        lxcpath: Path, origin: str, keepdata: bool) -> None:
    """SIGKILL of an ephemeral clone's supervisor: the next command that finds its dead
    record cleans up and destroys the clone, as the supervisor would have on stop (-D: a
    plain clone, kept)."""
    import json
    import signal

    from lxcpy.paths import ContainerPaths

    new = unique("r")
    lxc("copy", "-n", origin, "-N", new, "-e", *(["-D"] if keepdata else []),
        lxcpath=lxcpath, check=True, timeout=60)
    record = Path(ContainerPaths(new, str(lxcpath)).resources)
    supervisor = json.loads(record.read_text())["supervisor_pid"]
    os.kill(supervisor, signal.SIGKILL)
    # lxc-state: STOPPED (-D), or the clone is gone already ("doesn't exist")
    assert wait_until(lambda: lxc("state", "-n", new, lxcpath=lxcpath).stdout != "RUNNING\n",
                      timeout=20)
    assert not record.exists()
    assert (lxcpath / new).exists() == keepdata
    assert (lxcpath / origin / "config").is_file()
    assert not (lxcpath / origin / "lxc_snapshots").exists() or keepdata
    assert mounts_under(lxcpath) == []


@pytest.mark.parametrize("command", ["ls", "destroy"])
def test_lxc_ephemeral_container_killed_at_running_then_destroyed(lxcpath: Path,
                                                                  command: str) -> None:
    """lxc.ephemeral = 1 under lxc-start -F, its supervisor SIGKILLed once RUNNING
    (LXCPY_TEST_KILL_AT): the next command finds the dead record, and its recovery destroys
    the container (lxc-ls does not list it; lxc-destroy has nothing more to do: exit 0)."""
    import signal
    import subprocess

    from tests.integration.helpers import tool

    name = make_busybox(lxcpath)
    with open(lxcpath / name / "config", "a") as f:
        f.write("lxc.ephemeral = 1\n")
    proc = subprocess.run([tool("lxc-start"), "-P", str(lxcpath), "-n", name, "-F", "--",
                           "sleep", "300"], env={**os.environ, "LXCPY_TEST_KILL_AT": "running"},
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (lxcpath / name / "config").is_file()  # nothing has looked yet
    result = lxc(command, *(["-n", name] if command == "destroy" else []), lxcpath=lxcpath)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not (lxcpath / name).exists()
    assert mounts_under(lxcpath) == []


CLONE_HOOK = """#!/bin/sh
# what LXC hands a clone hook, and the rootfs as it sees it (LXC: before the new hostname)
{ echo "ARGS: $*"; env | grep -E '^LXC_(NAME|SRC_NAME|CONFIG_FILE|ROOTFS_PATH|ROOTFS_MOUNT)=' \
    | sort; echo "mark: $(cat "$LXC_ROOTFS_MOUNT/mark")"
  echo "hostname: $(cat "$LXC_ROOTFS_MOUNT/etc/hostname")"; } > "$OUT/$LXC_NAME"
echo "hooked $1" > "$LXC_ROOTFS_MOUNT/hooked"
exit "${HOOK_EXIT:-0}"
"""


@pytest.fixture
def hooked(lxcpath: Path, origin: str, tmp_path: Path) -> Path:
    """The origin with an lxc.hook.clone that records what it was given in OUT/NAME."""
    hook = tmp_path / "clone-hook"
    hook.write_text(CLONE_HOOK)
    hook.chmod(0o755)
    with open(lxcpath / origin / "config", "a") as f:
        f.write(f"lxc.hook.clone = {hook}\n")
    out = tmp_path / "out"
    out.mkdir()
    return out


@pytest.mark.parametrize("mode", ["copy", "overlay-snapshot", "loop"])
def test_clone_hook_runs_on_the_new_rootfs(lxcpath: Path, origin: str, hooked: Path,
                                           mode: str) -> None:
    """lxc.hook.clone as LXC 5.0.2 runs it (checked against /usr/bin/lxc-copy): NEW lxc
    clone ARGS..., LXC_* variables, the new rootfs mounted (an overlay's merged tree, a loop
    image's file system) before the hostname is renewed; what it writes lands in the copy,
    never the origin, and the mount was the hook's alone."""
    new = unique("h")
    extra = {"copy": [], "overlay-snapshot": ["-s"], "loop": ["-B", "loop", "-L", "64M"]}[mode]
    result = lxc("copy", "-n", origin, "-N", new, *extra, "--", "one", "two words",
                 lxcpath=lxcpath, env={**os.environ, "OUT": str(hooked)}, timeout=120)
    assert result.returncode == 0, result.stderr
    spec = {"copy": f"dir:{lxcpath / new / 'rootfs'}",
            "overlay-snapshot": f"overlay:{lxcpath / origin / 'rootfs'}:{lxcpath / new / 'delta0'}",
            "loop": f"loop:{lxcpath / new / 'rootdev'}"}[mode]
    assert (hooked / new).read_text() == (
        f"ARGS: {new} lxc clone one two words\n"
        f"LXC_CONFIG_FILE={lxcpath / new / 'config'}\n"
        f"LXC_NAME={new}\n"
        f"LXC_ROOTFS_MOUNT={lxcpath / new / 'rootfs'}\n"
        f"LXC_ROOTFS_PATH={spec}\n"
        f"LXC_SRC_NAME={origin}\n"
        "mark: origin\n"
        f"hostname: {origin}\n")
    assert not (lxcpath / origin / "rootfs" / "hooked").exists()
    if mode != "loop":
        written = lxcpath / new / ("delta0" if mode == "overlay-snapshot" else "rootfs")
        assert (written / "hooked").read_text() == f"hooked {new}\n"
    assert mounts_under(lxcpath) == []
    assert run_in(lxcpath, new, "cat /hooked; hostname") == f"hooked {new}\n{new}\n"


def test_failing_clone_hook_undoes_the_copy(lxcpath: Path, origin: str, hooked: Path) -> None:
    """LXC: a clone hook that fails fails the clone (exit 1) and the copy is destroyed."""
    env = {**os.environ, "OUT": str(hooked), "HOOK_EXIT": "3"}
    for extra in ((), ("-s",)):
        new = unique("f")
        result = lxc("copy", "-n", origin, "-N", new, *extra, lxcpath=lxcpath, env=env)
        hook = hooked.parent / "clone-hook"
        assert (result.returncode, result.stdout, result.stderr) == (
            1, "", f"lxc-copy: {origin}: lxc.hook.clone: '{hook}' failed with status 3\n")
        assert (hooked / new).exists()  # it did run
        assert sorted(p.name for p in lxcpath.iterdir()) == [origin]
    assert not (lxcpath / origin / "lxc_snapshots").exists()
    assert mounts_under(lxcpath) == []


def test_clone_hook_of_an_ephemeral_clone_gets_its_command(lxcpath: Path, origin: str,
                                                          hooked: Path) -> None:
    """LXC's lxc-copy -e hands its command to the clone hooks too; they run before the
    clone starts."""
    new = unique("e")
    result = lxc("copy", "-n", origin, "-N", new, "-e", "--", "cat", "/hooked",
                 lxcpath=lxcpath, env={**os.environ, "OUT": str(hooked)}, timeout=90)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f"hooked {new}\n")
    assert (hooked / new).read_text().startswith(f"ARGS: {new} lxc clone cat /hooked\n")
    assert wait_until(lambda: not (lxcpath / new).exists(), timeout=20)


def test_clone_hook_runs_for_a_rename(lxcpath: Path, origin: str, hooked: Path) -> None:
    """LXC 5's rename is a clone then a destroy: the hooks run for the new name (no
    arguments); one failing leaves the container as it was."""
    env = {**os.environ, "OUT": str(hooked), "HOOK_EXIT": "3"}
    result = lxc("copy", "-n", origin, "-N", "renamed", "-R", lxcpath=lxcpath, env=env)
    assert (result.returncode, result.stderr.count("\n")) == (1, 1), result.stderr
    assert sorted(p.name for p in lxcpath.iterdir()) == [origin]
    assert f"lxc.uts.name = {origin}\n" in config(lxcpath, origin)
    env["HOOK_EXIT"] = "0"
    lxc("copy", "-n", origin, "-N", "renamed", "-R", lxcpath=lxcpath, check=True, env=env)
    got = (hooked / "renamed").read_text()
    assert got.startswith("ARGS: renamed lxc clone\n") and f"LXC_SRC_NAME={origin}\n" in got
    assert f"LXC_ROOTFS_MOUNT={lxcpath / 'renamed' / 'rootfs'}\n" in got
    assert (lxcpath / "renamed" / "rootfs" / "hooked").read_text() == "hooked renamed\n"


def test_clone_hook_runs_for_snapshots_too(lxcpath: Path, origin: str, hooked: Path) -> None:
    """LXC's lxc-snapshot clones too: its hooks run for snapN, and for a restore's NEW."""
    env = {**os.environ, "OUT": str(hooked)}
    lxc("snapshot", "-n", origin, lxcpath=lxcpath, check=True, env=env)
    assert (hooked / "snap0").read_text().startswith("ARGS: snap0 lxc clone\n")
    new = unique("r")
    lxc("snapshot", "-n", origin, "-r", "snap0", "-N", new, lxcpath=lxcpath, check=True, env=env)
    assert "LXC_SRC_NAME=snap0\n" in (hooked / new).read_text()


@pytest.mark.skipif(shutil.which("newuidmap") is None, reason="needs newuidmap (uidmap)")
def test_clone_hook_of_a_non_root_user_runs_as_their_mapped_root(
        user: User) -> None:  # noqa: F811 - the fixture imported above
    """LXC's userns_exec_full: a user's clone hook runs as root of a namespace mapping the
    user's grants (the files it makes in the copy are the container's root's), with an
    overlay snapshot mounted for it in its own mount namespace."""
    name, copy, snap = unique("nh"), unique("nc"), unique("ns")
    hook = user.base / "clone-hook"
    hook.write_text('#!/bin/sh\nid -u > "$LXC_ROOTFS_MOUNT/hooked-by"\n')
    hook.chmod(0o755)
    conf = nonroot_config(user, IDMAP + f"lxc.hook.clone = {hook}\n")
    assert user.run("lxc-create", "-n", name, "-t", "busybox", "-f", str(conf)).returncode == 0
    for new, extra in ((copy, ()), (snap, ("-s",))):
        r = user.run("lxc-copy", "-n", name, "-N", new, *extra)
        assert r.returncode == 0, r.stderr
        made = user.lxcpath / new / ("delta0" if extra else "rootfs") / "hooked-by"
        assert made.read_text() == "0\n" and made.stat().st_uid == SUB
    assert not (user.lxcpath / name / "rootfs" / "hooked-by").exists()
    for n in (snap, copy, name):
        assert user.run("lxc-destroy", "-n", n).returncode == 0, n


def test_ephemeral_keepdata_and_a_named_clone(lxcpath: Path, origin: str) -> None:
    new = unique("k")
    result = lxc("copy", "-n", origin, "-N", new, "-e", "-D", lxcpath=lxcpath, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"Created {new} as clone of {origin}\n")
    assert "lxc.ephemeral" not in config(lxcpath, new)
    lxc("stop", "-n", new, "-k", lxcpath=lxcpath, check=True)
    assert (lxcpath / new / "config").is_file()


@pytest.mark.parametrize("quiet", [False, True])
def test_ephemeral_with_a_command_runs_it_then_goes(lxcpath: Path, origin: str,
                                                    quiet: bool) -> None:
    new = unique("x")
    result = lxc("copy", "-n", origin, "-N", new, "-e", *(["-q"] if quiet else []), "--",
                 "cat", "/mark", lxcpath=lxcpath, timeout=90)
    assert result.returncode == 0, result.stderr
    # LXC's line first, unless -q: the command's output alone
    created = "" if quiet else f"Created {new} as clone of {origin}\n"
    assert result.stdout == created + "origin\n"
    assert wait_until(lambda: not (lxcpath / new).exists(), timeout=20)


def test_lxc_ephemeral_key_honoured_by_lxc_execute(lxcpath: Path) -> None:
    name = make_busybox(lxcpath)
    with open(lxcpath / name / "config", "a") as f:
        f.write("lxc.ephemeral = 1\n")
    assert run_in(lxcpath, name, "echo ran") == "ran\n"
    assert not (lxcpath / name).exists()


def test_bad_bind_mount_refused_before_anything_is_made(lxcpath: Path, origin: str) -> None:
    result = lxc("copy", "-n", origin, "-N", "e1", "-e", "-m", "bind=relative:/x",
                 lxcpath=lxcpath)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "is not an existing absolute path" in result.stderr
    assert not (lxcpath / "e1").exists()


@pytest.mark.parametrize("link", ["/ABS", "../../../../../../../../..ABS"])
def test_hostile_hostname_link_never_followed(lxcpath: Path, origin: str, tmp_path: Path,
                                              link: str) -> None:
    """The copy's /etc/hostname is rewritten; a symlink there pointing at a host file (or
    an etc that is a link) must not make lxc-copy write on the host."""
    victim = tmp_path / "victim"
    victim.write_text("host data\n")
    etc = lxcpath / origin / "rootfs" / "etc"
    (etc / "hostname").unlink()
    (etc / "hostname").symlink_to(link.replace("ABS", str(victim)))
    new = unique("c")
    lxc("copy", "-n", origin, "-N", new, lxcpath=lxcpath, check=True)
    snap = unique("s")
    lxc("copy", "-n", origin, "-N", snap, "-s", lxcpath=lxcpath, check=True)
    assert victim.read_text() == "host data\n"
    # etc itself a link out of the rootfs
    shutil.rmtree(lxcpath / new)
    (lxcpath / "evil").mkdir()
    (lxcpath / "evil" / "hostname").write_text("host data\n")
    shutil.move(str(etc), str(lxcpath / origin / "rootfs" / "etc.real"))
    (lxcpath / origin / "rootfs" / "etc").symlink_to(lxcpath / "evil")
    lxc("copy", "-n", origin, "-N", new, lxcpath=lxcpath, check=True)
    assert (lxcpath / "evil" / "hostname").read_text() == "host data\n"
    shutil.rmtree(lxcpath / "evil")


def test_mount_option_injection_refused(lxcpath: Path, origin: str, tmp_path: Path) -> None:
    result = lxc("copy", "-n", origin, "-e", "-m",
                 f"bind={tmp_path}:/x:ro\nlxc.hook.pre-start = /bin/false", lxcpath=lxcpath)
    assert result.returncode == 1 and "the mount option is ro or rw" in result.stderr
    assert [p.name for p in lxcpath.iterdir()] == [origin]


def test_ephemeral_clone_that_cannot_start_is_not_kept(lxcpath: Path, origin: str) -> None:
    with open(lxcpath / origin / "config", "a") as f:
        f.write("lxc.init.cmd = /no/such/init\n")
    for extra in ((), ("-D",)):
        new = unique("f")
        result = lxc("copy", "-n", origin, "-N", new, "-e", *extra, lxcpath=lxcpath,
                     timeout=60)
        assert result.returncode != 0
        assert wait_until(lambda new=new: not (lxcpath / new).exists(), timeout=20)
    assert not (lxcpath / origin / "lxc_snapshots").exists()


def test_lxc_ephemeral_key_honoured_by_lxc_start(lxcpath: Path) -> None:
    name = make_busybox(lxcpath)
    with open(lxcpath / name / "config", "a") as f:
        f.write("lxc.ephemeral = 1\n")
    lxc("start", "-n", name, "-d", "--", "sleep", "300", lxcpath=lxcpath, check=True)
    assert (lxcpath / name / "config").is_file()  # kept while it runs
    lxc("stop", "-n", name, "-k", lxcpath=lxcpath, check=True)
    assert wait_until(lambda: not (lxcpath / name).exists(), timeout=20)


def test_copy_into_another_lxcpath_and_destroy_f(lxcpath: Path, origin: str,
                                                 tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    try:
        new = unique("p")
        lxc("copy", "-n", origin, "-N", new, "-p", str(other), "-s", lxcpath=lxcpath,
            check=True)
        assert (f"lxc.rootfs.path = overlay:{lxcpath / origin / 'rootfs'}:"
                f"{other / new / 'delta0'}\n") in (other / new / "config").read_text()
        assert (lxcpath / origin / "lxc_snapshots").read_text() == f"{other}\n{new}\n"
        assert lxc("execute", "-n", new, "--", "cat", "/mark", lxcpath=other).stdout == \
            "origin\n"
        # -f, like -s, takes the clones along (never leaves one without its lower)
        lxc("destroy", "-n", origin, "-f", lxcpath=lxcpath, check=True)
        assert not (other / new).exists() and not (lxcpath / origin).exists()
    finally:
        cleanup_lxcpath(other)
