"""python3-lxc's Python API: its own examples (examples/api_test.py, pyconsole.py) run
against lxcpy (pyconsole-vte.py needs a GTK display: not run).

The examples are python3-lxc's files as published (github lxc/python3-lxc, LGPL-2.1+, (C)
Canonical Ltd.), kept verbatim below and run in a child Python with exactly these edits,
each applied with str.replace so that the difference stays visible:

* ``import lxc`` -> ``import lxcpy as lxc``;
* ``create("download", 0, {ubuntu noble})`` -> ``create("busybox")``: no distribution
  images here (no network), lxcpy's busybox template instead;
* on a cgroup v1 (hybrid) host, v2's ``memory.peak``/``memory.max`` become v1's
  ``memory.max_usage_in_bytes``/``memory.limit_in_bytes``.

The containers land in the test's lxcpath: ``LXC_GLOBAL_CONF`` names an lxc.conf whose
lxc.lxcpath is it and whose lxc.default_config is LXC's default.conf (a veth on lxcbr0)
plus an address (the example waits for one). lxcbr0 is a bridge made in the test's own
network namespace.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import PtyReader, cgroup_version

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not any(os.access(os.path.join(d, "busybox"), os.X_OK)
                               for d in os.environ.get("PATH", "").split(":") if d),
                       reason="needs busybox"),
]

UPSTREAM_API_TEST = r"""#!/usr/bin/env python3
# -*- coding: utf-8 -*-
#
# api_test.py: Test/demo of the python3-lxc API
#
# (C) Copyright Canonical Ltd. 2012
#
# Authors:
# Stéphane Graber <stgraber@ubuntu.com>
#
# This library is free software; you can redistribute it and/or
# modify it under the terms of the GNU Lesser General Public
# License as published by the Free Software Foundation; either
# version 2.1 of the License, or (at your option) any later version.
#
# This library is distributed in the hope that it will be useful,
# but WITHOUT ANY WARRANTY; without even the implied warranty of
# MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
# Lesser General Public License for more details.
#
# You should have received a copy of the GNU Lesser General Public
# License along with this library; if not, write to the Free Software
# Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA  02110-1301
# USA
#

import lxc
import uuid
import os
import subprocess
import sys
import time

# Let's pick a random name, avoiding clashes
CONTAINER_NAME = str(uuid.uuid1())
CLONE_NAME = str(uuid.uuid1())
RENAME_NAME = str(uuid.uuid1())

## Instantiate the container instance
print("Getting instance for '%s'" % CONTAINER_NAME)
container = lxc.Container(CONTAINER_NAME)

# A few basic checks of the current state
assert(container.config_file_name == "%s/%s/config" %
       (lxc.default_config_path, CONTAINER_NAME))
assert(not container.defined)
assert(container.init_pid == -1)
assert(container.name == CONTAINER_NAME)
assert(not container.running)
assert(container.state == "STOPPED")

# Try to get the host architecture for dpkg systems
arch = "i386"
try:
    with open(os.path.devnull, "w") as devnull:
        dpkg = subprocess.Popen(['dpkg', '--print-architecture'],
                                stderr=devnull, stdout=subprocess.PIPE,
                                universal_newlines=True)

        if dpkg.wait() == 0:
            arch = dpkg.stdout.read().strip()
except:
    pass

## Create a rootfs
print("Creating rootfs using 'download', arch=%s" % arch)
container.create("download", 0,
                 {"dist": "ubuntu",
                  "release": "noble",
                  "arch": arch})

assert(container.defined)
assert(container.name == CONTAINER_NAME
       == container.get_config_item("lxc.uts.name"))
assert(container.name in lxc.list_containers())

## Test the config
print("Testing the configuration")
capdrop = container.get_config_item("lxc.cap.drop")
container.clear_config_item("lxc.cap.drop")
container.set_config_item("lxc.cap.drop", capdrop[:-1])
container.append_config_item("lxc.cap.drop", capdrop[-1])
container.save_config()

# A few basic checks of the current state
assert(isinstance(capdrop, list))
assert(capdrop == container.get_config_item("lxc.cap.drop"))

## Test the networking
print("Testing the networking")

# A few basic checks of the current state
assert("name" in container.get_keys("lxc.net.0"))
assert(len(container.network) == 1)

## Starting the container
print("Starting the container")
container.start()
container.wait("RUNNING", 3)

# A few basic checks of the current state
assert(container.init_pid > 1)
assert(container.running)
assert(container.state == "RUNNING")


## Checking IP address
print("Getting the interface names")
expected_ifs = set(('lo', 'eth0'))
if os.path.isdir('/sys/module/sit'):
    expected_ifs.add('sit0')
if os.path.isdir('/sys/module/ipip'):
    expected_ifs.add('tunl0')
assert(set(container.get_interfaces()) == expected_ifs)

## Checking IP address
print("Getting the IP addresses")

count = 0
ips = []
while not ips and count != 30:
    ips = container.get_ips()
    time.sleep(1)
    count += 1

if os.geteuid():
    container.attach_wait(lxc.attach_run_command, ["ifconfig", "eth0"],
                          namespaces=(lxc.CLONE_NEWUSER + lxc.CLONE_NEWNET
                                      + lxc.CLONE_NEWUTS))
else:
    container.attach_wait(lxc.attach_run_command, ["ifconfig", "eth0"],
                          namespaces=(lxc.CLONE_NEWNET + lxc.CLONE_NEWUTS))

# A few basic checks of the current state
assert(len(ips) > 0)

## Test running config
assert(container.name == CONTAINER_NAME
       == container.get_config_item("lxc.uts.name")
       == container.get_running_config_item("lxc.uts.name"))

## Testing cgroups a bit
print("Testing cgroup API")
max_mem = container.get_cgroup_item("memory.peak")
current_limit = container.get_cgroup_item("memory.max")
assert(container.set_cgroup_item("memory.max", max_mem))
assert(container.get_cgroup_item("memory.max") != current_limit)

## Freezing the container
print("Freezing the container")
container.freeze()
container.wait("FROZEN", 3)

# A few basic checks of the current state
assert(container.init_pid > 1)
assert(container.running)
assert(container.state == "FROZEN")

## Unfreezing the container
print("Unfreezing the container")
container.unfreeze()
container.wait("RUNNING", 3)

# A few basic checks of the current state
assert(container.init_pid > 1)
assert(container.running)
assert(container.state == "RUNNING")

if len(sys.argv) > 1 and sys.argv[1] == "--with-console":
    ## Attaching to tty1
    print("Attaching to tty1")
    container.console(tty=1)

## Shutting down the container
print("Shutting down the container")
if not container.shutdown(3):
    container.stop()

if container.running:
    print("Stopping the container")
    container.stop()
    container.wait("STOPPED", 3)

# A few basic checks of the current state
assert(container.init_pid == -1)
assert(not container.running)
assert(container.state == "STOPPED")

## Snapshotting the container
print("Snapshotting the container")
assert(not container.snapshot_list())
assert(container.snapshot() == "snap0")
assert(len(container.snapshot_list()) == 1)
assert(container.snapshot_restore("snap0") is True)
assert(container.snapshot_destroy("snap0") is True)

## Cloning the container
print("Cloning the container as '%s'" % CLONE_NAME)
clone = container.clone(CLONE_NAME)
assert(clone is not False)

print ("Renaming the clone to '%s'" % RENAME_NAME)
rename = clone.rename(RENAME_NAME)
rename.start()
rename.stop()
rename.destroy()

## Destroy the container
print("Destroying the container")
container.destroy()

assert(not container.defined)
"""

UPSTREAM_PYCONSOLE = r"""#!/usr/bin/env python3
# -*- coding: utf-8 -*-
#
# pyconsole: Example program showing use of console functions
#            in the lxc python binding
#
# (C) Copyright Oracle. 2013
#
# Authors:
# Dwight Engen <dwight.engen@oracle.com>
#
# This library is free software; you can redistribute it and/or
# modify it under the terms of the GNU Lesser General Public
# License as published by the Free Software Foundation; either
# version 2.1 of the License, or (at your option) any later version.
#
# This library is distributed in the hope that it will be useful,
# but WITHOUT ANY WARRANTY; without even the implied warranty of
# MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
# Lesser General Public License for more details.
#
# You should have received a copy of the GNU Lesser General Public
# License along with this library; if not, write to the Free Software
# Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA  02110-1301
# USA
#

import lxc
import sys
import time

if __name__ == '__main__':
    ttynum = -1
    escape = 1
    if len(sys.argv) < 2:
        sys.exit("Usage: %s container-name [ttynum [escape]]" % sys.argv[0])
    if len(sys.argv) > 2:
        ttynum = int(sys.argv[2])
    if len(sys.argv) > 3:
        escape = ord(sys.argv[3]) - ord('a') + 1

    ct = lxc.Container(sys.argv[1])

    print("Container:%s tty:%d Ctrl-%c q to quit" %
          (ct.name, ttynum, ord('a') + escape-1))
    time.sleep(1)
    if not ct.defined:
        sys.exit("Container %s not defined" % ct.name)
    if not ct.running:
        sys.exit("Container %s not running" % ct.name)

    ct.console(ttynum, 0, 1, 2, escape)
    print("Console done")
"""

DEFAULT_CONF = """lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.ipv4.address = 10.0.3.2/24
"""


def ported(text: str) -> str:
    """The example with the edits the module docstring lists (each must apply)."""
    edits = [("import lxc\n", "import lxcpy as lxc\n"),
             ('container.create("download", 0,\n'
              '                 {"dist": "ubuntu",\n'
              '                  "release": "noble",\n'
              '                  "arch": arch})\n', 'container.create("busybox")\n')]
    if cgroup_version() == 1:
        edits += [('"memory.peak"', '"memory.max_usage_in_bytes"'),
                  ('"memory.max"', '"memory.limit_in_bytes"')]
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


def _own_netns() -> bool:
    """A network namespace of the test's own (unshare --net): nothing but lo in it."""
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return {line.split(":")[0].strip() for line in lines} <= {"lo", "lxcbr0"}


@pytest.fixture
def bridge() -> object:
    """lxcbr0 in this test's network namespace (never in the host's)."""
    if not _own_netns():
        pytest.skip("run inside unshare --net: the test makes a bridge")
    made = subprocess.run(["ip", "link", "add", "lxcbr0", "type", "bridge"]).returncode == 0
    subprocess.run(["ip", "link", "set", "lxcbr0", "up"], check=True)
    yield "lxcbr0"
    if made:
        subprocess.run(["ip", "link", "del", "lxcbr0"])


def _env(lxcpath: Path) -> dict[str, str]:
    conf_dir = lxcpath.parent
    (conf_dir / "default.conf").write_text(DEFAULT_CONF)
    (conf_dir / "lxc.conf").write_text(f"lxc.lxcpath = {lxcpath}\n"
                                       f"lxc.default_config = {conf_dir / 'default.conf'}\n")
    env = dict(os.environ)
    env.pop("LXC_LXCPATH", None)
    env["LXC_GLOBAL_CONF"] = str(conf_dir / "lxc.conf")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


def run_python(code: str, lxcpath: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    script = lxcpath.parent / "example.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=timeout, env=_env(lxcpath), cwd=str(lxcpath.parent))


def test_python3_lxc_api_test_example(lxcpath: Path, bridge: str) -> None:
    result = run_python(ported(UPSTREAM_API_TEST), lxcpath)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Destroying the container" in result.stdout
    assert [p.name for p in lxcpath.iterdir() if (p / "config").exists()] == []


# python3-lxc's names (lxc/__init__.py and lxc.c's method and getset tables)
CONTAINER_NAMES = (
    "config_file_name", "controllable", "defined", "init_pid", "name", "running", "state",
    "attach_interface", "detach_interface", "add_device_node", "attach", "attach_wait",
    "clear_config", "clear_config_item", "console", "console_getfd", "clone", "create",
    "destroy", "freeze", "get_cgroup_item", "get_config_item", "get_config_path", "get_keys",
    "get_interfaces", "get_ips", "get_running_config_item", "load_config", "reboot", "rename",
    "remove_device_node", "save_config", "set_cgroup_item", "set_config_item",
    "set_config_path", "shutdown", "snapshot", "snapshot_destroy", "snapshot_list",
    "snapshot_restore", "start", "stop", "unfreeze", "wait", "add_device_net",
    "append_config_item", "network")
MODULE_NAMES = (
    "Container", "list_containers", "attach_run_command", "attach_run_shell",
    "arch_to_personality", "get_global_config_item", "default_config_path", "version",
    "CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWUSER",
    "CLONE_NEWUTS", "LXC_ATTACH_CLEAR_ENV", "LXC_ATTACH_KEEP_ENV", "LXC_ATTACH_DEFAULT",
    "LXC_ATTACH_DROP_CAPABILITIES", "LXC_ATTACH_LSM_EXEC", "LXC_ATTACH_LSM_NOW",
    "LXC_ATTACH_MOVE_TO_CGROUP", "LXC_ATTACH_REMOUNT_PROC_SYS", "LXC_ATTACH_SET_PERSONALITY",
    "LXC_CLONE_KEEPBDEVTYPE", "LXC_CLONE_KEEPMACADDR", "LXC_CLONE_KEEPNAME",
    "LXC_CLONE_MAYBE_SNAPSHOT", "LXC_CLONE_SNAPSHOT", "LXC_CREATE_QUIET")


def test_every_python3_lxc_name_is_there(lxcpath: Path) -> None:
    import lxcpy as lxc

    container = lxc.Container("names", config_path=str(lxcpath))
    assert [n for n in CONTAINER_NAMES if not hasattr(container, n)] == []
    assert [n for n in MODULE_NAMES if not hasattr(lxc, n)] == []
    assert len(CONTAINER_NAMES) == 47
    assert lxc.list_containers(config_path=str(lxcpath)) == ()
    assert lxc.Container("names", str(lxcpath)).config_file_name == \
        f"{lxcpath}/names/config"  # config_path is the second positional argument too
    assert lxc.arch_to_personality("x86_64") == 0 and lxc.arch_to_personality("i686") == 8
    with pytest.raises(KeyError):
        container.get_config_item("lxc.bogus")


def test_config_items_in_memory_until_saved(lxcpath: Path) -> None:
    import lxcpy as lxc

    c = lxc.Container("cfg", config_path=str(lxcpath))
    c.clear_config()
    assert c.set_config_item("lxc.tty.max", "2") and c.set_config_item("lxc.tty.max", "3")
    assert c.get_config_item("lxc.tty.max") == "3"
    assert c.set_config_item("lxc.cap.drop", ["sys_admin", "mknod"])
    assert c.append_config_item("lxc.cap.drop", "sys_time")
    assert c.get_config_item("lxc.cap.drop") == ["sys_admin", "mknod", "sys_time"]
    assert c.set_config_item("lxc.tty.max", "many") is False  # refused, old value kept
    assert c.get_config_item("lxc.tty.max") == "3"
    # cleared: LXC's built-in value, as python3-lxc reads it (liblxc's getter)
    assert c.clear_config_item("lxc.tty.max") and c.get_config_item("lxc.tty.max") == "0"
    assert not c.defined
    assert c.save_config()
    again = lxc.Container("cfg", config_path=str(lxcpath))
    assert again.get_config_item("lxc.cap.drop") == ["sys_admin", "mknod", "sys_time"]
    assert again.get_config_item("lxc.tty.max") == "0"
    assert c.destroy() is True and not c.defined


def test_destroy_right_after_stop_in_one_process(lxcpath: Path) -> None:
    """stop() returns once the supervisor has let go of the container: a destroy() at
    once never finds it "already running" (it did in 2 of 5 runs)."""
    import lxcpy as lxc

    for round_ in range(5):
        c = lxc.Container(f"race{round_}", config_path=str(lxcpath))
        c.clear_config()
        c.set_config_item("lxc.uts.name", f"race{round_}")
        assert c.create() is True
        assert c.start(cmd=("sleep", "100")) is True
        assert c.running
        assert c.stop() is True
        assert c.destroy() is True, f"round {round_}: destroy right after stop failed"
        assert not c.defined


def test_lxc_info_c_prints_values_as_c_lxc(lxcpath: Path) -> None:
    """The keys lxc-info -c printed otherwise than C LXC 5.0.2 (scripts/parity-count.py),
    through the command and python3-lxc's get_config_item (a str unless it ends in \\n)."""
    import lxcpy as lxc_api
    from tests.integration.helpers import lxc, make

    name = make(lxcpath, "lxc.signal.halt = SIGPWR\nlxc.rootfs.path = dir:/srv/r\n"
                         "lxc.mount.auto = sys:mixed cgroup:mixed proc:mixed\n"
                         "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.3.2/24\n"
                         "lxc.net.0.ipv6.address = fd00::2/64\n")

    def info(*keys: str) -> str:
        args = [a for k in keys for a in ("-c", k)]
        return lxc("info", "-n", name, *args, lxcpath=lxcpath, check=True).stdout

    assert info("lxc.signal.halt", "lxc.signal.stop") == \
        "lxc.signal.halt = 30\nlxc.signal.stop = 0\n"
    assert info("lxc.rootfs.path") == "lxc.rootfs.path = /srv/r\n"
    assert info("lxc.mount.auto") == "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed\n"
    assert info("lxc.net.0.ipv4.address", "lxc.net.0.ipv6.address") == \
        "lxc.net.0.ipv4.address = 10.0.3.2/24\nlxc.net.0.ipv6.address = fd00::2/64\n"
    assert info("lxc.net") == "lxc.net = veth\n\n"
    assert info("lxc.tty.max", "lxc.cgroup.dir", "lxc.init.cwd") == \
        "lxc.tty.max = 0\nlxc.cgroup.dir = (null)\nlxc.init.cwd =\n"
    c = lxc_api.Container(name, config_path=str(lxcpath))
    assert c.get_config_item("lxc.net.0.ipv4.address") == "10.0.3.2/24"  # python3-lxc: str
    assert c.get_config_item("lxc.net") == ["veth"] and len(c.network) == 1
    assert c.get_config_item("lxc.signal.halt") == "30"


def test_lxc_info_c_and_lxc_create_read_and_write_through_the_model(lxcpath: Path) -> None:
    from tests.integration.helpers import lxc, make

    name = make(lxcpath, "lxc.tty.max = 2\nlxc.tty.max = 3\nlxc.environment = A=1\n"
                         "lxc.environment =\nlxc.cap.drop = mknod\nlxc.cap.drop = sys_time\n")
    info = lxc("info", "-n", name, "-c", "lxc.tty.max", lxcpath=lxcpath, check=True)
    assert info.stdout == "lxc.tty.max = 3\n"  # the value in effect, not both lines
    info = lxc("info", "-n", name, "-c", "lxc.environment", lxcpath=lxcpath, check=True)
    assert info.stdout == "lxc.environment =\n"  # cleared: C LXC 5.0.2's "%s =\n"
    info = lxc("info", "-n", name, "-H", "-c", "lxc.cap.drop", lxcpath=lxcpath, check=True)
    assert info.stdout == "mknod\nsys_time\n\n"  # C LXC's: each value, then the newline
    info = lxc("info", "-n", name, "-c", "lxc.cap.drop", lxcpath=lxcpath, check=True)
    assert info.stdout == "lxc.cap.drop = mknod\nsys_time\n\n"
    assert lxc("info", "-n", name, "-c", "lxc.bogus", lxcpath=lxcpath).returncode != 0
    config = (lxcpath / name / "config").read_text()
    assert config.count("lxc.tty.max") == 2  # the user's lines as written (LXC keeps them)
    assert config.count("lxc.uts.name") == 1
    if any(os.access(os.path.join(d, "busybox"), os.X_OK)
           for d in os.environ.get("PATH", "").split(":") if d):
        for extra in ("", "lxc.utsname = legacy\n"):
            bb = make(lxcpath, extra, template="busybox", uts=False)
            text = (lxcpath / bb / "config").read_text()
            assert text.count("lxc.uts.name") + text.count("lxc.utsname") == 1, text


def test_attach_runs_a_python_function_inside(lxcpath: Path) -> None:
    """python3-lxc's attach_wait(run, payload): run(payload) in the container's namespaces,
    its result the exit status; attach() returns a PID to wait for."""
    import lxcpy as lxc

    c = lxc.Container("fn", config_path=str(lxcpath))
    c.clear_config()
    c.set_config_item("lxc.uts.name", "inside-fn")
    assert c.create() is True
    assert c.start(cmd=("sleep", "100")) is True
    try:
        def hostname_is(want: str) -> int:
            return 0 if os.uname().nodename == want else 3

        assert c.attach_wait(hostname_is, "inside-fn") == 0
        assert c.attach_wait(hostname_is, os.uname().nodename) == 3
        assert c.attach_wait(lambda: os.getpid() != 1 and 5) == 5
        assert c.attach_wait(lxc.attach_run_command, ["sh", "-c", "exit 7"]) == 7
        pid = c.attach(hostname_is, "inside-fn", namespaces=lxc.CLONE_NEWUTS)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    finally:
        assert c.stop() is True
        assert c.destroy() is True



def test_python3_lxc_pyconsole_example(lxcpath: Path) -> None:
    """examples/pyconsole.py NAME 0 on a terminal: the console shell answers, Ctrl-a q."""
    import pty
    import time

    from tests.integration.helpers import lxc, make

    name = make(lxcpath, "lxc.tty.max = 1\n", template="busybox")
    assert lxc("start", "-n", name, "-d", lxcpath=lxcpath, timeout=30).returncode == 0
    script = lxcpath.parent / "pyconsole.py"
    script.write_text(UPSTREAM_PYCONSOLE.replace("import lxc\n", "import lxcpy as lxc\n"))
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(script), name, "0"], stdin=slave,
                            stdout=slave, stderr=slave, env=_env(lxcpath),
                            start_new_session=True)
    os.close(slave)
    reader = PtyReader(master)
    wait_for = reader.wait_for

    try:
        assert wait_for(f"Container:{name} tty:0 Ctrl-a q to quit".encode()), reader.seen
        deadline = time.monotonic() + 20  # the console shell may still be starting
        while b"hi-3" not in reader.seen and time.monotonic() < deadline:
            os.write(master, b"echo hi-$((1+2))\r")
            wait_for(b"hi-3", 1)
        assert b"hi-3" in reader.seen, reader.seen[-500:]
        os.write(master, b"\x01q")
        assert wait_for(b"Console done"), reader.seen[-500:]
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert lxc("stop", "-n", name, "-k", lxcpath=lxcpath, timeout=30).returncode == 0


def test_start_uses_the_config_in_memory(lxcpath: Path) -> None:
    """liblxc starts from the config in memory: an unsaved set_config_item counts."""
    import lxcpy as lxc

    c = lxc.Container("mem", config_path=str(lxcpath))
    c.clear_config()
    c.set_config_item("lxc.uts.name", "saved")
    assert c.create() is True
    assert c.set_config_item("lxc.uts.name", "in-memory")
    assert c.start(cmd=("sleep", "100")) is True
    try:
        assert c.attach_wait(lambda: 0 if os.uname().nodename == "in-memory" else 1) == 0
        assert lxc.Container("mem", str(lxcpath)).get_config_item("lxc.uts.name") == "saved"
        assert [p.name for p in (lxcpath / "mem").iterdir()] == ["config"]  # no file left
    finally:
        assert c.stop() is True
    assert c.destroy() is True


def test_network_objects_edit_the_config_in_memory(lxcpath: Path) -> None:
    import lxcpy as lxc

    c = lxc.Container("net", config_path=str(lxcpath))
    c.clear_config()
    assert len(c.network) == 0
    assert c.network.add("veth") is True and len(c.network) == 1
    c.network[0].link = "br0"
    assert c.network[0].link == c.get_config_item("lxc.net.0.link") == "br0"
    assert "veth_pair" in dir(c.network[0]) and "macvlan_mode" not in dir(c.network[0])
    del c.network[0].link
    assert c.get_config_item("lxc.net.0.link") == ""
    with pytest.raises(AttributeError):
        c.network[0].macvlan_mode = "bridge"  # not a key of a veth interface
    assert c.network.remove(0) is True and len(c.network) == 0
    assert not (lxcpath / "net").exists()  # nothing saved


def test_get_running_config_item_asks_the_supervisor(lxcpath: Path) -> None:
    """The running value comes from the supervisor (liblxc's command), not the saved file:
    a key changed on disk after the start still reads as the container runs it."""
    import lxcpy as lxc

    c = lxc.Container("runcfg", config_path=str(lxcpath))
    c.clear_config()
    c.set_config_item("lxc.uts.name", "before")
    c.set_config_item("lxc.cap.drop", ["mknod", "sys_time"])
    assert c.create() is True
    assert c.get_running_config_item("lxc.uts.name") is None  # not running
    assert c.start(cmd=("sleep", "100")) is True
    try:
        on_disk = lxc.Container("runcfg", config_path=str(lxcpath))
        assert on_disk.set_config_item("lxc.uts.name", "after") and on_disk.save_config()
        assert lxc.Container("runcfg", str(lxcpath)).get_config_item("lxc.uts.name") == "after"
        assert c.get_running_config_item("lxc.uts.name") == "before"
        assert c.get_running_config_item("lxc.cap.drop") == "mknod\nsys_time\n"  # liblxc's
        assert c.get_running_config_item("lxc.tty.max") == "0"  # liblxc's default
        assert c.get_running_config_item("lxc.init.cwd") is None  # no value
        assert c.get_running_config_item("lxc.bogus") is None  # liblxc: NULL, no KeyError
    finally:
        assert c.stop() is True
    assert c.get_running_config_item("lxc.uts.name") is None
    assert c.destroy() is True


def test_get_ips_interface_family_and_scope(lxcpath: Path) -> None:
    """liblxc's get_ips filters: all but lo by default, one interface (lo too) when named,
    IPv6 by scope id (0: not link-local; an interface index: its link-local ones)."""
    import lxcpy as lxc

    if not _own_netns():
        pytest.skip("run inside unshare --net")
    c = lxc.Container("ips", config_path=str(lxcpath))
    c.clear_config()
    c.set_config_item("lxc.net.0.type", "empty")
    c.set_config_item("lxc.net.0.flags", "up")  # lo up: 127.0.0.1 and ::1
    assert c.create() is True
    assert c.get_ips() == ()  # not running
    assert c.start(cmd=("sleep", "100")) is True
    try:
        def inside(*args: str) -> str:  # ip in the container's network namespace
            return subprocess.run(["nsenter", "-t", str(c.init_pid), "-n", "ip", *args],
                                  check=True, capture_output=True, text=True).stdout

        inside("link", "add", "v0", "type", "veth", "peer", "name", "v1")
        inside("addr", "add", "10.1.2.3/24", "dev", "v0")
        inside("-6", "addr", "add", "2001:db8::5/64", "dev", "v0", "nodad")
        inside("-6", "addr", "add", "fe80::5/64", "dev", "v0", "nodad")
        index = int(inside("-o", "link", "show", "dev", "v0").split(":")[0])
        assert c.get_ips() == ("10.1.2.3", "2001:db8::5")
        assert c.get_ips(family="inet") == ("10.1.2.3",)
        assert c.get_ips(family="inet6") == ("2001:db8::5",)
        assert c.get_ips(interface="lo") == ("127.0.0.1", "::1")
        assert c.get_ips(interface="v1") == ()
        assert c.get_ips("v0", "inet6", index) == ("fe80::5",)
        assert c.get_ips(family="inet6", scope=index + 1) == ()
    finally:
        assert c.stop() is True
    assert c.destroy() is True


def test_console_getfd_hands_over_a_pty(lxcpath: Path) -> None:
    """console_getfd(): an int fd of the console pty; what is written reaches the
    container's shell and its answer comes back on the same fd."""
    import time

    import lxcpy as lxc
    from tests.integration.helpers import lxc as run_lxc
    from tests.integration.helpers import make

    name = make(lxcpath, "lxc.tty.max = 1\n", template="busybox")
    c = lxc.Container(name, config_path=str(lxcpath))
    assert c.console_getfd() is False  # not running: python3-lxc returns False
    assert run_lxc("start", "-n", name, "-d", lxcpath=lxcpath, timeout=30).returncode == 0
    try:
        fd = c.console_getfd(0)
        assert isinstance(fd, int) and os.isatty(fd)
        reader = PtyReader(fd)
        deadline = time.monotonic() + 20  # the console shell may still be starting
        while b"fd-7" not in reader.seen and time.monotonic() < deadline:
            os.write(fd, b"echo fd-$((3+4))\r")
            reader.wait_for(b"fd-7", 1)
        assert b"fd-7" in reader.seen, reader.seen[-500:]
        os.close(fd)
        with pytest.raises(ValueError, match="Unable to allocate tty"):
            c.console_getfd(5)  # lxc.tty.max = 1: there is no tty 5
    finally:
        assert c.stop() is True


def test_add_and_remove_device_node(lxcpath: Path) -> None:
    """add_device_node makes the node in the container's /dev and allows it (lxc-device's
    own function); remove_device_node takes both back. True/False as python3-lxc."""
    import lxcpy as lxc
    from tests.integration.helpers import make

    name = make(lxcpath, "lxc.net.0.type = empty\n", template="busybox")
    c = lxc.Container(name, config_path=str(lxcpath))
    assert c.add_device_node("/dev/loop-control", "/dev/lc") is False  # not running
    assert c.start(useinit=True, cmd=("sleep", "300")) is True
    try:
        node = Path(f"/proc/{c.init_pid}/root/dev/lc")

        def open_inside() -> int:
            return c.attach_wait(lxc.attach_run_command, ["sh", "-c", ": < /dev/lc"])

        assert not node.exists()
        assert c.add_device_node("/dev/loop-control", "/dev/lc") is True
        st = os.stat(node)
        assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (10, 237)
        assert open_inside() == 0
        assert c.add_device_node("/dev/loop-control", "/dev/lc") is False  # it exists
        assert c.remove_device_node("/dev/loop-control", "/dev/lc") is True
        assert not node.exists()
        os.mknod(node, 0o600 | 0o020000, os.makedev(10, 237))
        assert open_inside() != 0  # denied again in the device cgroup
        assert c.remove_device_node("/dev/nonexistent") is False
        assert c.add_device_node("/etc/passwd") is False  # not a device
    finally:
        assert c.stop() is True
