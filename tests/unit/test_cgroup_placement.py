"""Where the cgroups go (lxcpy.cgroups.base.Placement): LXC's names for the payload and the
monitor, the lxc.cgroup.dir* keys, the base cgroup (root, or our own), and what a missing
delegation says. Pure: a fake hierarchy in a temporary directory, no kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from lxcpy.cgroups import base as cgbase
from lxcpy.cgroups.base import Placement, base_dirs, exact_path, own_cgroups
from lxcpy.cgroups.detect import HostLayout
from lxcpy.cgroups.v2 import V2Manager
from lxcpy.errors import CgroupError

HYBRID = """12:pids:/user.slice/a
4:cpu,cpuacct:/
1:name=systemd:/user.slice/a.scope
0::/user.slice/a.scope
"""


def test_own_cgroups_reads_every_hierarchy_line() -> None:
    own = own_cgroups(HYBRID)
    assert own["pids"] == "/user.slice/a" and own["cpu"] == own["cpuacct"] == "/"
    assert own["name=systemd"] == own[""] == "/user.slice/a.scope"


def unified(tmp_path: Path, controllers: str = "memory pids") -> HostLayout:
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.procs").write_text("")
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text("")
    return HostLayout(kind="unified", v2_mount=str(root),
                      v2_controllers=frozenset(controllers.split()))


def fake_self(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, path: str) -> None:
    """/proc/self/cgroup as a pure v2 host in cgroup ``path`` would show it."""
    text = tmp_path / "self-cgroup"
    text.write_text(f"0::{path}\n")
    real_open = open

    def fake_open(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if file == "/proc/self/cgroup":
            file = text
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)


def test_the_base_is_the_root_unless_relative_or_the_root_is_not_ours(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = unified(tmp_path)
    root = layout.v2_mount
    assert root is not None
    (Path(root) / "svc.scope").mkdir()
    fake_self(monkeypatch, tmp_path, "/svc.scope")
    assert base_dirs(layout, relative=False) == {root: root}
    assert base_dirs(layout, relative=True) == {root: f"{root}/svc.scope"}
    # a delegated scope: the root is not writable to us, our own cgroup is (LXC's way)
    monkeypatch.setattr(cgbase.os, "access", lambda path, mode: False)
    assert base_dirs(layout, relative=False) == {root: f"{root}/svc.scope"}
    # a cgroup outside our view never becomes a path
    fake_self(monkeypatch, tmp_path, "/../other")
    assert base_dirs(layout, relative=True) == {root: root}


def test_lxcs_names_and_the_dir_keys(tmp_path: Path) -> None:
    layout = unified(tmp_path)
    mgr = V2Manager("c1", layout)
    assert (mgr.relpath, mgr.monitor_base, mgr.exact) == ("lxc.payload.c1", "lxc.monitor.c1",
                                                         False)
    mgr = V2Manager("c1", layout, placement=Placement(dir="a/b"))
    assert (mgr.relpath, mgr.monitor_base) == ("a/b/lxc.payload.c1", "a/b/lxc.monitor.c1")
    mgr = V2Manager("c1", layout, placement=Placement(container="x/c", inner="ns",
                                                      monitor="x/m"))
    assert (mgr.relpath, mgr.inner, mgr.monitor_base, mgr.exact) == ("x/c", "ns", "x/m", True)
    with pytest.raises(CgroupError, match="container.inner"):
        V2Manager("c1", layout, placement=Placement(container="x", monitor="m", inner="a/b"))
    for bad in ("../x", "a/../../b", "", "/"):
        with pytest.raises(CgroupError):
            exact_path(bad, "lxc.cgroup.dir.container")


def test_an_inner_leaf_holds_the_processes_and_the_limits_stay_above(tmp_path: Path) -> None:
    layout = unified(tmp_path)
    mgr = V2Manager("c1", layout, placement=Placement(container="x/c", inner="ns",
                                                      monitor="x/m"))
    mgr.create()
    root = layout.v2_mount
    assert mgr.paths() == [f"{root}/x/c"] and mgr.dir == f"{root}/x/c"
    assert mgr.attach_paths() == [f"{root}/x/c/ns"]
    # the leaf comes once the limits are set (a v1 devices cgroup with a child refuses
    # devices.deny = a), when the init is attached or the cgroup chowned
    assert not Path(f"{root}/x/c/ns").exists()
    mgr._make_inner()
    mgr._make_inner()
    assert Path(f"{root}/x/c/ns").is_dir()
    # the exact path is never suffixed: taken means refused
    again = V2Manager("c2", layout, placement=Placement(container="x/c", monitor="x/m2"))
    with pytest.raises(CgroupError, match="exists already"):
        again.create()
    mgr.create_monitor()
    assert mgr.monitor_paths() == [f"{root}/x/m"]


def test_a_controller_not_delegated_to_our_cgroup_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = unified(tmp_path)
    root = Path(layout.v2_mount or "")
    scope = root / "svc.scope"
    scope.mkdir()
    (scope / "cgroup.controllers").write_text("pids\n")  # memory not delegated to us
    (scope / "cgroup.subtree_control").write_text("")
    fake_self(monkeypatch, tmp_path, "/svc.scope")
    mgr = V2Manager("c1", layout, placement=Placement(relative=True))
    assert mgr.top == str(scope) and mgr.dir == f"{scope}/lxc.payload.c1"
    with pytest.raises(CgroupError) as info:
        mgr._enable({"memory": "config:3: lxc.cgroup2.memory.max"})
    assert str(info.value).startswith("config:3: lxc.cgroup2.memory.max: the 'memory' "
                                      f"controller is not delegated to {scope}")
    mgr._enable({"pids": "config:4: lxc.cgroup2.pids.max"})  # delegated: enabled below it
    assert (scope / "cgroup.subtree_control").read_text() == "+pids"
    assert (root / "cgroup.subtree_control").read_text() == ""  # above our cgroup: untouched
