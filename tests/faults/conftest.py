from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import lxcpath_dir


@pytest.fixture
def lxcpath(tmp_path: Path) -> Iterator[Path]:
    with lxcpath_dir(tmp_path) as path:
        yield path
