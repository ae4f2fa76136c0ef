"""The resource record: rewritten in place (no rename over it: ext4 flushes on that), never
torn for a killed writer, written only when what recovery acts on changed."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lxcpy.runtime.resources import PAGE, Resources


def paths_at(tmp_path: Path) -> Any:
    return SimpleNamespace(resources=str(tmp_path / "c.resources"))


def test_saves_rewrite_one_file_in_place_and_a_shorter_record_still_loads(
        tmp_path: Path) -> None:
    paths = paths_at(tmp_path)
    res = Resources(supervisor_pid=1, socket="/s", cgroup_paths=[str(tmp_path / ("x" * 40))])
    res.save(paths)
    inode = os.stat(paths.resources).st_ino
    long_size = os.path.getsize(paths.resources)
    res.cgroup_paths = []  # shorter: padded with blanks, never a stale tail
    res.save(paths)
    assert os.stat(paths.resources).st_ino == inode  # not replaced by a rename
    assert os.path.getsize(paths.resources) == long_size
    loaded = Resources.load(paths)
    assert loaded is not None and loaded.cgroup_paths == [] and loaded.socket == "/s"
    json.loads(Path(paths.resources).read_text())  # plain JSON for any other reader
    res.discard(paths)
    assert not os.path.exists(paths.resources)
    assert res._fd == -1


def test_a_change_recovery_does_not_act_on_writes_nothing(tmp_path: Path) -> None:
    paths = paths_at(tmp_path)
    res = Resources(supervisor_pid=1, socket="/s")
    res.save(paths)
    before = Path(paths.resources).read_text()
    res.init_pid = 42  # the init dies with its supervisor: not worth a write
    res.save(paths)
    assert Path(paths.resources).read_text() == before
    res.net.append({"host": "veth0"})  # a device: written before it is made
    res.save(paths)
    loaded = Resources.load(paths)
    assert loaded is not None and loaded.net == [{"host": "veth0"}] and loaded.init_pid == 42
    res.discard(paths)


def test_a_record_larger_than_a_page_is_replaced_by_rename(tmp_path: Path) -> None:
    paths = paths_at(tmp_path)
    res = Resources(supervisor_pid=1, socket="/s")
    res.save(paths)
    res.net = [{"name": "n" * 100, "i": i} for i in range(PAGE // 100)]
    res.save(paths)  # more than a page: one write(2) of it could be cut by a SIGKILL
    loaded = Resources.load(paths)
    assert loaded is not None and len(loaded.net) == PAGE // 100
    assert res._fd == -1
    res.net = []
    res.save(paths)
    loaded = Resources.load(paths)
    assert loaded is not None and loaded.net == []
    res.discard(paths)


def test_a_planted_name_is_replaced_never_written_through(tmp_path: Path) -> None:
    paths = paths_at(tmp_path)
    target = tmp_path / "victim"
    target.write_text("keep")
    os.symlink(target, paths.resources)
    res = Resources(supervisor_pid=1, socket="/s")
    res.save(paths)
    assert target.read_text() == "keep"
    assert not os.path.islink(paths.resources)
    loaded = Resources.load(paths)
    assert loaded is not None and loaded.socket == "/s"
    res.discard(paths)


def test_a_writer_killed_at_any_moment_leaves_a_whole_record(tmp_path: Path) -> None:
    paths = paths_at(tmp_path)
    for _ in range(20):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: records of changing length, for ever
            os.close(ready_r)
            res = Resources(supervisor_pid=os.getpid(), socket="/s")
            n = 0
            while True:
                n += 1
                res.cgroup_paths = [f"/sys/fs/cgroup/x{n}"] * (n % 7)
                res.save(paths)
                if n == 1:
                    os.write(ready_w, b"1")
        os.close(ready_w)
        assert os.read(ready_r, 1) == b"1"  # the first record is written
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(ready_r)
        data = json.loads(Path(paths.resources).read_text())
        assert data["supervisor_pid"] == pid and data["socket"] == "/s"
        os.unlink(paths.resources)
