"""lxc-create / lxc-destroy / lxc-ls through the installed commands, in a temporary lxcpath."""

from __future__ import annotations

import concurrent.futures
import os
import re
from pathlib import Path

import pytest

from tests.integration.helpers import lxc, tool

SEED = Path(__file__).resolve().parents[2] / "etc" / "lxc" / "lxc-macvlan.conf"


def one_error_line(stderr: str, prog: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{prog}: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_quick_start_create_as_written(lxcpath: Path) -> None:
    r = lxc("create", "-n", "foo", "-f", str(SEED), lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    assert (r.stdout, r.stderr) == ("", "")
    stored = (lxcpath / "foo" / "config").read_text()
    assert "lxc.net.0.type = macvlan\n" in stored.splitlines(keepends=True)
    assert lxc("ls", lxcpath=lxcpath).stdout.split() == ["foo"]


def test_stored_config_keeps_lines_and_fills_hwaddr(lxcpath: Path, tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text("# a comment\n   lxc.uts.name   =    spaced   \n\n"
                    "lxc.net.0.type = empty\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n")
    lxc("create", "-n", "c", "-f", str(conf), lxcpath=lxcpath, check=True)
    lines = (lxcpath / "c" / "config").read_text().splitlines()
    assert lines[:3] == ["# a comment", "   lxc.uts.name   =    spaced   ",
                         "lxc.net.0.type = empty"]
    assert re.fullmatch(r"lxc\.net\.0\.hwaddr = 00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}",
                        lines[3])


def test_create_without_config_gets_a_default(lxcpath: Path) -> None:
    lxc("create", "-n", "d", "-t", "none", lxcpath=lxcpath, check=True)
    assert (lxcpath / "d" / "config").is_file()


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".", "..", "x" * 65, "a\tb"])
def test_bad_names_create_nothing(lxcpath: Path, name: str) -> None:
    before = sorted(os.listdir(lxcpath.parent))
    r = lxc("create", "-n", name, lxcpath=lxcpath)
    assert r.returncode == 1
    one_error_line(r.stderr, "lxc-create")
    assert sorted(os.listdir(lxcpath.parent)) == before
    assert os.listdir(lxcpath) == []


def test_name_at_the_64_byte_limit(lxcpath: Path) -> None:
    name = "n" * 64
    lxc("create", "-n", name, lxcpath=lxcpath, check=True)
    assert lxc("ls", "-1", lxcpath=lxcpath).stdout.split() == [name]


def test_errors_leave_nothing(lxcpath: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("lxc.uts.name = x\nlxc.netwrk.type = veth\n")
    r = lxc("create", "-n", "b", "-f", str(bad), lxcpath=lxcpath)
    assert r.returncode == 1
    assert f"{bad}:2: unknown key 'lxc.netwrk.type'" in one_error_line(r.stderr, "lxc-create")
    r = lxc("create", "-n", "b", "-f", str(tmp_path / "missing.conf"), lxcpath=lxcpath)
    assert r.returncode == 1
    one_error_line(r.stderr, "lxc-create")
    r = lxc("create", "-n", "b", "-f", str(tmp_path), lxcpath=lxcpath)
    assert r.returncode == 1
    one_error_line(r.stderr, "lxc-create")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = lxc("create", "-n", "b", "-f", str(fifo), lxcpath=lxcpath, timeout=10)
    assert r.returncode == 1
    assert os.listdir(lxcpath) == []


def test_duplicate_create(lxcpath: Path) -> None:
    lxc("create", "-n", "dup", lxcpath=lxcpath, check=True)
    r = lxc("create", "-n", "dup", lxcpath=lxcpath)
    assert r.returncode == 1
    assert "already exists" in one_error_line(r.stderr, "lxc-create")


def test_concurrent_creates_exactly_one_wins(lxcpath: Path) -> None:
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: lxc("create", "-n", "race", lxcpath=lxcpath),
                                range(10)))
    assert sorted(r.returncode for r in results) == [0] + [1] * 9
    assert os.listdir(lxcpath) == ["race"]


def test_destroy(lxcpath: Path) -> None:
    lxc("create", "-n", "gone", lxcpath=lxcpath, check=True)
    lxc("destroy", "-n", "gone", lxcpath=lxcpath, check=True)
    assert not (lxcpath / "gone").exists()
    r = lxc("destroy", "-n", "gone", lxcpath=lxcpath)
    assert r.returncode == 1
    one_error_line(r.stderr, "lxc-destroy")


def test_missing_name_and_unbuilt_options(lxcpath: Path) -> None:
    r = lxc("create", lxcpath=lxcpath)
    assert (r.returncode, r.stderr.strip()) == (1, "lxc-create: No container name specified")
    r = lxc("state", "-n", "x", "-l", "BOGUS", lxcpath=lxcpath)
    assert r.returncode == 1
    one_error_line(r.stderr, "lxc-state")


def test_lxcpath_from_environment(lxcpath: Path) -> None:
    import subprocess

    env = {**os.environ, "LXC_LXCPATH": str(lxcpath)}
    subprocess.run([tool("lxc-create"), "-n", "envy"], env=env, check=True)
    assert (lxcpath / "envy" / "config").exists()


def test_version_and_help() -> None:
    import subprocess

    for prog in ("lxc-create", "lxc-execute", "lxc-ls", "lxc-monitor"):
        r = subprocess.run([tool(prog), "--version"], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.strip()
        r = subprocess.run([tool(prog), "-h"], capture_output=True, text=True)
        assert r.returncode == 0 and "Usage" in r.stdout
