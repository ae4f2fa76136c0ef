from __future__ import annotations

import os
import threading

import pytest

from lxcpy.errors import InvalidName
from lxcpy.paths import ContainerPaths, Lock, check_name, lxcpath_rundir


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "x\n", "a\x00b", "\x7f",
                                  "a" * 65, "é" * 33])
def test_refused_names(name: str) -> None:
    with pytest.raises(InvalidName):
        check_name(name)


@pytest.mark.parametrize("name", ["foo", "a" * 64, "web-1.example_x", "x y", "é" * 32])
def test_accepted_names(name: str) -> None:
    assert check_name(name) == name


def test_run_paths_stay_short_and_inside_the_run_directory() -> None:
    paths = ContainerPaths("a" * 64, "/" + "deep/" * 40)
    assert len(paths.socket.encode()) < 108  # AF_UNIX limit
    assert os.path.dirname(paths.socket) == lxcpath_rundir(paths.lxcpath)


def test_lock_is_exclusive_and_removed(tmp_path) -> None:  # noqa: ANN001
    path = str(tmp_path / "x.lock")
    first, second = Lock(path), Lock(path)
    assert first.acquire()
    assert not second.acquire()
    assert second.is_held_by_other()
    first.release()
    assert not os.path.exists(path)
    assert second.acquire()
    second.release()


def test_blocking_lock_waits_for_the_holder(tmp_path) -> None:  # noqa: ANN001
    path = str(tmp_path / "y.lock")
    holder = Lock(path)
    assert holder.acquire()
    threading.Timer(0.1, holder.release).start()
    waiter = Lock(path)
    assert waiter.acquire(blocking=True, timeout=5)
    waiter.release()
