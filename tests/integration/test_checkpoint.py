"""lxc-checkpoint: its options, and CRIU's own reason when CRIU cannot work on the host."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.integration.helpers import lxc, make


def criu_reason() -> str | None:
    """What `criu check` says is wrong here (its first error line), None if it passes."""
    if shutil.which("criu") is None:
        return "criu is not installed"
    done = subprocess.run(["criu", "check"], capture_output=True, text=True)
    if done.returncode == 0:
        return None
    first = next(line for line in done.stderr.splitlines() if line.startswith("Error"))
    return re.sub(r"^Error \([^)]*\):\s*", "", first)


def test_options(lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.net.0.type = empty\n", rootfs=probe_rootfs)
    for args, message in ((("-s",), "-D/--checkpoint-dir is required"),
                          (("-r", "-s", "-D", "d"), "-s only goes with a checkpoint"),
                          (("-F", "-D", "d"), "-d and -F only go with -r"),
                          (("-D", "d"), f"{name} is not running")):
        result = lxc("checkpoint", "-n", name, *args, lxcpath=lxcpath)
        assert result.returncode != 0 and result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr
    result = lxc("checkpoint", "-n", "nosuch", "-D", "d", lxcpath=lxcpath)
    assert result.returncode == 1 and "not defined" in result.stderr


def test_running_container_refused_with_criu_reason(
        lxcpath: Path, probe_rootfs: Path, tmp_path: Path) -> None:
    name = make(lxcpath, "lxc.net.0.type = empty\n", rootfs=probe_rootfs)
    lxc("start", "-n", name, "-d", "--", "sleep", "300", lxcpath=lxcpath, check=True)
    images = tmp_path / "images"
    try:
        result = lxc("checkpoint", "-n", name, "-D", str(images), "-s", lxcpath=lxcpath,
                     timeout=60)
        reason = criu_reason()
        expected = (f"CRIU cannot work on this host: {reason}" if reason else
                    "checkpoint/restore is not supported by lxcpy yet")
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"lxc-checkpoint: {name}: {expected}")
        # refused: nothing written, the container untouched (not stopped by -s)
        assert not images.exists()
        assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "RUNNING\n"
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
