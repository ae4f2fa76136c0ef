"""The committed man pages and bash completion are what lxcpy.cli.docs makes of the click
declarations today: a changed option or a new tool in bin/ without regenerated files fails
here (regenerate: .venv/bin/python -m lxcpy.cli.docs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lxcpy.cli import docs

ROOT = docs.ROOT
REGENERATE = "stale: run .venv/bin/python -m lxcpy.cli.docs and commit man/ and completion/"


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return docs.render(ROOT)  # strict: a launcher whose module does not import fails


def test_every_tool_in_bin_has_a_man_page(rendered: dict[str, str]) -> None:
    tools = docs.tools(ROOT)
    assert len(tools) >= 27
    for prog in tools:
        assert (ROOT / f"man/man1/{prog}.1").is_file(), f"{prog}: no man page; {REGENERATE}"
        assert f"man/man1/{prog}.1" in rendered
    # and no page of a tool that is gone
    pages = {p.name for p in (ROOT / "man/man1").glob("*.1")}
    assert pages == {f"{prog}.1" for prog in tools}


def test_committed_files_are_not_stale(rendered: dict[str, str]) -> None:
    for rel, text in rendered.items():
        path = ROOT / rel
        assert path.is_file() and path.read_text() == text, f"{rel}: {REGENERATE}"


def test_a_page_has_every_section_and_the_shared_options(rendered: dict[str, str]) -> None:
    page = rendered["man/man1/lxc-ls.1"]
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SEE ALSO"):
        assert f".SH {section}\n" in page
    for option in (r"\-P, \-\-lxcpath", r"\-n, \-\-name", r"\-l, \-\-logpriority",
                   r"\-1, \-\-line", r"\-\-version"):
        assert option in page, option
    assert r"\fBlxc\-info\fR(1)" in page


def test_completion_covers_every_tool_and_names_containers(rendered: dict[str, str]) -> None:
    text = rendered["completion/lxc"]
    for prog in docs.tools(ROOT):
        assert f"        {prog}) opts='" in text
    assert 'lxc-ls -1 -P "$path"' in text
    assert "--lxcpath" in text.split("        lxc-info) opts='")[1].split("\n")[0]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_completion_completes_options_and_container_names(tmp_path: Path) -> None:
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config").write_text("")
    script = (f"source {ROOT / 'completion/lxc'}\n"
              f"COMP_WORDS=(lxc-info -P {tmp_path} -n ''); COMP_CWORD=4; _lxcpy lxc-info\n"
              'echo "${COMPREPLY[*]}"\n'
              "COMP_WORDS=(lxc-stop --ti); COMP_CWORD=1; _lxcpy lxc-stop\n"
              'echo "${COMPREPLY[*]}"\n')
    env = {"PATH": f"{ROOT / '.venv/bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["alpha beta", "--timeout"]


def test_the_page_renders() -> None:
    page = ROOT / "man/man1/lxc-ls.1"
    if shutil.which("man"):
        r = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True,
                           env={"MANPAGER": "cat", "PAGER": "cat", "PATH": "/usr/bin:/bin",
                                "COLUMNS": "100"}, timeout=60)
    elif shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-Tutf8", str(page)], capture_output=True,
                           text=True, timeout=60)
    else:
        pytest.skip("neither man nor groff")
    assert r.returncode == 0, r.stderr
    assert "lxc-ls" in r.stdout and "--lxcpath" in r.stdout.replace("\u2010", "-")
    assert "warning" not in r.stderr and "error" not in r.stderr


@pytest.mark.skipif(shutil.which("groff") is None, reason="no groff")
def test_every_page_parses_without_errors(rendered: dict[str, str]) -> None:
    for rel in rendered:
        if rel.startswith("man/"):
            r = subprocess.run(["groff", "-man", "-Tutf8", "-z", str(ROOT / rel)],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0 and "error" not in r.stderr, (rel, r.stderr)
