"""Every tool's failures, pinned: the exact exit code and the one line each prints.

One table, one row per failure: the tool, its arguments, the exit code, and the whole of
stderr (one line; stdout stays empty). The containers are a module's own: ``stopped``
(defined, not running), ``up`` (running ``sleep``) and ``ghost`` (not defined), each with a
unique name in a throwaway lxcpath. ``{P}`` in a row is that lxcpath, ``{D}`` the directory
of the config files below, ``{stopped}``/``{up}``/``{ghost}`` the names.

A row changes only with the tool's message: a new wording is a decision, seen in review.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.integration.helpers import lxc, lxcpath_dir, make, tool, unique

pytestmark = pytest.mark.root

STATES = "STOPPED, STARTING, RUNNING, STOPPING, ABORTING, FREEZING, FROZEN, THAWED"
COLUMNS = "NAME, STATE, PID, RAM, SWAP, AUTOSTART, GROUPS, INTERFACE, IPV4, IPV6, UNPRIVILEGED"


class Row(NamedTuple):
    tool: str
    args: tuple[str, ...]
    code: int
    line: str


def row(tool: str, args: str, code: int, line: str) -> Row:
    return Row(tool, tuple(args.split()), code, line)


TABLE = [
    # ---- lxc-create
    row("create", "-f {D}/good.conf", 1, "lxc-create: No container name specified"),
    row("create", "-n {stopped} -f {D}/good.conf", 1,
        "lxc-create: {stopped}: container '{stopped}' already exists"),
    row("create", "-n a/b -f {D}/good.conf", 1,
        "lxc-create: a/b: invalid container name 'a/b': it contains '/'"),
    row("create", "-n {ghost} -f {D}/missing.conf", 1,
        "lxc-create: {ghost}: {D}/missing.conf: no such file"),
    row("create", "-n {ghost} -f {D}/bad-key.conf", 1,
        "lxc-create: {ghost}: {D}/bad-key.conf:2: unknown key 'lxc.bogus'"),
    row("create", "-n {ghost} -f {D}/bad-value.conf", 1,
        "lxc-create: {ghost}: {D}/bad-value.conf:2: lxc.net.0.type: 'nonsense' is not one "
        "of veth, macvlan, phys, vlan, ipvlan, empty, none"),
    row("create", "-n {ghost} -t nosuchtemplate", 1,
        "lxc-create: {ghost}: template 'nosuchtemplate' not found (built in: busybox, image, oci, "
        "none; LXC's in /usr/share/lxc/templates: lxc-NAME; or a path to a template script)"),
    row("create", "-n {ghost} -t busybox -- --bogus", 1,
        "lxc-create: {ghost}: busybox template: unrecognized arguments: --bogus"),
    row("create", "-n {ghost} --bogus-option", 1, "lxc-create: No such option '--bogus-option'."),
    # ---- lxc-destroy
    row("destroy", "", 1, "lxc-destroy: No container name specified"),
    row("destroy", "-n {ghost}", 1, "lxc-destroy: {ghost}: container '{ghost}' is not defined"),
    row("destroy", "-n {up}", 1, "lxc-destroy: {up}: {up} is running"),
    row("destroy", "-n {stopped} --bogus-option", 1,
        "lxc-destroy: No such option '--bogus-option'."),
    # ---- lxc-execute
    row("execute", "-- true", 1, "lxc-execute: No container name specified"),
    row("execute", "-n {stopped}", 1,
        "lxc-execute: {stopped}: no command to execute: give one or set lxc.execute.cmd"),
    row("execute", "-n {ghost} -- true", 1,
        "lxc-execute: {ghost}: container '{ghost}' is not defined in {P}"),
    row("execute", "-n {up} -- true", 1,
        "lxc-execute: {up}: container '{up}' is already running"),
    row("execute", "-n {stopped} -- /nonexistent", 127,
        "lxc-execute: {stopped}: /nonexistent: No such file or directory"),
    row("execute", "-n {stopped} -- /etc", 126, "lxc-execute: {stopped}: /etc: Permission denied"),
    row("execute", "-n {stopped} -- {D}/not-executable", 126,
        "lxc-execute: {stopped}: {D}/not-executable: Permission denied"),
    # a file the kernel cannot run (ENOEXEC) goes to /bin/sh, as C's execvp does: C LXC
    # 5.0.2 prints the same shell line and 127 (tried side by side)
    row("execute", "-n {stopped} -- {D}/bad-elf", 127, "{D}/bad-elf: 1: \x7fELFgarbage: not found"),
    row("execute", "-n {stopped} -- {D}/good.conf/x", 127,
        "lxc-execute: {stopped}: {D}/good.conf/x: Not a directory"),
    row("execute", "-n {stopped} -s lxc.bogus=1 -- true", 1,
        "lxc-execute: {stopped}: <command line>:0: unknown key 'lxc.bogus'"),
    # an unknown option before the command is refused, never run as the command
    row("execute", "-n {stopped} --bogus-option", 1,
        "lxc-execute: No such option '--bogus-option'."),
    # ---- lxc-start
    row("start", "-- /bin/true", 1, "lxc-start: No container name specified"),
    row("start", "-n {stopped}", 1,
        "lxc-start: {stopped}: refusing to start: the container has no rootfs and no command "
        "(it would boot the host's own /sbin/init); give a command after '--' or set "
        "lxc.rootfs.path"),
    row("start", "-n {ghost} -- /bin/true", 1,
        "lxc-start: {ghost}: container '{ghost}' is not defined in {P}"),
    # LXC 5: a message, and exit 0 (a script's "make sure it runs")
    row("start", "-n {up} -- /bin/true", 0, "lxc-start: {up}: Container is already running"),
    row("start", "-n {stopped} --bogus-option", 1, "lxc-start: No such option '--bogus-option'."),
    # ---- lxc-stop (2: not running, as LXC)
    row("stop", "-n {stopped}", 2, "lxc-stop: {stopped}: {stopped} is not running"),
    row("stop", "-n {ghost}", 2, "lxc-stop: {ghost}: {ghost} is not running"),
    row("stop", "-n {up} -t notanumber", 1,
        "lxc-stop: Invalid value for '-t' / '--timeout': 'notanumber' is not a valid integer."),
    row("stop", "-n {up} --bogus-option", 1, "lxc-stop: No such option '--bogus-option'."),
    # ---- lxc-freeze / lxc-unfreeze
    row("freeze", "-n {stopped}", 1, "lxc-freeze: {stopped}: {stopped} is not running"),
    row("freeze", "-n {ghost}", 1, "lxc-freeze: {ghost}: {ghost} is not running"),
    row("freeze", "-n {up} --bogus-option", 1, "lxc-freeze: No such option '--bogus-option'."),
    # a stopped one thaws with exit 0, as C LXC 5.0.2 (test_unfreeze_stopped_exits_0)
    row("unfreeze", "-n {ghost}", 1, "lxc-unfreeze: {ghost}: {ghost} is not running"),
    row("unfreeze", "-n {up} --bogus-option", 1,
        "lxc-unfreeze: No such option '--bogus-option'."),
    # ---- lxc-kill
    row("kill", "-n {up} BOGUS", 1, "lxc-kill: {up}: unknown signal 'BOGUS'"),
    row("kill", "-n {up}", 1, "lxc-kill: {up}: no signal given (-s SIGNAL)"),
    row("kill", "-n {stopped} TERM", 1, "lxc-kill: {stopped}: {stopped} is not running"),
    row("kill", "-n {ghost} TERM", 1, "lxc-kill: {ghost}: {ghost} is not running"),
    # ---- lxc-monitor (an unknown option first: it only parses and refuses)
    row("monitor", "--bogus-option", 1, "lxc-monitor: No such option '--bogus-option'."),
    row("monitor", "-n (", 1,
        "lxc-monitor: invalid regular expression '(': missing ), unterminated subpattern at "
        "position 0"),
    # ---- lxc-wait
    row("wait", "-n {stopped} -s BOGUS -t 0", 1,
        f"lxc-wait: {{stopped}}: invalid state 'BOGUS' (states: {STATES})"),
    row("wait", "-n {stopped} -t 0", 1, "lxc-wait: Missing option '-s' / '--state'."),
    row("wait", "-n {stopped} -s RUNNING -t 0", 1,
        "lxc-wait: {stopped}: timed out after 0 seconds waiting for state RUNNING"),
    # LXC 5.0.2: exit 1, silent, after waiting (the container may be made meanwhile)
    row("wait", "-n {ghost} -s RUNNING -t 0", 1,
        "lxc-wait: {ghost}: timed out after 0 seconds waiting for state RUNNING "
        "({ghost} is not defined)"),
    # ---- lxc-state / lxc-info / lxc-ps / lxc-ls
    row("state", "", 1, "lxc-state: No container name specified"),
    row("state", "-n {ghost}", 1, "lxc-state: {ghost}: {ghost} doesn't exist"),
    row("info", "-n {ghost}", 1, "lxc-info: {ghost}: {ghost} doesn't exist"),
    # LXC 5.0.2 says "lxc.bogus invalid" and exits 0; bad input exits non-zero here
    row("info", "-n {stopped} -c lxc.bogus", 1,
        "lxc-info: {stopped}: unknown config key 'lxc.bogus'"),
    row("info", "-n {stopped} -l BOGUS", 1,
        "lxc-info: Invalid value for '-l' / '--logpriority': invalid log priority 'BOGUS'"),
    row("ps", "-n {ghost}", 1, "lxc-ps: {ghost}: {ghost} doesn't exist"),
    row("ls", "-F name,bogus", 1,
        f"lxc-ls: invalid column 'BOGUS' for --fancy-format (valid: {COLUMNS})"),
    row("ls", "(", 1,
        "lxc-ls: invalid regular expression '(': missing ), unterminated subpattern at "
        "position 0"),
    # ---- lxc-top (bad values: refused before the first refresh)
    row("top", "-s x", 1, "lxc-top: invalid sort key 'x': one of n, c, b, m, s, k"),
    row("top", "-d 0", 1, "lxc-top: invalid delay '0': a number of seconds above 0"),
    row("top", "-d soon", 1, "lxc-top: invalid delay 'soon': a number of seconds above 0"),
    row("top", "--bogus-option", 1, "lxc-top: No such option '--bogus-option'."),
    # ---- lxc-attach
    row("attach", "-- true", 1, "lxc-attach: No container name specified"),
    row("attach", "-n {stopped} -- true", 1, "lxc-attach: {stopped}: {stopped} is not running"),
    row("attach", "-n {ghost} -- true", 1, "lxc-attach: {ghost}: {ghost} is not running"),
    # exec failures as lxc-execute's (and lxc-usernsexec's, lxc-unshare's): 127 not found,
    # 126 found but not executable (LXC 5.0.2's attach: the same, but 255 for ENOTDIR)
    row("attach", "-n {up} -- /nonexistent", 127,
        "lxc-attach: {up}: /nonexistent: No such file or directory"),
    row("attach", "-n {up} -- /etc", 126, "lxc-attach: {up}: /etc: Permission denied"),
    row("attach", "-n {up} -- {D}/not-executable", 126,
        "lxc-attach: {up}: {D}/not-executable: Permission denied"),
    row("attach", "-n {up} -- {D}/bad-elf", 127, "{D}/bad-elf: 1: \x7fELFgarbage: not found"),
    row("attach", "-n {up} -- {D}/good.conf/x", 127,
        "lxc-attach: {up}: {D}/good.conf/x: Not a directory"),
    row("attach", "-n {up} --bogus-option", 1, "lxc-attach: No such option '--bogus-option'."),
    # ---- lxc-cgroup
    row("cgroup", "-n {up}", 1, "lxc-cgroup: Missing argument 'KEY'."),
    row("cgroup", "-n {stopped} pids.max", 1, "lxc-cgroup: {stopped}: {stopped} is not running"),
    row("cgroup", "-n {ghost} pids.max", 1, "lxc-cgroup: {ghost}: {ghost} is not running"),
    row("cgroup", "-n {up} no.such.key", 1,
        "lxc-cgroup: {up}: no.such.key: no 'no' controller on this host"),
    row("cgroup", "-n {up} pids.nosuchfile", 1,
        "lxc-cgroup: {up}: pids.nosuchfile: no such cgroup file 'pids.nosuchfile'"),
    row("cgroup", "-n {up} pids.max bogus-value", 1,
        "lxc-cgroup: {up}: pids.max: cannot set 'bogus-value': Invalid argument"),
    # ---- lxc-console (stdin is /dev/null)
    row("console", "-n {stopped}", 1, "lxc-console: {stopped}: {stopped} is not running"),
    row("console", "-n {ghost}", 1, "lxc-console: {ghost}: {ghost} is not running"),
    row("console", "-n {up} --bogus-option", 1, "lxc-console: No such option '--bogus-option'."),
    # ---- lxc-update-config (no -P: it takes the file alone)
    row("update-config", "-c {D}/missing.conf", 1,
        "lxc-update-config: {D}/missing.conf: No such file or directory"),
    row("update-config", "-c {D}", 1, "lxc-update-config: {D}: is a directory"),
    row("update-config", "-P {P}", 1, "lxc-update-config: No such option '-P'."),
    # ---- lxc-copy, lxc-snapshot, lxc-checkpoint, lxc-autostart
    row("copy", "-n {ghost} -N {ghost}x", 1,
        "lxc-copy: {ghost}: container '{ghost}' is not defined in {P}"),
    row("copy", "-n {stopped}", 1,
        "lxc-copy: {stopped}: You must provide a NEWNAME for the clone (-N)"),
    row("copy", "-n {stopped} -N {ghost}", 1,
        "lxc-copy: {stopped}: {stopped} has no rootfs to copy"),
    # words after -- are lxc.hook.clone's arguments (LXC's), which a rename runs none of
    row("copy", "-n {stopped} -N {ghost} -R -- x", 1,
        "lxc-copy: {stopped}: -R renames in place: no -s, -e, -B, -p or arguments with it"),
    row("snapshot", "-n {ghost}", 1,
        "lxc-snapshot: {ghost}: container '{ghost}' is not defined in {P}"),
    row("snapshot", "-n {stopped} -r snap9", 1,
        "lxc-snapshot: {stopped}: {stopped} has no snapshot snap9"),
    row("snapshot", "-n {stopped} -d snap9", 1,
        "lxc-snapshot: {stopped}: {stopped} has no snapshot snap9"),
    row("checkpoint", "-n {stopped} -D {D}/ck", 1,
        "lxc-checkpoint: {stopped}: {stopped} is not running"),
    row("checkpoint", "-n {ghost} -D {D}/ck", 1,
        "lxc-checkpoint: {ghost}: container '{ghost}' is not defined in {P}"),
    row("checkpoint", "-n {up}", 1, "lxc-checkpoint: {up}: -D/--checkpoint-dir is required"),
    row("image", "export -n {ghost} {D}/x.tar.xz", 1,
        "lxc-image: {ghost}: container '{ghost}' is not defined in {P}"),
    row("image", "export -n {stopped} {D}/x.tar.xz", 1,
        "lxc-image: {stopped}: {stopped} has no rootfs to export"),
    row("image", "import -n {stopped} {D}/x.tar.xz", 1,
        "lxc-image: {stopped}: unknown action 'import' (lxc-image export -n NAME FILE.tar.xz)"),
    row("create", "-n {ghost} -t image -- --file {D}/missing.tar.xz", 1,
        "lxc-create: {ghost}: image template: {D}/missing.tar.xz: no such file"),
    row("create", "-n {ghost} -t oci -- --path {D}/missing", 1,
        "lxc-create: {ghost}: oci template: {D}/missing/index.json: no such file"),
    row("autostart", "--bogus-option", 1, "lxc-autostart: No such option '--bogus-option'."),
    # ---- lxc-checkconfig, lxc-config, lxc-usernsexec (no -P either)
    row("checkconfig", "--bogus", 1, "lxc-checkconfig: No such option '--bogus'."),
    row("checkconfig", "extra", 1, "lxc-checkconfig: Got unexpected extra argument (extra)"),
    row("config", "--bogus", 1, "lxc-config: No such option '--bogus'."),
    row("config", "lxc.bogus", 1, "lxc-config: Unknown configuration item: lxc.bogus"),
    row("usernsexec", "-m bogus -- true", 1,
        "lxc-usernsexec: -m bogus: not a map ([u|g|b]:NSID:HOSTID:RANGE)"),
    row("usernsexec", "-m u:0:100000:1 -- /nonexistent", 1,
        "lxc-usernsexec: no gid map for id 0: lxc-usernsexec runs the command as root of the "
        "namespace"),
    row("usernsexec", "-m b:0:100000:65536 -- /nonexistent", 127,
        "lxc-usernsexec: /nonexistent: No such file or directory"),
    row("usernsexec", "-m b:0:100000:65536 -- /etc", 126,
        "lxc-usernsexec: /etc: Permission denied"),
    # (a host path the namespace's root may search: {D} is beneath root's 0700 tmp)
    row("usernsexec", "-m b:0:100000:65536 -- /etc/passwd/x", 127,
        "lxc-usernsexec: /etc/passwd/x: Not a directory"),
    row("unshare", "-s MOUNT|BOGUS -- true", 1,
        "lxc-unshare: -s MOUNT|BOGUS: unknown namespace 'BOGUS' (one of MOUNT, PID, UTSNAME, "
        "IPC, USER, NETWORK)"),
    row("unshare", "-s UTSNAME -M -- true", 1,
        "lxc-unshare: -M needs a new mount namespace (-s MOUNT)"),
    row("unshare", "-s MOUNT -- /nonexistent", 127,
        "lxc-unshare: /nonexistent: No such file or directory"),
    row("unshare", "-s MOUNT -- /etc", 126, "lxc-unshare: /etc: Permission denied"),
    row("unshare", "-s MOUNT", 1,
        "lxc-unshare: no command to run (lxc-unshare -s NAMESPACES -- COMMAND)"),
    # ---- lxc-device
    row("device", "add eth0", 1, "lxc-device: No container name specified"),
    row("device", "-n {ghost} add eth0", 1,
        "lxc-device: {ghost}: container '{ghost}' is not defined in {P}"),
    row("device", "-n {stopped} add eth0", 1, "lxc-device: {stopped}: {stopped} is not running"),
    row("device", "-n {up}", 1,
        "lxc-device: {up}: usage: lxc-device -n NAME [add|del] DEV [NAME-INSIDE]"),
    row("device", "-n {up} add nosuchif0", 1,
        "lxc-device: {up}: nosuchif0: no such network interface"),
    row("device", "-n {up} add /dev/nosuchdev", 1,
        "lxc-device: {up}: /dev/nosuchdev: No such file or directory"),
    row("device", "-n {up} --bogus-option", 1, "lxc-device: No such option '--bogus-option'."),
]

# tools that take no -P (LXC's take none either)
NO_LXCPATH = {"update-config", "checkconfig", "config", "usernsexec", "unshare"}


class World(NamedTuple):
    values: dict[str, str]
    lxcpath: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("errors")
    files = base / "files"
    files.mkdir()
    (files / "good.conf").write_text("lxc.uts.name = x\n")
    (files / "bad-key.conf").write_text("lxc.uts.name = x\nlxc.bogus = 1\n")
    (files / "bad-value.conf").write_text("lxc.uts.name = x\nlxc.net.0.type = nonsense\n")
    (files / "not-executable").write_text("echo hi\n")
    (files / "bad-elf").write_bytes(b"\x7fELFgarbage")
    os.chmod(files / "bad-elf", 0o755)
    with lxcpath_dir(base) as lxcpath:
        stopped = make(lxcpath, prefix="es")
        up = make(lxcpath, prefix="eu")
        lxc("execute", "-n", up, "-d", "--", "sleep", "1000", lxcpath=lxcpath, check=True)
        yield World({"P": str(lxcpath), "D": str(files), "stopped": stopped, "up": up,
                     "ghost": unique("eg")}, lxcpath)


def row_id(r: Row) -> str:
    return f"lxc-{r.tool} {' '.join(r.args)}"


@pytest.mark.parametrize("r", TABLE, ids=row_id)
def test_error_line_and_exit_code(world: World, r: Row) -> None:
    args = [a.format(**world.values) for a in r.args]
    if r.tool not in NO_LXCPATH:
        args = ["-P", world.values["P"], *args]
    result = run(r.tool, args, world.lxcpath)
    expected = r.line.format(**world.values) + "\n"
    assert (result.returncode, result.stdout, result.stderr) == (r.code, "", expected)


def test_unfreeze_stopped_exits_0(world: World) -> None:
    """C LXC 5.0.2's lxc-unfreeze of a defined, stopped container: exit 0, nothing said."""
    result = run("unfreeze", ["-P", world.values["P"], "-n", world.values["stopped"]],
                 world.lxcpath)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def run(name: str, args: list[str], lxcpath: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(f"lxc-{name}"), *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, cwd=lxcpath.parent)


def test_every_tool_has_rows() -> None:
    """The table covers every lxc-* tool the project installs (bin/): a new tool brings rows
    (lxcpy-oci, the OCI runtime front, speaks another contract and is not here)."""
    bindir = Path(__file__).resolve().parents[2] / "bin"
    tools = {p.name.removeprefix("lxc-") for p in bindir.glob("lxc-*")}
    assert len(tools) >= 18
    assert {r.tool for r in TABLE} == tools
