"""The cgroup filesystem: reading and writing control files, walking and removing trees.

Every write is one ``write(2)`` of the whole value, so the kernel parses exactly what
the user wrote (kernfs hands each write to the controller separately).
"""

from __future__ import annotations

import errno
import os
import time

from lxcpy.errors import CgroupError

# Files that move processes: only attach() writes them, never apply()/set()/get().
PROCESS_FILES = frozenset({"cgroup.procs", "cgroup.threads", "tasks"})

BACKOFF_START = 0.0001  # 0.1 ms: most cgroup transitions finish within a few of these
BACKOFF_MAX = 0.01


class Backoff:
    """Exponential sleeps from 0.1 ms up to 10 ms until a deadline; no fixed sleeps."""

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.delay = BACKOFF_START

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def sleep(self) -> None:
        time.sleep(min(self.delay, max(0.0, self.deadline - time.monotonic())))
        self.delay = min(self.delay * 2, BACKOFF_MAX)


def read_file(path: str) -> str:
    """The whole file (cgroup.procs of a big cgroup is larger than one page); OSError as is."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode()


def write_file(path: str, value: str) -> None:
    """One write(2) of ``value``; OSError as is."""
    data = value.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        if os.write(fd, data) != len(data):
            raise OSError(errno.EIO, "short write")
    finally:
        os.close(fd)


def read_optional(path: str) -> str | None:
    """The file's text, or None if the file does not exist."""
    try:
        return read_file(path)
    except FileNotFoundError:
        return None


def check_key(key: str, label: str) -> None:
    """``key`` must name one control file of the cgroup itself, and not a process file."""
    if not key or "/" in key or key.startswith(".") or "\0" in key:
        raise CgroupError(f"{label}: invalid cgroup file name '{key}'")
    if key in PROCESS_FILES:
        raise CgroupError(f"{label}: '{key}' moves processes and cannot be read or set here")


def _missing(directory: str, key: str, label: str) -> CgroupError:
    """ENOENT on a control file: the whole cgroup is gone, or only that file."""
    if not os.path.isdir(directory):
        return CgroupError(f"{label}: cgroup {directory} does not exist")
    return CgroupError(f"{label}: no such cgroup file '{key}'")


def set_key(directory: str, key: str, value: str, label: str) -> None:
    """Write one control file; errors name ``label`` (the config key) and the kernel's reason."""
    path = os.path.join(directory, key)
    try:
        write_file(path, value)
    except FileNotFoundError:
        raise _missing(directory, key, label) from None
    except OSError as exc:
        raise CgroupError(f"{label}: cannot set '{value}': {exc.strerror}") from None


def get_key(directory: str, key: str, label: str) -> str:
    path = os.path.join(directory, key)
    try:
        return read_file(path).rstrip("\n")
    except FileNotFoundError:
        raise _missing(directory, key, label) from None
    except OSError as exc:
        raise CgroupError(f"{label}: cannot read: {exc.strerror}") from None


def tree(top: str) -> list[str]:
    """``top`` and every cgroup below it, parents before children; [] if ``top`` is gone."""
    if not os.path.isdir(top):
        return []
    dirs, i = [top], 0
    while i < len(dirs):
        try:
            with os.scandir(dirs[i]) as entries:
                dirs.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            pass  # removed while we walked
        i += 1
    return dirs


def tree_pids(tops: list[str]) -> list[int]:
    """Every pid in the cgroups ``tops`` and below (all hierarchies together), sorted."""
    pids: set[int] = set()
    for top in tops:
        for directory in tree(top):
            text = read_optional(os.path.join(directory, "cgroup.procs"))
            if text:
                pids.update(int(p) for p in text.split())
    return sorted(pids)


def signal_pids(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass  # exited since we listed it


def mkdirs(path: str, stop: str) -> list[str]:
    """Create ``path`` and its missing parents below ``stop``; the new dirs, outermost first."""
    missing = []
    probe = path
    while probe != stop and not os.path.isdir(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    made = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue  # someone else made it meanwhile: not ours
        except OSError as exc:
            raise CgroupError(f"cannot create cgroup {directory}: {exc.strerror}") from None
        made.append(directory)
    return made


def rmdir_if_empty(paths: list[str], made: bool = False) -> bool:
    """Teardown's usual case, cheaply: the init is gone and with its PID namespace every
    process of the container, so rmdir(2) each cgroup (deepest first) without listing
    processes in every hierarchy. False at the first one the kernel refuses (a process or
    a sub-cgroup left) or that is not a cgroup: the caller then kills what is left.
    ``made``: cgroups this process made itself (a cgroup manager's own): not checked to
    be cgroups first, as paths read from a record are."""
    for path in sorted(paths, key=lambda p: p.count("/"), reverse=True):
        if not made and not os.path.exists(os.path.join(path, "cgroup.procs")):
            if os.path.lexists(path):
                return False
            continue
        try:
            os.rmdir(path)
        except FileNotFoundError:
            continue
        except OSError:
            return False
    return True


def rmdir_tree(top: str, timeout: float = 1.0) -> None:
    """rmdir ``top`` and its sub-cgroups, children first; missing is fine.

    An emptied cgroup can stay busy for a moment while its last tasks finish exiting,
    so EBUSY is retried briefly before it becomes an error.
    """
    for directory in reversed(tree(top)):
        backoff = Backoff(timeout)
        while True:
            try:
                os.rmdir(directory)
                break
            except FileNotFoundError:
                break
            except OSError as exc:
                if exc.errno != errno.EBUSY or backoff.expired():
                    raise CgroupError(
                        f"cannot remove cgroup {directory}: {exc.strerror}") from None
                backoff.sleep()


def parse_flat_keyed(text: str) -> dict[str, str]:
    """``key value`` lines (cgroup.events, cpu.stat) as a dict."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        out[key] = value.strip()
    return out
