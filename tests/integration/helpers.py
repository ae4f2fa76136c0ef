"""Run the installed console scripts as a bash user would, in a throwaway lxcpath."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def lxc(cmd: str, *args: str, lxcpath: str | Path, check: bool = False, timeout: float = 60,
        input: str | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run ``lxc-<cmd> -P lxcpath args...`` and capture its output."""
    argv = [tool(f"lxc-{cmd}"), "-P", str(lxcpath), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            input=input if input is not None else "",
                            **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} failed ({result.returncode}): {result.stderr}")
    return result


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def write_config(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.conf"
    path.write_text(text)
    return path


def cgroup_leftovers(name: str) -> list[str]:
    """Every cgroup directory of container ``name`` still on the host."""
    found = []
    root = Path("/sys/fs/cgroup")
    for hierarchy in root.iterdir():
        for candidate in (hierarchy / f"lxc.payload.{name}",):
            if candidate.exists():
                found.append(str(candidate))
    if (root / f"lxc.payload.{name}").exists():
        found.append(str(root / f"lxc.payload.{name}"))
    return found


@contextmanager
def lxcpath_dir(tmp_path: Path) -> Iterator[Path]:
    """A throwaway lxcpath; every container in it is killed and destroyed afterwards."""
    path = tmp_path / "lxc"
    path.mkdir()
    try:
        yield path
    finally:
        cleanup_lxcpath(path)


def cleanup_lxcpath(path: Path) -> None:
    if not path.exists():
        return
    for entry in path.iterdir():
        if (entry / "config").exists():
            lxc("stop", "-n", entry.name, "-k", lxcpath=path, timeout=30)
            lxc("destroy", "-n", entry.name, "-f", lxcpath=path, timeout=30)
    shutil.rmtree(path, ignore_errors=True)
    remove_rundir(path)


def remove_rundir(lxcpath: Path) -> None:
    """The lxcpath's run directory (/run/lxcpy/<hash>): one per test otherwise."""
    from lxcpy.paths import lxcpath_rundir

    shutil.rmtree(lxcpath_rundir(str(lxcpath)), ignore_errors=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
