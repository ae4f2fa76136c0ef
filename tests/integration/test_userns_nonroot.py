"""lxc-* run by a non-root user (issue 14, items 3 and 4): the user's own lxcpath, config
and run directory, maps through newuidmap checked against /etc/subuid, a delegated cgroup2
subtree or none (with a warning), and the refusals.

The user is uid NOBODY, which has no entry in the host's passwd: every command runs inside a
mount namespace of the test's own (``unshare -m``) in which private copies of /etc/passwd,
/etc/subuid and /etc/subgid are bound, then as that uid (``setpriv``). The host's files and
users are never touched.

The containers run on a probe rootfs (busybox) in the user's directory, except the attack
of root in a rootfs-less container (the host's / as its root), which is the point there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import (
    busybox_rootfs,
    cgroup_leftovers,
    rootfs_keys,
    tool,
    unique,
    wait_until,
)

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("newuidmap") is None,
                                 reason="Debian's uidmap (newuidmap) is not installed")]

NOBODY = 54321  # no passwd entry on the host; one in the private copy only
SUB = 200000  # the private grant: h15user:200000:65536
GRANT = f"h15user:{SUB}:65536\n"
IDMAP = f"lxc.idmap = u 0 {SUB} 65536\nlxc.idmap = g 0 {SUB} 65536\n"
CGROUP2 = Path("/sys/fs/cgroup/unified")


class User:
    """A non-root user's world: home (~/.local/share/lxc, ~/.config/lxc), runtime dir."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.home = base / "home"
        self.runtime = base / "run"
        self.lxcpath = self.home / ".local" / "share" / "lxc"
        self.config_dir = self.home / ".config" / "lxc"
        self.ids = base / "ids"

    def run(self, *argv: str, subuid: str = GRANT, hide_newuidmap: bool = False,
            cgroup: Path | None = None, uid: int = NOBODY,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``argv`` (an lxc-* name first) as ``uid``, with ``subuid`` as /etc/subuid and
        /etc/subgid, optionally from inside the delegated cgroup ``cgroup``."""
        (self.ids / "subuid").write_text(subuid)
        (self.ids / "subgid").write_text(subuid)
        binds = "".join(f"mount --bind {self.ids}/{f} /etc/{f} && "
                        for f in ("passwd", "subuid", "subgid"))
        if hide_newuidmap:
            binds += f"mount --bind /dev/null {shutil.which('newuidmap')} && "
        if cgroup is not None:
            binds += f"echo $$ > {cgroup}/cgroup.procs && "
        env = {"HOME": str(self.home), "XDG_RUNTIME_DIR": str(self.runtime),
               "PATH": f"{Path(tool('lxc-start')).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}
        wrapped = (f"{binds}cd / && exec setpriv --reuid {uid} --regid {uid} "
                   '--clear-groups "$@"')
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               wrapped, "sh", tool(argv[0]), *argv[1:]],
                              capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def user() -> Iterator[User]:
    base = Path(tempfile.mkdtemp(prefix="lxcpy-nonroot-", dir="/tmp"))
    base.chmod(0o711)
    u = User(base)
    u.ids.mkdir(mode=0o755)
    (u.ids / "passwd").write_text(Path("/etc/passwd").read_text()
                                  + f"h15user:x:{NOBODY}:{NOBODY}::/nonexistent:/bin/sh\n")
    for d, mode in ((u.home, 0o711), (u.runtime, 0o700)):
        d.mkdir(mode=mode)
        os.chown(d, NOBODY, NOBODY)
    try:
        yield u
    finally:
        if u.lxcpath.is_dir():
            for entry in u.lxcpath.iterdir():  # each the user's own container
                u.run("lxc-stop", "-n", entry.name, "-k")
                u.run("lxc-destroy", "-n", entry.name, "-f")
        subprocess.run(["rm", "-rf", str(base)], check=False)


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode != 0, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def nothing_left(u: User, name: str) -> None:
    """No container process, socket, lock, record or cgroup of ``name`` remains."""
    assert cgroup_leftovers(name) == []
    for rundir in u.runtime.glob("lxcpy/*"):
        assert sorted(p.name for p in rundir.iterdir() if p.name.startswith(name)) == []
    def alive() -> list[str]:  # the mapped root's processes, zombies (being reaped) aside
        out = subprocess.run(["ps", "-e", "-o", "uid=,stat="], capture_output=True,
                             text=True).stdout
        return [line for line in out.splitlines()
                if line.split()[0] == str(SUB) and not line.split()[1].startswith("Z")]

    assert wait_until(lambda: not alive(), 10), alive()


def config(u: User, text: str, rootfs: bool = False) -> Path:
    """A config the user can read; ``rootfs``: on a probe rootfs the user can reach (the
    session's is in root's 0700 pytest directory), made once per user."""
    if rootfs:
        root = u.base / "rootfs"
        if not root.exists():
            busybox_rootfs(root)
        text += rootfs_keys(root)
    path = u.base / f"conf-{unique()}"
    path.write_text(text)
    path.chmod(0o644)
    return path


# ---- the user's places --------------------------------------------------------------------

def test_lxcpath_config_and_rundir_are_the_users(user: User) -> None:
    r = user.run("lxc-config", "lxc.lxcpath")
    assert r.returncode == 0 and r.stdout == f"{user.lxcpath}\n", r.stderr
    r = user.run("lxc-config", "lxc.default_config")
    assert r.stdout == f"{user.config_dir}/default.conf\n"
    # ~/.config/lxc/default.conf is what lxc-create without -f writes
    user.config_dir.mkdir(parents=True)
    (user.config_dir / "default.conf").write_text(IDMAP)
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(user.home / ".config")],
                   check=True)
    name = unique("nr")
    r = user.run("lxc-create", "-n", name)
    assert r.returncode == 0, r.stderr
    assert IDMAP in (user.lxcpath / name / "config").read_text()
    assert (user.lxcpath / name).stat().st_uid == NOBODY
    # ~/.config/lxc/lxc.conf moves the lxcpath, as LXC's
    (user.config_dir / "lxc.conf").write_text(f"lxc.lxcpath = {user.home}/elsewhere\n")
    r = user.run("lxc-config", "lxc.lxcpath")
    assert r.stdout == f"{user.home}/elsewhere\n"


# ---- a container's life as the user --------------------------------------------------------

def test_create_execute_start_attach_stop_destroy(user: User) -> None:
    name = unique("nr")
    conf = config(user, IDMAP)
    r = user.run("lxc-create", "-n", name, "-t", "busybox", "-f", str(conf))
    assert r.returncode == 0, r.stderr
    rootfs = user.lxcpath / name / "rootfs"
    # the template's files belong to the container's root (host 200000), shifted through
    # a user namespace of the user's own: a non-root user cannot chown
    assert os.lstat(rootfs / "bin" / "busybox").st_uid == SUB
    assert os.lstat(rootfs / "etc" / "shadow").st_gid == SUB
    assert "devices" not in (user.lxcpath / name / "config").read_text()

    r = user.run("lxc-execute", "-n", name, "--", "sh", "-c",
                 "id -u; cat /proc/self/uid_map /proc/self/gid_map")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(SUB), "65536"]
    assert lines[2].split() == ["0", str(SUB), "65536"]
    # no cgroup delegated here: one warning, every time, on stderr
    assert r.stderr.count("warning: no delegated cgroup2 subtree") == 1, r.stderr

    r = user.run("lxc-start", "-n", name, "-d")
    assert r.returncode == 0, r.stderr
    assert user.run("lxc-wait", "-n", name, "-s", "RUNNING", "-t", "20").returncode == 0
    sockets = list(user.runtime.glob(f"lxcpy/*/{name}.sock"))
    assert len(sockets) == 1  # the run directory is under $XDG_RUNTIME_DIR
    r = user.run("lxc-info", "-n", name, "-p", "-H")
    assert r.returncode == 0, r.stderr
    pid = int(r.stdout)
    host_uid = subprocess.run(["ps", "-o", "uid=", "-p", str(pid)], capture_output=True,
                              text=True).stdout.strip()
    assert host_uid == str(SUB)  # the host sees the mapped id, not the user nor root
    r = user.run("lxc-attach", "-n", name, "--", "sh", "-c",
                 "id -u; cat /proc/self/uid_map; stat -c %u /dev/console /dev/tty1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == ["0", f"         0     {SUB}      65536"]
    # the console's ptys were given to the container's root (its getty can open them)
    assert r.stdout.splitlines()[2:] == ["0", "0"]
    r = user.run("lxc-ls", "-f")
    assert any(line.split()[0] == name and line.split()[-1] == "true"
               for line in r.stdout.splitlines()[1:]), r.stdout
    # no cgroup: freeze is refused in one line, not faked
    assert "the container has no cgroup" in one_line(user.run("lxc-freeze", "-n", name))

    r = user.run("lxc-stop", "-n", name, "-t", "10")
    assert r.returncode == 0, r.stderr
    assert user.run("lxc-info", "-n", name, "-s", "-H").stdout == "STOPPED\n"
    r = user.run("lxc-destroy", "-n", name)
    assert r.returncode == 0, r.stderr
    assert not (user.lxcpath / name).exists()  # the 200000-owned rootfs went too
    nothing_left(user, name)


def test_execute_daemon_attach_and_a_killed_supervisor(user: User) -> None:
    """lxc-execute's init is lxcpy's (not exec'd): the user still attaches into it, and a
    SIGKILLed supervisor takes the container with it and is cleaned up after."""
    name = unique("nr")
    user.run("lxc-create", "-n", name, "-f", str(config(user, IDMAP, rootfs=True)))
    r = user.run("lxc-execute", "-n", name, "-d", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    assert user.run("lxc-wait", "-n", name, "-s", "RUNNING", "-t", "20").returncode == 0
    r = user.run("lxc-attach", "-n", name, "--", "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", str(SUB), "65536"]
    init = int(user.run("lxc-info", "-n", name, "-p", "-H").stdout)
    supervisor = int(subprocess.run(["ps", "-o", "ppid=", "-p", str(init)],
                                    capture_output=True, text=True).stdout)
    with open(f"/proc/{supervisor}/status") as f:
        assert f"Uid:\t{NOBODY}\t" in f.read()  # the user's supervisor, not root's
    os.kill(supervisor, 9)
    assert wait_until(lambda: not Path(f"/proc/{init}/comm").exists()
                      or "Z" in Path(f"/proc/{init}/stat").read_text().split()[2], 10)
    assert user.run("lxc-info", "-n", name, "-s", "-H").stdout == "STOPPED\n"
    nothing_left(user, name)


def test_copy_keeps_the_mapped_owners(user: User) -> None:
    name, copy = unique("nr"), unique("nc")
    conf = config(user, IDMAP)
    assert user.run("lxc-create", "-n", name, "-t", "busybox", "-f", str(conf)).returncode == 0
    r = user.run("lxc-copy", "-n", name, "-N", copy)
    assert r.returncode == 0, r.stderr
    assert os.lstat(user.lxcpath / copy / "rootfs" / "bin" / "busybox").st_uid == SUB
    r = user.run("lxc-execute", "-n", copy, "--", "sh", "-c", "hostname; stat -c %u /bin")
    assert r.returncode == 0 and r.stdout.split() == [copy, "0"], r.stderr
    for n in (copy, name):
        assert user.run("lxc-destroy", "-n", n).returncode == 0
    assert list(user.lxcpath.iterdir()) == []


def test_root_inside_is_not_the_user_nor_host_root(user: User) -> None:
    """The attack: root in the user's container (host / as its root: lxc-execute without a
    rootfs) reaches neither the user's private files nor root's."""
    secret = user.home / "secret"
    secret.write_text("mine\n")
    secret.chmod(0o600)
    os.chown(secret, NOBODY, NOBODY)
    name = unique("nr")
    user.run("lxc-create", "-n", name, "-f", str(config(user, IDMAP)))
    never = Path("/etc") / f"lxcpy-{name}"
    r = user.run("lxc-execute", "-n", name, "--", "sh", "-c",
                 f"cat {secret}; touch {never}; echo rc=$?")
    assert "mine" not in r.stdout and "rc=1" in r.stdout, r.stdout + r.stderr
    assert not never.exists()
    # the user themself reads it: the refusal is the mapping's
    assert user.run("lxc-execute", "-n", name, "--", "true").returncode == 0


def test_another_user_cannot_drive_the_container(user: User) -> None:
    name = unique("nr")
    user.run("lxc-create", "-n", name, "-f", str(config(user, IDMAP, rootfs=True)))
    r = user.run("lxc-start", "-n", name, "-d", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    assert user.run("lxc-wait", "-n", name, "-s", "RUNNING", "-t", "20").returncode == 0
    r = user.run("lxc-stop", "-n", name, "-k", uid=NOBODY + 1)
    assert r.returncode != 0
    assert user.run("lxc-info", "-n", name, "-s", "-H").stdout == "RUNNING\n"
    assert user.run("lxc-stop", "-n", name, "-k").returncode == 0


# ---- a delegated cgroup2 subtree -------------------------------------------------------------

@pytest.fixture
def delegated() -> Iterator[Path]:
    """A cgroup2 subtree handed to the user as systemd delegates one: the directory and its
    cgroup.procs, cgroup.subtree_control and cgroup.threads are theirs."""
    if not (CGROUP2 / "cgroup.procs").exists():
        pytest.skip("no cgroup2 hierarchy at /sys/fs/cgroup/unified")
    path = CGROUP2 / f"lxcpy-nonroot-{unique()}"
    path.mkdir()
    for entry in (path, *(path / f for f in ("cgroup.procs", "cgroup.subtree_control",
                                              "cgroup.threads"))):
        os.chown(entry, NOBODY, NOBODY)
    try:
        yield path
    finally:
        # lxc-stop returns once the container is down; its supervisor, back in this cgroup
        # it was started in, may still be on its way out
        wait_until(lambda: not (path / "cgroup.procs").read_text().strip(), 10)
        for d in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if d.is_dir():
                d.rmdir()
        path.rmdir()


def test_delegated_cgroup_holds_the_container(user: User, delegated: Path) -> None:
    name = unique("nr")
    user.run("lxc-create", "-n", name, "-f", str(config(user, IDMAP, rootfs=True)))
    r = user.run("lxc-start", "-n", name, "-d", "--", "sleep", "60", cgroup=delegated)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr
    assert user.run("lxc-wait", "-n", name, "-s", "RUNNING", "-t", "20").returncode == 0
    pid = int(user.run("lxc-info", "-n", name, "-p", "-H").stdout)
    payload = delegated / f"lxc.payload.{name}"
    assert str(pid) in (payload / "cgroup.procs").read_text().split()
    # the cgroup is real: freeze works (cgroup2's core cgroup.freeze)
    assert user.run("lxc-freeze", "-n", name).returncode == 0
    assert user.run("lxc-info", "-n", name, "-s", "-H").stdout == "FROZEN\n"
    assert user.run("lxc-unfreeze", "-n", name).returncode == 0
    assert user.run("lxc-stop", "-n", name, "-k").returncode == 0
    assert wait_until(lambda: not payload.exists(), 10)
    assert [p for p in delegated.iterdir() if p.is_dir()] == []


# ---- refusals: one line, nothing made ---------------------------------------------------

def test_no_grant_refused(user: User) -> None:
    name = unique("nr")
    conf = config(user, IDMAP)
    r = user.run("lxc-create", "-n", name, "-f", str(conf))
    assert r.returncode == 0, r.stderr
    line = one_line(user.run("lxc-execute", "-n", name, "--", "true",
                             subuid="someoneelse:200000:65536\n"))
    assert f"host ids {SUB}-{SUB + 65535} are not granted to uid {NOBODY} in /etc/subuid" \
        in line, line
    assert ": lxc.idmap" in line
    nothing_left(user, name)
    # the template's shift needs the grant too: refused, no container directory left
    other = unique("nr")
    one_line(user.run("lxc-create", "-n", other, "-t", "busybox", "-f", str(conf),
                      subuid="someoneelse:200000:65536\n"))
    assert not (user.lxcpath / other).exists()


def test_without_newuidmap_refused(user: User) -> None:
    name = unique("nr")
    user.run("lxc-create", "-n", name, "-f", str(config(user, IDMAP)))
    line = one_line(user.run("lxc-execute", "-n", name, "--", "true", hide_newuidmap=True))
    assert line == (f"lxc-execute: {name}: newuidmap not found: a non-root user needs it to "
                    "map ids (apt-get install uidmap)")
    nothing_left(user, name)


def test_without_idmap_refused(user: User) -> None:
    name = unique("nr")
    user.run("lxc-create", "-n", name, "-f", str(config(user, "lxc.uts.name = x\n")))
    line = one_line(user.run("lxc-execute", "-n", name, "--", "true"))
    assert "a non-root user's container needs lxc.idmap lines" in line
    nothing_left(user, name)


@pytest.mark.parametrize("net", ["veth\nlxc.net.0.link = lxcbr0", "macvlan", "phys", "none"])
def test_network_devices_refused(user: User, net: str) -> None:
    name = unique("nr")
    conf = config(user, IDMAP + f"lxc.net.0.type = {net}\n")
    user.run("lxc-create", "-n", name, "-f", str(conf))
    line = one_line(user.run("lxc-execute", "-n", name, "--", "true"))
    kind = net.split()[0]
    assert f"config:{IDMAP.count(chr(10)) + 1}: lxc.net.0.type: '{kind}' is not available " \
        "to a non-root user" in line, line
    nothing_left(user, name)


def test_empty_network_runs(user: User) -> None:
    name = unique("nr")
    user.run("lxc-create", "-n", name, "-f", str(config(user, IDMAP + "lxc.net.0.type = "
                                                         "empty\n", rootfs=True)))
    r = user.run("lxc-execute", "-n", name, "--", "cat", "/proc/net/dev")
    assert r.returncode == 0, r.stderr
    assert [line.split(":")[0].strip() for line in r.stdout.splitlines()[2:]] == ["lo"]


def test_cgroup_limit_without_delegation_refused(user: User) -> None:
    name = unique("nr")
    user.run("lxc-create", "-n", name, "-f", str(config(user, IDMAP + "lxc.cgroup2.pids.max"
                                                         " = 10\n")))
    line = one_line(user.run("lxc-execute", "-n", name, "--", "true"))
    assert "config:3: lxc.cgroup2.pids.max: a cgroup limit, but this user has no delegated " \
        "cgroup2 subtree" in line, line
    nothing_left(user, name)
