"""Bad input everywhere: every tool's options, config values, names and odd lxcpaths.

Each run of a tool either succeeds or exits non-zero with exactly one line on stderr; it
never prints a traceback, never hangs (every run has a timeout) and never leaves a
half-made container directory in the lxcpath. (With ``-l DEBUG``/``TRACE`` a log on stderr
and a traceback are asked for: those runs only must not hang or leave anything half-made.)

Safety: nothing here can start a container without naming the command to run: lxc-start,
lxc-execute and lxc-attach always end with ``-- /bin/true`` and get no bare words; the
containers are on the probe rootfs (busybox), so what runs is never the host's; lxc-start
never sees ``present`` (a defined container), which stays stopped (no ``-d`` for it in
lxc-execute); lxc-cgroup never gets ``cgroup.procs``; lxc-monitor always gets
an unknown option first, so it only parses and refuses; lxc-wait always ends with ``-t 0``;
lxc-console reads /dev/null. Every path a tool may write is under the test's tmp directory.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lxcpy.config import parse_file
from lxcpy.config.keys import KEYS
from tests.faults._helpers import assert_one_line_error, run_tool, tree
from tests.integration.helpers import cgroup_key, lxcpath_dir, remove_rundir, rootfs_keys

pytestmark = pytest.mark.root

# CI: 30 fixed examples per test (~95 s for the file); LXCPY_FUZZ_EXAMPLES=300 for a long,
# random hunt
EXAMPLES = int(os.environ.get("LXCPY_FUZZ_EXAMPLES", "0"))
FUZZ = settings(deadline=None, max_examples=EXAMPLES or 30, derandomize=not EXAMPLES,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TIMEOUT = 20.0
TRUE = ("--", "/bin/true")  # what every command-running tool runs, whatever else it got

NAME_64 = "n" * 64
NAME_65 = "n" * 65


@dataclass
class World:
    tmp: Path
    lxcpath: Path
    present: str  # a defined, stopped container on the probe rootfs
    good_conf: Path
    legacy_conf: Path  # lxc-update-config may rewrite this one
    fifo: Path
    cdir: Path
    chardev: Path

    def files(self) -> list[str]:
        """Paths a file option may get: good ones and every kind of bad one."""
        return [str(self.good_conf), str(self.fifo), str(self.cdir), str(self.chardev),
                str(self.tmp / "missing.conf"), str(self.tmp / "no" / "such" / "dir"),
                "", "/", str(self.lxcpath), str(self.tmp / "log.txt")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, probe_rootfs: Path) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("badinput")
    with lxcpath_dir(tmp) as lxcpath:
        good = tmp / "good.conf"
        good.write_text(f"lxc.uts.name = fuzzed\n{rootfs_keys(probe_rootfs)}")
        legacy = tmp / "legacy.conf"
        legacy.write_text("lxc.utsname = old\nlxc.network.type = empty\n")
        fifo = tmp / "fifo"
        os.mkfifo(fifo)
        cdir = tmp / "confdir"
        cdir.mkdir()
        (tmp / "afile").write_text("a regular file where a directory should be\n")
        chardev = tmp / "null"
        os.mknod(chardev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        r = run_tool("lxc-create", "-P", str(lxcpath), "-n", "present", "-f", str(good))
        assert r.returncode == 0, r.stderr
        w = World(tmp, lxcpath, "present", good, legacy, fifo, cdir, chardev)
        yield w
        for other in LXCPATHS:  # the run directories of the lxcpaths the fuzz gave -P
            remove_rundir(tmp / other)
        # the special files are still what they were: no tool replaced or wrote them
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert stat.S_ISCHR(os.lstat(chardev).st_mode)
        assert cdir.is_dir() and not any(cdir.iterdir())


LXCPATHS = ("afile", "afile/sub", "fifo", "no/such/lxcpath")  # -P values, under tmp


# ---- the checks ------------------------------------------------------------------------
def check_store(lxcpath: Path) -> None:
    """No half-made container: every entry is a directory with a config, no temp files."""
    for entry in lxcpath.iterdir():
        assert entry.is_dir() and not entry.is_symlink(), f"stray entry {entry}"
        assert (entry / "config").is_file(), f"half-made container {entry}"
        for inner in entry.iterdir():
            assert ".tmp." not in inner.name, f"temp file left: {inner}"


def debugging(argv: list[str]) -> bool:
    from lxcpy.log import parse_priority

    for flag, value in zip(argv, argv[1:], strict=False):
        if flag in ("-l", "--logpriority"):
            try:
                return parse_priority(value) <= parse_priority("INFO")
            except ValueError:
                return False
    return False


def run_checked(prog: str, argv: list[str], lxcpath: Path, timeout: float = TIMEOUT,
                **kwargs: object) -> subprocess.CompletedProcess[str]:
    # a fuzzed option may eat the next word as its value (`-P -- ...`): relative paths
    # must land in the test's own directory, never in the repository
    kwargs.setdefault("cwd", str(lxcpath.parent))
    try:
        r = run_tool(prog, *argv, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{prog} {argv!r} hung (> {timeout}s)")
    what = f"{prog} {argv!r}"
    if not debugging(argv):  # -l DEBUG/TRACE: a log on stderr and a traceback are asked for
        assert "Traceback" not in r.stderr, f"{what}: {r.stderr}"
        if r.returncode != 0:
            assert_one_line_error(r, what)
    check_store(lxcpath)
    return r


def remove_new(lxcpath: Path, keep: set[str]) -> None:
    """Drop what a successful create made (never running, no mounts: a plain rmtree)."""
    for entry in lxcpath.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry)


# ---- strategies ------------------------------------------------------------------------
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=12)
HOSTILE = ["", " ", "-", "--", "-1", "0", "1", "2", "99999999999999999999", "nan", "inf",
           "-inf", "1e400", "0x10", "a/b", "..", "\n", "x\ny", "é", "\x7f", "\t", "%s%n",
           "${HOME}", "*", "[", "(", "\\", "'", '"', "a" * 300, "-n", "--help"]
BAD_NAMES = ["", "a/b", "..", ".", "a\nb", NAME_65, "é" * 33, "/abs", "../x", "\x7f", "x\ty"]
ODD_NAMES = ["-", " ", "-n", "--", "a b", "é", NAME_64]  # odd but valid (LXC takes them)
KEYVALS = ["lxc.uts.name=x", "lxc.bogus=1", "=", "lxc.net.0.type=bogus", "nokey",
           cgroup_key("memory.limit_in_bytes", "memory.max") + "=zz",  # the host's driver
           "lxc.rootfs.path=/nonexistent", "lxc.init.uid=x",
           "lxc.environment=A=1", "lxc.mount.auto=proc:mixed", "lxc.include=/nonexistent",
           "lxc.signal.halt=SIGBOGUS", "lxc.net.0.ipv4.address=300.1.1.1/99"]
SIGNALS = ["KILL", "SIGKILL", "9", "0", "-1", "65", "SIGRTMIN+3", "RTMAX-1", "BOGUS",
           "SIGRTMIN+99", "sigterm", "TERM", "99999999999999"]
STATES = ["RUNNING", "STOPPED", "FROZEN", "RUNNING|FROZEN", "BOGUS", "|", "running", ""]
LEVELS = ["DEBUG", "TRACE", "INFO", "bogus", "99", "-1", "0", "FATAL", "warn"]
COLUMNS = ["NAME,STATE", "NAME,BOGUS", ",,", "", "PID,IPV4,IPV6,RAM,SWAP,AUTOSTART,GROUPS"]
# words that may end up where a program name goes: none is a real command
WORDS = ["lxcpy-no-such-command", "./nope", "é", "", "-", "x y", "memory.max",
         "cgroup.max.depth", "../../x", "pids.max", "1", "RUNNING"]


def values(kind: str, w: World) -> st.SearchStrategy[str]:
    special = {
        "int": ["-1", "0", "5", "60", "65536", "abc", "1.5"],
        "float": ["-1", "0", "0.01", "1e-9", "abc", "nan", "inf"],
        "file": w.files(),
        "logfile": [str(w.tmp / "log.txt"), str(w.fifo), str(w.cdir), str(w.chardev),
                    str(w.tmp / "no" / "dir" / "log"), "-", ""],
        "keyval": KEYVALS,
        "signal": SIGNALS,
        "state": STATES,
        "level": LEVELS,
        "columns": COLUMNS,
        "letter": ["a", "q", "", "ab", "é", "1", "\n"],
        "template": ["none", "", "busybox", "/bin/false", str(w.cdir), str(w.fifo),
                     "/nonexistent", "bogus"],
        "regex": ["[", "(", "*", ".*", "present", "(?P<", "a{99999999}"],
        "key": [k.name for k in KEYS[:40]] + ["lxc.bogus", "", "lxc."],
        "word": WORDS,
        # never "" (the default /var/lib/lxc) nor a relative path (the cwd): only tmp
        "lxcpath": [str(w.tmp / other) for other in LXCPATHS],
    }.get(kind, [])
    base = st.sampled_from(HOSTILE + special)
    if kind == "lxcpath":
        return st.sampled_from(special)
    return base if kind in ("file", "logfile", "template", "word") else st.one_of(base, TEXT)


COMMON = [("-P", "lxcpath"), ("-o", "logfile"), ("--logfile", "logfile"), ("-l", "level"),
          ("-q", ""), ("--version", ""), ("-h", "")]


@dataclass(frozen=True)
class Tool:
    prog: str
    options: tuple[tuple[str, str], ...]  # (flag, value kind); "" is a flag without value
    positional: str = ""  # the kind of bare words it may get ("" means only WORDS)
    names: str = "any"  # "any", "not-present" (never the stopped container), "none"
    suffix: tuple[str, ...] = ()


TOOLS = [
    Tool("lxc-destroy", (("-f", ""), ("--force", "")), names="not-present"),
    Tool("lxc-execute", (("-f", "file"), ("-s", "keyval"), ("-u", "int"), ("-g", "int"),
                         ("-d", "")), suffix=TRUE),
    Tool("lxc-start", (("-f", "file"), ("-s", "keyval"), ("-d", ""), ("-F", "")),
         names="not-present", suffix=TRUE),
    Tool("lxc-stop", (("-t", "int"), ("-k", ""), ("-W", ""), ("-r", ""), ("--nokill", ""),
                      ("--nolock", ""))),
    Tool("lxc-freeze", ()),
    Tool("lxc-unfreeze", ()),
    Tool("lxc-kill", (("-s", "signal"),), positional="signal"),
    Tool("lxc-monitor", (("-Q", ""),), positional="regex"),
    Tool("lxc-wait", (("-s", "state"), ("-t", "float")), suffix=("-t", "0")),
    Tool("lxc-state", ()),
    Tool("lxc-info", (("-s", ""), ("-p", ""), ("-i", ""), ("-S", ""), ("-H", ""),
                      ("-c", "key"))),
    Tool("lxc-ps", (), positional="word"),
    Tool("lxc-ls", (("-1", ""), ("-f", ""), ("-F", "columns"), ("--active", ""),
                    ("--running", ""), ("--frozen", ""), ("--stopped", ""), ("--defined", ""),
                    ("-g", "word"), ("--filter", "regex")), positional="regex", names="none"),
    Tool("lxc-attach", (("--clear-env", ""), ("--keep-env", ""), ("-v", "keyval")),
         suffix=TRUE),
    Tool("lxc-cgroup", (), positional="word"),
    Tool("lxc-update-config", (("-c", "file"),), names="none"),
    Tool("lxc-console", (("-t", "int"), ("-e", "letter"))),
]
RUNS_COMMAND = {"lxc-execute", "lxc-start", "lxc-attach"}


@st.composite
def tool_argv(draw: st.DrawFn, tool: Tool, w: World) -> list[str]:
    """``-P LXCPATH``, maybe a name, then option units, bare words, junk, the suffix."""
    units: list[list[str]] = []
    if tool.names != "none" or draw(st.booleans()):
        pool = BAD_NAMES + ODD_NAMES + ["missing"] + ([w.present] if tool.names == "any" else [])
        name = draw(st.one_of(st.sampled_from(pool), TEXT))
        form = draw(st.sampled_from(["-n", "--name=", "none"]))
        if tool.names == "not-present" and name == w.present:
            form = "none"
        if form == "-n":
            units.append(["-n", name])
        elif form == "--name=":
            units.append([f"--name={name}"])
    options = list(tool.options) + COMMON
    for _ in range(draw(st.integers(0, 4))):
        flag, kind = draw(st.sampled_from(options))
        what = draw(st.sampled_from(["value", "value", "value", "junk-option", "word"]))
        if what == "junk-option":
            units.append([draw(st.sampled_from(["--bogus", "-Z", "--n", "---", "-nP"]))])
        elif what == "word" and tool.prog not in RUNS_COMMAND:
            units.append([draw(values(tool.positional or "word", w))])
        elif kind:
            units.append([flag, draw(values(kind, w))])
        else:
            units.append([flag])
    units = draw(st.permutations(units))
    argv = ["-P", str(w.lxcpath)] + [t for unit in units for t in unit]
    if tool.prog not in RUNS_COMMAND and draw(st.booleans()):
        argv.append(draw(st.sampled_from(["-n", "-P", "-o", "-l", "--"])))  # no value
    if tool.prog == "lxc-monitor":  # it listens forever: make sure it only parses
        argv.insert(0, "--no-such-option")
    if tool.prog == "lxc-execute" and (w.present in argv or f"--name={w.present}" in argv):
        argv = [t for t in argv if t not in ("-d", "--daemon")]  # present stays stopped
    return argv + list(tool.suffix)


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.prog)
def test_options_fuzz(world: World, tool: Tool) -> None:
    @FUZZ
    @given(st.data())
    def run(data: st.DataObject) -> None:
        argv = data.draw(tool_argv(tool, world))
        timeout = 10.0 if tool.prog == "lxc-monitor" else TIMEOUT
        r = run_checked(tool.prog, argv, world.lxcpath, timeout=timeout)
        if tool.prog == "lxc-monitor":
            assert r.returncode != 0, argv
        remove_new(world.lxcpath, {world.present})

    run()
    assert (world.lxcpath / world.present / "config").is_file()


@FUZZ
@given(st.data())
def test_create_options_fuzz(world: World, data: st.DataObject) -> None:
    """lxc-create's own options, with fresh and bad names and every kind of file."""
    tool = Tool("lxc-create", (("-f", "file"), ("-t", "template")), names="not-present")
    argv = data.draw(tool_argv(tool, world))
    if data.draw(st.booleans()):
        argv += ["--", data.draw(st.sampled_from(HOSTILE))]  # template options
    run_checked("lxc-create", argv, world.lxcpath)
    for entry in world.lxcpath.iterdir():  # what a create made must load
        parse_file(str(entry / "config"))
    remove_new(world.lxcpath, {world.present})


# ---- config values from the real key table -------------------------------------------
def key_names() -> list[str]:
    names = set()
    for k in KEYS:
        for spelling in (k.name, *k.legacy):
            names.add(spelling.replace("<N>", "0").replace("<file>", "memory.max")
                      .replace("<key>", "net.ipv4.ip_forward").replace("<resource>", "nofile")
                      .replace("<namespace>", "net").replace("<name>", "x"))
    return sorted(names)


KEY_NAMES = key_names()
CONFIG_VALUES = ["", "0", "1", "-1", "up", "veth", "empty", "none", "abc", "1.2.3.5/24",
                 "00:16:3e:xx:xx:xx", "fd00::1/64", "SIGPWR", "proc:mixed sys:ro",
                 "u 0 100000 65536", "sys_admin", "unlimited", "/a b none ro,bind 0 0",
                 "'quoted'", '"x', "A=1", "dir:/x", "a/../b", "é", " = ", "#", "\\",
                 "99999999999999999999", "/nonexistent"]


@FUZZ
@given(st.data())
def test_config_values_fuzz(world: World, data: st.DataObject) -> None:
    """lxc-create -f with random ``key = value`` lines: a container that loads, or one line."""
    special = [str(world.fifo), str(world.cdir), str(world.chardev), str(world.good_conf)]
    value = st.one_of(st.sampled_from(CONFIG_VALUES + special),
                      TEXT.filter(lambda t: "\n" not in t and "\r" not in t))
    lines = data.draw(st.lists(st.tuples(st.sampled_from(KEY_NAMES), value), min_size=1,
                               max_size=6))
    conf = world.tmp / "fuzz.conf"
    conf.write_text("".join(f"{k} = {v}\n" for k, v in lines))
    run_checked("lxc-create", ["-P", str(world.lxcpath), "-n", "cfg", "-f", str(conf)],
                world.lxcpath)
    if (world.lxcpath / "cfg").exists():
        parse_file(str(world.lxcpath / "cfg" / "config"))
    remove_new(world.lxcpath, {world.present})


# ---- names -----------------------------------------------------------------------------
def test_bad_names(world: World) -> None:
    """'/', '..', a newline, empty, 65 bytes: one clear line from every tool, nothing made."""
    before = tree(world.lxcpath)
    p = ["-P", str(world.lxcpath)]
    for name in BAD_NAMES:
        for prog, extra in [("lxc-create", ["-f", str(world.good_conf)]), ("lxc-info", []),
                            ("lxc-destroy", ["-f"]), ("lxc-start", list(TRUE)),
                            ("lxc-execute", list(TRUE)), ("lxc-attach", list(TRUE))]:
            r = run_checked(prog, [*p, "-n", name, *extra], world.lxcpath)
            line = assert_one_line_error(r, f"{prog} -n {name!r}")
            if name == NAME_65:
                assert "64" in line, line
    assert tree(world.lxcpath) == before


def test_name_of_64_bytes(world: World) -> None:
    """The longest name works all the way: create, execute (socket paths!), info, destroy."""
    p = ["-P", str(world.lxcpath)]
    for name in (NAME_64, "é" * 32):
        assert len(name.encode()) == 64
        r = run_checked("lxc-create", [*p, "-n", name, "-f", str(world.good_conf)],
                        world.lxcpath)
        assert r.returncode == 0, r.stderr
        r = run_checked("lxc-execute", [*p, "-n", name, "--", "/bin/echo", "ok"],
                        world.lxcpath)
        assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
        r = run_checked("lxc-info", [*p, "-n", name, "-s"], world.lxcpath)
        assert "STOPPED" in r.stdout, r
        r = run_checked("lxc-destroy", [*p, "-n", name], world.lxcpath)
        assert r.returncode == 0 and not (world.lxcpath / name).exists(), r.stderr


# ---- odd files -------------------------------------------------------------------------
def test_config_file_kinds(world: World) -> None:
    """A directory, a FIFO, a device, a loop, an include of a FIFO: one line, no hang."""
    p = ["-P", str(world.lxcpath)]
    loop = world.tmp / "loop.conf"
    if not loop.is_symlink():
        loop.symlink_to(loop.name)
    includes = world.tmp / "includes-fifo.conf"
    includes.write_text(f"lxc.uts.name = x\nlxc.include = {world.fifo}\n")
    before = tree(world.lxcpath)
    for bad in (world.cdir, world.fifo, world.chardev, loop, includes):
        for prog, argv in [("lxc-create", [*p, "-n", "new", "-f", str(bad)]),
                           ("lxc-execute", [*p, "-n", "new", "-f", str(bad), *TRUE]),
                           ("lxc-start", [*p, "-n", "new", "-f", str(bad), *TRUE]),
                           ("lxc-execute", [*p, "-n", world.present, "-f", str(bad), *TRUE]),
                           ("lxc-update-config", ["-c", str(bad)])]:
            if prog == "lxc-update-config" and bad == includes:
                continue  # a regular file: updating it is fine
            r = run_checked(prog, argv, world.lxcpath, timeout=10)
            assert_one_line_error(r, f"{prog} {argv}")
    # regular files with garbage: a clean container or one line, never a half-made one
    garbage = {"binary": b"\xff\xfe\x00lxc.uts.name = \x00x\n",
               "latin1": "lxc.uts.name = caf\xe9\n".encode("latin-1"),
               "long-line": b"lxc.uts.name = " + b"x" * (1 << 20) + b"\n",
               "many-lines": b"lxc.environment = A=1\n" * 100000,
               "nul-key": b"lxc.uts\x00.name = x\n"}
    for kind, data in garbage.items():
        path = world.tmp / f"garbage-{kind}.conf"
        path.write_bytes(data)
        r = run_checked("lxc-create", [*p, "-n", "junk", "-f", str(path)], world.lxcpath,
                        timeout=30)
        if r.returncode == 0:
            parse_file(str(world.lxcpath / "junk" / "config"))
            remove_new(world.lxcpath, {world.present})
    # a log file that is a FIFO or a directory must not hang or crash a command either
    for log in (world.fifo, world.cdir):
        run_checked("lxc-info", [*p, "-n", world.present, "-o", str(log), "-l", "DEBUG"],
                    world.lxcpath, timeout=10)
    assert tree(world.lxcpath) == before


# ---- odd lxcpaths ----------------------------------------------------------------------
def mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)


def umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], check=False)
    remove_rundir(where)


def test_readonly_lxcpath(world: World, tmp_path: Path) -> None:
    """A read-only lxcpath: reading and running work, every change is refused in one line."""
    ro = tmp_path / "ro"
    mount_tmpfs(ro, "size=1m,mode=755")
    try:
        p = ["-P", str(ro)]
        r = run_checked("lxc-create", [*p, "-n", "old", "-f", str(world.good_conf)], ro)
        assert r.returncode == 0, r.stderr
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        before = tree(ro)
        for prog, argv in [("lxc-create", [*p, "-n", "new", "-f", str(world.good_conf)]),
                           ("lxc-create", [*p, "-n", "new", "-t", "busybox"]),
                           ("lxc-destroy", [*p, "-n", "old"]),
                           ("lxc-update-config", ["-c", str(ro / "old" / "config")])]:
            assert_one_line_error(run_checked(prog, argv, ro), f"{prog} {argv}")
        assert run_checked("lxc-ls", [*p, "-1"], ro).stdout.split() == ["old"]
        assert "STOPPED" in run_checked("lxc-info", [*p, "-n", "old", "-s"], ro).stdout
        # running needs no write to the lxcpath (runtime state is in the run directory), as
        # in LXC: an existing container runs from a read-only lxcpath
        r = run_checked("lxc-execute", [*p, "-n", "old", "--", "/bin/echo", "ok"], ro)
        assert (r.returncode, r.stdout, r.stderr) == (0, "ok\n", "")
        assert tree(ro) == before
    finally:
        umount(ro)


def test_full_lxcpath(world: World, tmp_path: Path) -> None:
    """No space and no inodes left: a create fails in one line and leaves nothing behind."""
    full = tmp_path / "full"
    mount_tmpfs(full, "size=256k,mode=755")
    try:
        p = ["-P", str(full)]
        r = run_checked("lxc-create", [*p, "-n", "old", "-f", str(world.good_conf)], full)
        assert r.returncode == 0, r.stderr
        legacy = full / "old" / "legacy.conf"
        shutil.copy(world.legacy_conf, legacy)
        with open(full / "filler", "wb") as f:  # fill it up
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        big = world.tmp / "big.conf"
        big.write_text("lxc.uts.name = big\n" + "# padding\n" * 20000)
        for argv in ([*p, "-n", "new", "-f", str(big)], [*p, "-n", "new2", "-t", "busybox"]):
            r = run_tool("lxc-create", *argv, timeout=TIMEOUT)
            assert_one_line_error(r, f"lxc-create {argv}")
            assert not (full / argv[3]).exists(), f"half-made {argv[3]}"
        r = run_tool("lxc-update-config", "-c", str(legacy))
        # refused in one line (no room for the new file beside it), the file as it was
        assert_one_line_error(r, "lxc-update-config on a full lxcpath")
        assert legacy.read_text() == world.legacy_conf.read_text()
        assert not [e for e in (full / "old").iterdir() if ".tmp." in e.name]
    finally:
        umount(full)
    for count in (1, 2):  # no inode for the directory; none for the config file
        inodes = tmp_path / f"inodes{count}"
        mount_tmpfs(inodes, f"size=1m,nr_inodes={count},mode=755")
        try:
            r = run_tool("lxc-create", "-P", str(inodes), "-n", "x", "-f",
                         str(world.good_conf))
            assert_one_line_error(r, f"lxc-create on a tmpfs with {count} inodes")
            assert not list(inodes.iterdir()), "half-made container"
        finally:
            umount(inodes)
