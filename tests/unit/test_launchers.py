"""bin/ launchers: they run as `python -IS` (no site module), finding lxcpy in the venv's
site-packages themselves, and fall back to all of site (an editable install)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
LAUNCHERS = sorted(p for p in (ROOT / "bin").iterdir() if "lxcpy's launcher" in p.read_text())


def test_every_launcher_has_the_shape() -> None:
    assert len(LAUNCHERS) >= 21
    for path in LAUNCHERS:
        assert path.read_text().startswith("#!python\n"), path  # pip puts its python there


@pytest.mark.parametrize("tool", ["lxc-state", "lxc-info"])
def test_isolated_finds_lxcpy_in_its_venv_without_site(tmp_path: Path, tool: str) -> None:
    # a venv-like tree: bin/python and lib/pythonX.Y/site-packages holding lxcpy and click
    site_packages = tmp_path / f"lib/python{sys.version_info[0]}.{sys.version_info[1]}"
    site_packages = site_packages / "site-packages"
    site_packages.mkdir(parents=True)
    (site_packages / "lxcpy").symlink_to(ROOT / "lxcpy")
    (site_packages / "click").symlink_to(Path(click.__file__).parent)  # --version's parser
    (tmp_path / "bin").mkdir()
    python = tmp_path / "bin/python"
    python.symlink_to(sys._base_executable)  # type: ignore[attr-defined]
    r = subprocess.run([str(python), "-IS", "-X", "importtime", str(ROOT / "bin" / tool),
                        "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout == "5.0.2\n"
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines()}
    assert "lxcpy" in imported and "site" not in imported


def test_isolated_falls_back_to_site_for_an_editable_install() -> None:
    # this venv has lxcpy through a .pth file only: the launcher must run site for it
    r = subprocess.run([sys.executable, "-IS", str(ROOT / "bin/lxc-state"), "--version"],
                       capture_output=True, text=True, timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout == "5.0.2\n"


def test_the_start_launchers_collect_no_garbage_until_the_supervisor_serves() -> None:
    """lxc-execute/lxc-start turn the collector off for the start's imports; the supervisor
    turns it on before its first round of serving (a long-lived process must collect),
    with what the start made frozen (a collection walking it would un-share the pages the
    supervisor shares with the container's init)."""
    import gc

    from lxcpy.runtime.supervisor import Supervisor

    for tool in ("lxc-execute", "lxc-start"):
        text = (ROOT / "bin" / tool).read_text()
        assert text.index("gc.disable()") < text.index("from lxcpy.cli."), tool

    seen: list[bool] = []

    class Loop:
        def watch(self, fd: int, read: object) -> None:
            self.read = read

        def forget(self, fd: int) -> None:
            pass

    class Serving:
        loop = Loop()
        pidfd = -1

        def _run_once(self) -> None:
            seen.append(gc.isenabled() and gc.get_freeze_count() > 0)
            self.loop.read()  # type: ignore[operator]

        def _reap(self) -> int:
            return 7

    was = gc.isenabled()
    gc.disable()
    try:
        assert Supervisor._supervise(Serving()) == 7  # type: ignore[arg-type]
    finally:
        gc.unfreeze()
        if was:
            gc.enable()
        else:
            gc.disable()
    assert seen == [True]
