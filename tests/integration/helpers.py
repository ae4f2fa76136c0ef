"""Run the installed console scripts as a bash user would, in a throwaway lxcpath."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# the commands under test: the venv running pytest's, or another install's bin directory
# (scripts/regular-lane.sh: a regular install whose launchers run `python -IS`)
BIN = Path(os.environ.get("LXCPY_TEST_BIN") or Path(sys.executable).parent)


def tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def lxc(cmd: str, *args: str, lxcpath: str | Path, check: bool = False, timeout: float = 60,
        input: str | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run ``lxc-<cmd> -P lxcpath args...`` and capture its output."""
    argv = [tool(f"lxc-{cmd}"), "-P", str(lxcpath), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            input=input if input is not None else "",
                            **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} failed ({result.returncode}): {result.stderr}")
    return result


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def write_config(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.conf"
    path.write_text(text)
    return path


def make(lxcpath: Path, extra: str = "", *, name: str | None = None, prefix: str = "t",
         template: str | None = None, uts: bool = True, rootfs: Path | None = None) -> str:
    """Define a container (``lxc-create -f``) and return its name: the one test helper
    for it. Its config, ``lxc.uts.name = NAME`` (unless ``uts=False``), the rootfs keys
    (``rootfs``: a probe rootfs, see ``busybox_rootfs``) then ``extra``, is written beside
    the lxcpath (``LXCPATH/../NAME.conf``); ``template`` adds ``-t``."""
    name = name or unique(prefix)
    conf = write_config(Path(lxcpath).parent, name,
                        (f"lxc.uts.name = {name[:60]}\n" if uts else "")
                        + (rootfs_keys(rootfs) if rootfs is not None else "") + extra)
    args = ["-t", template] if template else []
    lxc("create", "-n", name, "-f", str(conf), *args, lxcpath=lxcpath, check=True)
    return name


# ---- the probe rootfs (crun's model) ------------------------------------------------------
# A container that runs the host's own sh/ls/ps (no rootfs) gives results that depend on the
# host's tools. The probe rootfs holds one static multi-call binary, Debian's busybox-static,
# linked under every applet name it knows: the same programs on every host.
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
PROBE_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "etc", "tmp", "mnt",
              "root", "run", "var/tmp", "host")
HOST_DIR = "/host"  # where ``bind_host`` puts a host directory inside a probe container


def busybox_rootfs(root: Path) -> Path:
    """A probe rootfs at ``root``: static busybox as /bin/busybox, every applet
    (``busybox --list-full``) a symlink to it, root and nobody in /etc/passwd and /etc/group,
    the usual empty directories. Fails (not skips) without a static busybox: the tests are
    written against it (scripts/install.sh installs busybox-static)."""
    import pytest

    from lxcpy.templates.busybox import is_static_elf

    if not os.path.isfile(BUSYBOX) or not is_static_elf(BUSYBOX):
        pytest.fail(f"{BUSYBOX}: a static busybox is needed (apt-get install busybox-static)",
                    pytrace=False)
    for d in PROBE_DIRS:
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        link = root / applet
        if not link.is_symlink() and not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/bin/busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                         "nobody:x:65534:65534:nobody:/:/bin/false\n")
    (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return root


def rootfs_keys(rootfs: Path) -> str:
    """The config lines of a container on the probe rootfs: the rootfs, and a /dev of its own
    (lxc.autodev, as LXC's templates set it) so /dev/null and friends exist inside."""
    return f"lxc.rootfs.path = dir:{rootfs}\nlxc.autodev = 1\n"


def bind_host(directory: Path) -> str:
    """The mount entry that shows host ``directory`` at ``HOST_DIR`` inside a probe
    container: where a test lets the container leave what the host then checks."""
    return f"lxc.mount.entry = {directory} {HOST_DIR.lstrip('/')} none bind 0 0\n"


def cgroup_mounts() -> list[Path]:
    """Every cgroup hierarchy mounted on the host (v1 controllers and the v2 mount), read
    from the mount table, not from lxcpy's own detection (the code under test)."""
    found: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype in ("cgroup", "cgroup2"):
            point = fields[4].encode().decode("unicode_escape")
            found.setdefault(point, Path(point))
    return list(found.values())


def cgroup_leftovers(name: str, under: str = "") -> list[str]:
    """Every cgroup of container ``name`` still on the host: ``lxc.payload.NAME``, its
    supervisor's ``lxc.monitor.NAME``, and the ``-<digits>`` a start takes when the name is
    in use, in every hierarchy, at its top or below the ``lxc.cgroup.dir`` prefix ``under``.
    The one leftover scanner."""
    pattern = re.compile(rf"lxc\.(payload|monitor)\.{re.escape(name)}(-[0-9]+)?")
    found = set()
    for hierarchy in cgroup_mounts():
        try:
            entries = list((hierarchy / under.strip("/")).iterdir())
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        found.update(str(e) for e in entries if pattern.fullmatch(e.name) and e.is_dir())
    return sorted(found)


# controllers a v1 hierarchy can hold (a lone name=systemd one does not make a v1 host)
_V1_CONTROLLERS = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio",
                   "pids", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc"}


def cgroup_version() -> int:
    """The cgroup version lxcpy's driver uses on this host (``LXCPY_CGROUP_DRIVER``
    honoured): 1 where a controller is bound to a v1 hierarchy (legacy and hybrid hosts),
    else 2. Read from the mount table, not from lxcpy's own detection."""
    forced = os.environ.get("LXCPY_CGROUP_DRIVER", "auto")
    if forced in ("v1", "v2"):
        return int(forced[1])
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        if fields[sep + 1] == "cgroup" and _V1_CONTROLLERS & set(fields[sep + 3].split(",")):
            return 1
    return 2


def cgroup_file(v1: str, v2: str) -> str:
    """The control file of this host's driver: ``cgroup_file("memory.limit_in_bytes",
    "memory.max")`` (for ``lxc-cgroup``)."""
    return v1 if cgroup_version() == 1 else v2


def cgroup_key(v1: str, v2: str | None = None) -> str:
    """The config key of this host's driver, so one test runs on v1 and v2 hosts:
    ``cgroup_key("memory.limit_in_bytes", "memory.max")`` is
    ``lxc.cgroup.memory.limit_in_bytes`` on v1, ``lxc.cgroup2.memory.max`` on v2
    (``v2`` defaults to the same file name: ``pids.max``)."""
    if cgroup_version() == 1:
        return f"lxc.cgroup.{v1}"
    return f"lxc.cgroup2.{v2 or v1}"


@contextmanager
def lxcpath_dir(tmp_path: Path) -> Iterator[Path]:
    """A throwaway lxcpath; every container in it is killed and destroyed afterwards."""
    path = tmp_path / "lxc"
    path.mkdir()
    try:
        yield path
    finally:
        cleanup_lxcpath(path)


def cleanup_lxcpath(path: Path) -> None:
    if not path.exists():
        return
    for entry in path.iterdir():
        if (entry / "config").exists():
            lxc("stop", "-n", entry.name, "-k", lxcpath=path, timeout=30)
            lxc("destroy", "-n", entry.name, "-f", lxcpath=path, timeout=30)
    shutil.rmtree(path, ignore_errors=True)
    remove_rundir(path)


def remove_rundir(lxcpath: Path) -> None:
    """The lxcpath's run directory (/run/lxcpy/<hash>): one per test otherwise."""
    from lxcpy.paths import lxcpath_rundir

    shutil.rmtree(lxcpath_rundir(str(lxcpath)), ignore_errors=True)


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (from /proc/PID/task/*/children)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(x) for x in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def catches(pid: int, sig: int) -> bool:
    """``pid`` has a handler installed for ``sig`` (SigCgt of /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (sig - 1)))


def init_pid(lxcpath: Path, name: str) -> int:
    """The host PID of a running container's init (``lxc-info -pH``)."""
    return int(lxc("info", "-n", name, "-pH", lxcpath=lxcpath, check=True).stdout)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class PtyReader:
    """What a program wrote to the master side of a pty so far, read as it comes."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.seen = b""

    def wait_for(self, text: bytes, timeout: float = 20) -> bool:
        """Read until ``text`` has been seen (True) or ``timeout`` seconds pass (False)."""
        import select

        deadline = time.monotonic() + timeout
        while text not in self.seen and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.5)[0]:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:
                    break
        return text in self.seen
