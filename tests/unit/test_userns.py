"""The pure parts of lxc.idmap: map rules, the text the kernel gets, lxc-usernsexec's maps,
and which namespaces an idmapped container makes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lxcpy import kernel as k
from lxcpy.config.model import IdMap
from lxcpy.config.parser import parse_text
from lxcpy.errors import LxcError
from lxcpy.runtime import userns
from lxcpy.runtime.namespaces import clone_flags, created, resolve

IDMAP = "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n"


def parse(text: str):  # noqa: ANN201
    return parse_text(text, "/x/config", base_dir="/x")


def test_maps_text_and_lookup() -> None:
    cfg = parse(IDMAP + "lxc.idmap = u 65536 300000 10\n")
    assert userns.map_text(cfg.idmaps, "u") == "0 100000 65536\n65536 300000 10\n"
    assert userns.map_text(cfg.idmaps, "g") == "0 100000 65536\n"
    assert userns.to_host(cfg.idmaps, "u", 0) == 100000
    assert userns.to_host(cfg.idmaps, "u", 65537) == 300001
    assert userns.to_host(cfg.idmaps, "g", 65536) is None
    assert userns.root_ids(cfg) == (100000, 100000)
    assert str(cfg.idmaps[2].origin) == "/x/config:3"


@pytest.mark.parametrize("text,expect", [
    ("lxc.idmap = u 0 100000 10\nlxc.idmap = u 9 200000 5\n",
     "/x/config:2: lxc.idmap: 'u 9 200000 5' overlaps 'u 0 100000 10' (/x/config:1) in "
     "the container ids"),
    ("lxc.idmap = g 0 100000 10\nlxc.idmap = g 10 100009 5\n",
     "/x/config:2: lxc.idmap: 'g 10 100009 5' overlaps 'g 0 100000 10' (/x/config:1) in "
     "the host ids"),
])
def test_overlaps_refused_at_parse(text: str, expect: str) -> None:
    with pytest.raises(LxcError) as err:
        parse(text)
    assert expect in err.value.message


@pytest.mark.parametrize("maps,expect", [
    ([IdMap("u", 0, 100000, 10), IdMap("u", 5, 300000, 1)], "in the container ids"),
    ([IdMap("g", 0, 100000, 10), IdMap("g", 20, 100009, 1)], "in the host ids"),
    ([IdMap("u", 0, 4294967290, 10)], "the host range ends past 4294967294"),
])
def test_overlaps_and_bounds_refused(maps: list[IdMap], expect: str) -> None:
    with pytest.raises(LxcError, match=expect):
        userns.check_maps(maps)


def test_adjacent_and_separate_kinds_accepted() -> None:
    userns.check_maps(parse("lxc.idmap = u 0 100000 10\nlxc.idmap = u 10 100010 10\n"
                            "lxc.idmap = g 0 100000 10\n").idmaps)


def test_too_many_lines_refused() -> None:
    maps = [IdMap("u", n, 100000 + n, 1) for n in range(userns.MAX_LINES + 1)]
    with pytest.raises(LxcError, match="more than 340 u maps"):
        userns.check_maps(maps)


@pytest.mark.parametrize("text,expect", [
    ("lxc.idmap = u 1 100000 10\nlxc.idmap = g 0 100000 10\n",
     "/x/config:1: lxc.idmap: no uid map for the container's root"),
    ("lxc.idmap = u 0 100000 10\n", "no gid map for the container's root"),
    (IDMAP + "lxc.init.uid = 70000\n", "/x/config:3: lxc.init.uid: 70000 is not mapped"),
    ("lxc.rootfs.options = idmap=container\n", "idmap= needs lxc.idmap lines"),
    (IDMAP + "lxc.rootfs.options = idmap=container\n", "idmap=container needs a rootfs"),
    (IDMAP + "lxc.rootfs.path = /\nlxc.rootfs.options = idmap=/etc/passwd\n",
     "neither 'container' nor a user namespace file"),
    (IDMAP + "lxc.namespace.share.net = 1\n", "cannot join another namespace"),
])
def test_validate_refuses_with_file_line_and_key(text: str, expect: str) -> None:
    with pytest.raises(LxcError) as err:
        userns.validate(parse(text))
    assert expect in err.value.message


def test_validate_accepts_a_userns_file_and_a_reachable_rootfs() -> None:
    userns.validate(parse(IDMAP + "lxc.rootfs.path = /\n"
                          "lxc.rootfs.options = idmap=/proc/self/ns/user\n"))


def test_unreachable_rootfs_names_the_directory() -> None:
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="lxcpy-userns-unit-", dir="/tmp"))
    try:
        base.chmod(0o711)
        closed = base / "closed"
        (closed / "rootfs").mkdir(parents=True)
        closed.chmod(0o700)
        cfg = parse(IDMAP + f"lxc.rootfs.path = {closed}/rootfs\n")
        with pytest.raises(LxcError) as err:
            userns.validate(cfg)
        assert f"/x/config:3: lxc.rootfs.path: '{closed}' is not searchable" \
            in err.value.message
        os.chown(closed, 100000, 100000)  # the mapped root's own directory: it may walk it
        userns.validate(cfg)
    finally:
        shutil.rmtree(base)


def test_rootfs_idmap_option() -> None:
    assert userns.rootfs_idmap(parse("lxc.rootfs.options = ro, idmap=container")) == \
        "container"
    assert userns.rootfs_idmap(parse("lxc.rootfs.options = ro")) is None


def test_idmap_means_a_user_namespace_made_by_the_fork() -> None:
    cfg = parse(IDMAP)
    assert created(cfg)[0] == "user"
    assert not clone_flags(cfg) & (k.CLONE_NEWUSER | k.CLONE_NEWPID)
    assert "user" not in created(parse(""))


@pytest.mark.parametrize("text,expect", [
    ("lxc.namespace.clone = user mnt pid\n", "a user namespace needs lxc.idmap lines"),
    (IDMAP + "lxc.namespace.keep = user\n", "needs a user namespace of the container's own"),
    (IDMAP + "lxc.namespace.keep = pid\n", "needs a PID namespace of the container's own"),
])
def test_namespace_keys_and_idmap(text: str, expect: str) -> None:
    with pytest.raises(LxcError, match=expect):
        resolve(parse(text), "/x")


def test_usernsexec_maps() -> None:
    both = userns.parse_usernsexec_map("b:0:100000:65536")
    assert [(m.kind, m.nsid, m.hostid, m.range) for m in both] == \
        [("u", 0, 100000, 65536), ("g", 0, 100000, 65536)]
    for bad in ("x:0:1:1", "u:0:1", "u:a:1:1", "u:0:1:0"):
        with pytest.raises(LxcError):
            userns.parse_usernsexec_map(bad)
    mine = userns.map_self(userns.parse_usernsexec_map("b:0:100000:10"))
    assert [(m.kind, m.nsid, m.hostid, m.range) for m in mine[2:]] == \
        [("g", 10, os.getgid(), 1), ("u", 10, os.getuid(), 1)]


def test_usernsexec_default_maps_from_private_subuid(tmp_path: Path) -> None:
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    (tmp_path / "subuid").write_text(f"other:1:2\n{user}:200000:65536\n")
    (tmp_path / "subgid").write_text(f"{user}:300000:1000\n")
    maps = userns.default_maps(str(tmp_path / "subuid"), str(tmp_path / "subgid"))
    assert [(m.kind, m.nsid, m.hostid, m.range) for m in maps] == \
        [("u", 0, 200000, 65536), ("g", 0, 300000, 1000)]
    (tmp_path / "subgid").write_text("other:1:2\n")
    with pytest.raises(LxcError, match="no range for"):
        userns.default_maps(str(tmp_path / "subuid"), str(tmp_path / "subgid"))


def test_cgroup_layout_seen_from_a_cgroup_namespace() -> None:
    """The container's set-up reads mountinfo after unshare(CLONE_NEWCGROUP): the host's
    hierarchy roots read "/.." there and must still count (cgroup:rw/mixed mounts)."""
    from lxcpy.cgroups.detect import parse_mountinfo

    text = ("32 31 0:29 /.. /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
            "41 31 0:38 /../.. /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
            "50 31 0:29 /lxc.payload.x /mnt rw - cgroup cgroup rw,cpu\n")
    layout = parse_mountinfo(text)
    assert layout.v1 == {frozenset({"memory"}): "/sys/fs/cgroup/memory"}
    assert layout.v2_mount == "/sys/fs/cgroup/unified"
