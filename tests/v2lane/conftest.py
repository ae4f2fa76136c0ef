"""The pure cgroup v2 lane (scripts/v2-lane.sh boots a VM and runs these there).

The lane's test files are named ``lane_*.py``, so the main suite never collects them:
they run only when named on the command line, as tests/v2lane/guest.sh does. Every lane
test refuses (fails, never skips) on a host that is not cgroup2-only with the controllers
the lane exercises.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.v2lane._lane import clean

# what the lane's configs need; Debian's kernel has these plus hugetlb rdma misc
NEEDED = {"cpuset", "cpu", "io", "memory", "pids"}


@pytest.fixture(autouse=True, scope="session")
def pure_v2_host() -> None:
    from lxcpy.cgroups import detect

    layout = detect()
    if layout.kind != "unified" or layout.v2_mount != "/sys/fs/cgroup":
        pytest.fail(f"the v2 lane needs a cgroup2-only host, this one is {layout.kind} "
                    f"(cgroup2 at {layout.v2_mount}): run it with scripts/v2-lane.sh",
                    pytrace=False)
    missing = NEEDED - layout.v2_controllers
    if missing:
        pytest.fail(f"cgroup2 root lacks controllers: {' '.join(sorted(missing))}",
                    pytrace=False)


@pytest.fixture
def lxcpath(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "lxc"
    path.mkdir()
    try:
        yield path
    finally:
        clean(path)
