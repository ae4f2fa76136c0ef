"""Where a caller's things live (lxcpy.paths.defaults_for): root's system paths, LXC's
per-user rules for anyone else."""

from __future__ import annotations

from pathlib import Path

from lxcpy.paths import defaults_for


def test_root_uses_the_system_paths() -> None:
    assert defaults_for(0, {"HOME": "/root", "XDG_RUNTIME_DIR": "/run/user/0"}) == (
        "/var/lib/lxc", "/etc/lxc/lxc.conf", "/etc/lxc/default.conf", "/run/lxcpy")


def test_user_paths_under_home() -> None:
    assert defaults_for(1000, {"HOME": "/home/u"}) == (
        "/home/u/.local/share/lxc", "/home/u/.config/lxc/lxc.conf",
        "/home/u/.config/lxc/default.conf", "/home/u/.cache/lxc/run/lxcpy")


def test_user_paths_follow_xdg() -> None:
    env = {"HOME": "/home/u", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c",
           "XDG_RUNTIME_DIR": "/run/user/1000"}
    assert defaults_for(1000, env) == ("/d/lxc", "/c/lxc/lxc.conf", "/c/lxc/default.conf",
                                      "/run/user/1000/lxcpy")


def test_rundir_override_and_empty_xdg() -> None:
    env = {"HOME": "/home/u", "XDG_RUNTIME_DIR": "", "LXCPY_RUNDIR": "/tmp/r"}
    assert defaults_for(1000, env)[3] == "/tmp/r"
    assert defaults_for(0, {"LXCPY_RUNDIR": "/tmp/r"})[3] == "/tmp/r"
    assert defaults_for(1000, {"HOME": "/h", "XDG_RUNTIME_DIR": ""})[3] == \
        "/h/.cache/lxc/run/lxcpy"


def test_user_without_home_or_passwd_entry() -> None:
    # uid 54321 has no passwd entry: "/" as home, whose subdirectories it cannot make
    lxcpath, _conf, _default, run = defaults_for(54321, {})
    assert lxcpath == "/.local/share/lxc" and run == "/.cache/lxc/run/lxcpy"


def test_granted_reads_the_callers_ranges_by_name_or_uid(tmp_path: Path) -> None:
    import os
    import pwd

    from lxcpy.runtime.userns import granted

    me = pwd.getpwuid(os.getuid()).pw_name
    sub = tmp_path / "subuid"
    sub.write_text(f"other:100000:65536\n{me}:200000:10\n{os.getuid()}:300000:5\n"
                   f"{me}:bad:1\n# comment\n")
    assert granted("u", str(sub)) == [(200000, 10), (300000, 5)]
    assert granted("u", str(tmp_path / "missing")) == []
