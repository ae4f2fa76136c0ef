"""Shared test setup: root detection and the CI rule (a root test must run, not skip)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_GLOBAL_DIR: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Hermetic host settings: the commands under test read a private lxc.conf (an absent
    default.conf), never the machine's /etc/lxc (which `apt-get install lxc` may fill)."""
    global _GLOBAL_DIR
    if "LXC_GLOBAL_CONF" in os.environ:
        return
    _GLOBAL_DIR = tempfile.mkdtemp(prefix="lxcpy-test-etc-")
    conf = os.path.join(_GLOBAL_DIR, "lxc.conf")
    with open(conf, "w") as f:
        f.write(f"lxc.default_config = {_GLOBAL_DIR}/default.conf\n")
    os.environ["LXC_GLOBAL_CONF"] = conf


def pytest_unconfigure(config: pytest.Config) -> None:
    if _GLOBAL_DIR is not None:
        shutil.rmtree(_GLOBAL_DIR, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError("CI=true: the root tests must run, so run the suite as root")
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _run_directories_removed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of the session, the run directories (/run/lxcpy/HASH: locks, sockets,
    records) of the lxcpaths the tests made under pytest's temporary directory: every
    container is stopped by then, and the host keeps none of them."""
    yield
    from lxcpy.paths import RUN_ROOT

    base = os.path.realpath(tmp_path_factory.getbasetemp()) + "/"
    try:
        entries = os.listdir(RUN_ROOT)
    except OSError:
        return
    for entry in entries:
        rundir = os.path.join(RUN_ROOT, entry)
        try:
            with open(os.path.join(rundir, "lxcpath")) as f:
                lxcpath = f.read().strip()
        except OSError:
            continue
        if lxcpath.startswith(base):
            shutil.rmtree(rundir, ignore_errors=True)


@pytest.fixture(scope="session")
def probe_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's probe rootfs (crun's model: one static multi-call binary, busybox, for
    every program), built once, shared read-mostly by the containers of every test that
    asks for it (``make(lxcpath, rootfs=probe_rootfs)``), removed at the end. A test that
    changes files in its rootfs builds its own with ``busybox_rootfs(tmp_path / ...)``."""
    from tests.integration.helpers import busybox_rootfs

    root = busybox_rootfs(tmp_path_factory.mktemp("probe") / "rootfs")
    made = _listing(root)
    yield root
    left = _listing(root)
    shutil.rmtree(root.parent, ignore_errors=True)
    # shared by every test: one that left something in it makes the others order-dependent
    assert left == made, f"the probe rootfs was changed: {sorted(set(left) ^ set(made))}"


def _listing(root: Path) -> list[str]:
    """Every path below ``root`` with its type and size (what a test could have changed)."""
    found = []
    for dirpath, dirs, files in os.walk(root):
        for entry in dirs + files:
            st = os.lstat(os.path.join(dirpath, entry))
            found.append(f"{os.path.relpath(os.path.join(dirpath, entry), root)} "
                         f"{st.st_mode:o} {st.st_size}")
    return sorted(found)
