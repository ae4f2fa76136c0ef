"""lxcpy._quick answers exactly as the full command path, or leaves it to it.

Its pieces are checked against the full path's own: the options (lxcpy.cli.fastpath), the
default lxcpath and run directory (lxcpy.paths), the request lines (lxcpy.jsonlite), the
signal names (lxcpy.cli.kill), and the replies it parses itself. The commands themselves run
through it in tests/integration (state, info, freeze, stop, kill, the error table).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lxcpy import _quick as quick
from lxcpy import jsonlite, paths
from lxcpy.cli import fastpath, freeze, info, kill, state, stop
from lxcpy.runtime import commands

TABLES = {"lxc-state": state.FAST, "lxc-info": info.FAST, "lxc-freeze": freeze.FAST,
          "lxc-unfreeze": freeze.FAST, "lxc-stop": stop.FAST, "lxc-kill": kill.FAST}

ARGVS = [
    ["-n", "c1"], ["-nc1"], ["--name", "c1"], ["--name=c1"], ["-n", "c1", "-P", "/tmp/x"],
    ["-P/tmp/x", "-n", "c1"], ["--lxcpath=/tmp/x", "--name=c1"], ["-n", "c1", "-s"],
    ["-n", "c1", "-s", "-p"], ["-n", "c1", "-p", "-H"], ["-n", "c1", "-H"], ["-n", "c1", "-sH"],
    ["-n", "c1", "-k"], ["-n", "c1", "--kill"], ["-n", "c1", "-t", "5"], ["-n", "c1", "TERM"],
    ["-n", "c1", "-s", "KILL"], ["-n", "c1", "--signal=9"], ["-n", "c1", "-s", "9", "TERM"],
    ["-n", "c1", "-n", "c2"], ["-n", "-P"], ["-n", ""], ["-n"], ["-n", "c1", "--"],
    ["-n", "c1", "-q"], ["-n", "c1", "--rcfile", "/x"], ["-n", "c1", "-o", "/x"],
    ["-n", "a/b"], ["-n", ".."], ["-n", "\u00e9t\u00e9"], ["-n", "x" * 65], ["-n", "c1", "extra"],
    ["--help"], [], ["-n", "c1", "-s", "-s"], ["-n=x"],
]


@pytest.mark.parametrize("prog", sorted(TABLES))
@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_options_are_fastpaths(prog: str, argv: list[str]) -> None:
    """Whatever quick takes, fastpath parses to the same values (the rest goes to it)."""
    job = quick._parse(prog, argv)
    if job is None:
        return
    full = fastpath.parse(TABLES[prog], argv)
    assert full is not None
    assert job["name"] == full["name"]
    assert job.get("lxcpath") == full["lxcpath"]
    assert full["logfile"] is None and full["logpriority"] is None and not full["quiet"]
    assert full.get("rcfile", full.get("config_file")) is None
    if prog == "lxc-info":
        for dest in ("show_state", "show_pid", "raw"):
            assert bool(job.get(dest)) == full[dest]
        assert (full["show_state"] or full["show_pid"]) and not full["show_ips"]
        assert not full["show_stats"] and not full["config_keys"]
    if prog == "lxc-stop":
        assert bool(job.get("kill")) == full["kill"] and full["timeout"] is None
        assert not (full["nowait"] or full["reboot"] or full["nokill"] or full["nolock"])
    if prog == "lxc-kill":
        assert job["signal"] == (full["sig_option"] or full["sig_arg"])


def test_plain_names_are_valid_names() -> None:
    for argv in ARGVS:
        job = quick._parse("lxc-state", argv)
        if job is not None:
            assert paths.check_name(str(job["name"])) == job["name"]


def test_default_lxcpath_as_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "lxc.conf"
    monkeypatch.setattr(paths, "_GLOBAL", None)
    monkeypatch.delenv("LXC_LXCPATH", raising=False)
    monkeypatch.setenv("LXC_GLOBAL_CONF", str(conf))
    for text in ("", "lxc.lxcpath = /srv/a\n", "# lxc.lxcpath = /x\nlxc.lxcpath=/srv/b\n",
                 "lxc.lxcpath = /srv/c\nlxc.lxcpath =\n", "lxc.lxcpath = /srv/d\n"
                 "lxc.lxcpath = /srv/e\n"):
        conf.write_text(text)
        monkeypatch.setattr(paths, "_GLOBAL", None)
        assert quick.default_lxcpath() == paths.default_lxcpath()
    monkeypatch.setenv("LXC_LXCPATH", "/srv/env")
    assert quick.default_lxcpath() == paths.default_lxcpath() == "/srv/env"
    conf.unlink()
    monkeypatch.delenv("LXC_LXCPATH")
    monkeypatch.setattr(paths, "_GLOBAL", None)
    assert quick.default_lxcpath() == paths.default_lxcpath()


def test_rundir_and_realpath_as_paths(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    for path in (str(real), str(real / "missing" / "deeper"), "/var/lib/lxc"):
        assert quick._own_realpath(path)
        assert os.path.realpath(path) == path
        assert quick.rundir(path) == paths.lxcpath_rundir(path)
    for path in (str(tmp_path / "link"), str(tmp_path / "link" / "x"), "relative",
                 f"{real}/", f"{real}//x", f"{real}/./x", f"{real}/../real", "/"):
        assert not quick._own_realpath(path)


def test_requests_are_jsonlites() -> None:
    """The request lines quick writes by hand are the full client's (commands.send)."""
    sent: list[bytes] = []

    class Sock:
        def sendall(self, data: bytes) -> None:
            sent.append(data)

    for op in ("state", "freeze", "unfreeze"):
        commands.send(Sock(), {"op": op})
        assert quick.request_line(op) == sent.pop()
    commands.send(Sock(), {"op": "kill", "signal": 15})
    assert quick.request_line("kill", signal=15) == sent.pop()
    for flag in (True, False):  # Container.stop's request for lxc-stop [-k]
        commands.send(Sock(), {"op": "stop", "timeout": 60, "kill": flag, "nokill": False,
                               "wait": True})
        assert quick.request_line("stop", kill=flag) == sent.pop()


@pytest.mark.parametrize("text", ["TERM", "SIGTERM", "sigterm", " 9 ", "9", "0", "65", "64",
                                  "KILL", "iot", "SIGIOT", "CLD", "POLL", "SIGRTMIN",
                                  "RTMIN+2", "SIGRTMAX-1", "BOGUS", "SIG_DFL", "SIG", "",
                                  "NSIG", "ITIMER_REAL", "SIGTERM1", "WINCH"])
def test_signal_names_as_kill(text: str) -> None:
    number = quick.signal_number(text)
    if number is None:
        return  # the full command's (a message, or the names quick leaves to it)
    assert number == kill.parse_signal(text)
    assert 0 < number < signal.NSIG


@pytest.mark.parametrize("line", [
    b'{"state": "RUNNING", "pid": 6080}\n', b'{"state": "FROZEN", "pid": -1}\n',
    b'{"ok": true}\n', b'{"state": "RUNNING", "pid": 12, "x": 1}\n',
    b'{"error": "c1 is already frozen", "code": 1}\n', b'{"state": "RUN\\u00e9", "pid": 1}\n',
])
def test_replies_as_jsonlite(line: bytes) -> None:
    class Sock:
        def __init__(self) -> None:
            self.data = [line]

        def recv(self, _size: int) -> bytes:
            return self.data.pop(0) if self.data else b""

    assert quick._receive(Sock()) == jsonlite.loads(line)


def test_replay_answers_the_full_client_once() -> None:
    """An answer quick got to a request it sent is the full client's next call()'s."""
    where = paths.ContainerPaths("c1", "/nonexistent-lxcpath")
    commands.replay(where.socket, "freeze", {"error": "c1 is already frozen", "code": 3})
    with pytest.raises(commands.LxcError) as err:
        commands.call(where, "freeze", timeout=30.0)
    assert err.value.message == "c1 is already frozen" and err.value.exit_code == 3
    commands.replay(where.socket, "kill", TimeoutError())
    with pytest.raises(commands.LxcError, match="did not answer within 30 seconds"):
        commands.call(where, "kill", timeout=30.0)
    commands.replay(where.socket, "unfreeze", None)
    with pytest.raises(commands.NotRunning):
        commands.call(where, "unfreeze")
    with pytest.raises(commands.NotRunning):  # replayed once: now it asks (no socket)
        commands.call(where, "freeze")


def test_not_a_launcher_never_exits() -> None:
    """Called by a Python program (not an lxc-* launcher), it leaves the work to the full
    command rather than ending the caller's process."""
    code = ("import sys; sys.argv = ['lxc-state', '-n', 'c1', '-P', '/nonexistent-q'];"
            "from lxcpy import _quick as quick; quick.answer('lxc-state'); print('returned')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout == "returned\n", out.stderr
