"""Where things live: the lxcpath, the run directory, container-name rules and locks.

Every path built from a container name goes through :func:`check_name` first, so a
name can never climb out of its directory (the CVE-2015-1331 class).
"""

from __future__ import annotations

import errno
import os

from lxcpy.errors import InvalidName, LxcError

TYPE_CHECKING = False  # no typing at run time
if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_NAME_BYTES = 64


def _home(env: Mapping[str, str], euid: int) -> str:
    """$HOME, else the passwd entry's home (a uid without either: "/", whose subdirectories
    it cannot write, so the command that needs one says so)."""
    if env.get("HOME"):
        return env["HOME"]
    try:
        import pwd

        return pwd.getpwuid(euid).pw_dir
    except KeyError:
        return "/"


def defaults_for(euid: int, env: Mapping[str, str]) -> tuple[str, str, str, str]:
    """(lxcpath, lxc.conf, default.conf, run root) of a caller. Root: /var/lib/lxc,
    /etc/lxc/..., /run/lxcpy. Anyone else, LXC's rules for an unprivileged caller:
    $XDG_DATA_HOME/lxc or ~/.local/share/lxc, $XDG_CONFIG_HOME/lxc or ~/.config/lxc, and
    (get_rundir) $XDG_RUNTIME_DIR, else ~/.cache/lxc/run. $LXCPY_RUNDIR overrides."""
    if euid == 0:
        lxcpath, conf_dir, run_root = "/var/lib/lxc", "/etc/lxc", "/run/lxcpy"
    else:
        home = _home(env, euid)
        lxcpath = os.path.join(env.get("XDG_DATA_HOME") or os.path.join(home, ".local/share"),
                               "lxc")
        conf_dir = os.path.join(env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
                                "lxc")
        run_root = os.path.join(env.get("XDG_RUNTIME_DIR")
                                or os.path.join(home, ".cache", "lxc", "run"), "lxcpy")
    return (lxcpath, os.path.join(conf_dir, "lxc.conf"), os.path.join(conf_dir, "default.conf"),
            env.get("LXCPY_RUNDIR") or run_root)


# lxc-* run by a non-root user (fixed at import: a container's first process, forked from
# the supervisor, keeps the supervisor's answer after it became root of its namespace)
USER_MODE = os.geteuid() != 0
# GLOBAL_CONF: LXC's settings ($LXC_GLOBAL_CONF overrides); DEFAULT_CONFIG: what lxc-create
# without -f writes
DEFAULT_LXCPATH, GLOBAL_CONF, DEFAULT_CONFIG, RUN_ROOT = defaults_for(os.geteuid(), os.environ)
_GLOBAL: dict[str, str] | None = None


def global_config() -> dict[str, str]:
    """``KEY = VALUE`` lines of LXC's lxc.conf (lxc.lxcpath, lxc.default_config, ...).

    Missing or unreadable: no settings, as LXC. Read once per process.
    """
    global _GLOBAL
    if _GLOBAL is None:
        _GLOBAL = {}
        try:
            with open(os.environ.get("LXC_GLOBAL_CONF") or GLOBAL_CONF,
                      encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError:
            text = ""
        for line in text.splitlines():
            key, eq, value = line.partition("=")
            if eq and not key.lstrip().startswith("#"):
                _GLOBAL[key.strip()] = value.strip()
    return _GLOBAL


def default_lxcpath() -> str:
    return (os.environ.get("LXC_LXCPATH") or global_config().get("lxc.lxcpath")
            or DEFAULT_LXCPATH)


def default_config_path() -> str:
    return global_config().get("lxc.default_config") or DEFAULT_CONFIG


def check_name(name: str) -> str:
    """Return ``name`` if LXC would accept it as a container name; raise otherwise."""
    if name is None or name == "":
        raise InvalidName("no container name specified")
    if name in (".", ".."):
        raise InvalidName(f"invalid container name {name!r}")
    if "/" in name:
        raise InvalidName(f"invalid container name {name!r}: it contains '/'")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidName(f"invalid container name {name!r}: it contains a control character")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise InvalidName(f"invalid container name: longer than {MAX_NAME_BYTES} bytes")
    return name


class ContainerPaths:
    """All the places one container uses, in the store and in the run directory.

    A plain immutable value class, not a dataclass: importing dataclasses and building
    the class cost ~2 ms of every command's start-up (lxc-state, lxc-info -s).
    """

    __slots__ = ("name", "lxcpath")
    name: str
    lxcpath: str

    def __init__(self, name: str, lxcpath: str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "lxcpath", lxcpath)

    def __setattr__(self, attr: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {attr!r}")  # frozen, as before

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"cannot delete field {attr!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.name, self.lxcpath) == (other.name, other.lxcpath)

    def __hash__(self) -> int:
        return hash((self.name, self.lxcpath))

    def __repr__(self) -> str:
        return f"ContainerPaths(name={self.name!r}, lxcpath={self.lxcpath!r})"

    def __reduce__(self) -> tuple[type[ContainerPaths], tuple[str, str]]:
        return (ContainerPaths, (self.name, self.lxcpath))  # copy/pickle despite __setattr__

    @property
    def dir(self) -> str:
        return os.path.join(self.lxcpath, self.name)

    @property
    def config(self) -> str:
        return os.path.join(self.dir, "config")

    @property
    def rootfs(self) -> str:
        return os.path.join(self.dir, "rootfs")

    @property
    def rundir(self) -> str:
        """Per-lxcpath run directory: ``/run/lxcpy/<hash of the lxcpath>``.

        A hash keeps the path short (unix socket paths are limited to 107 bytes) and
        independent of whatever characters the lxcpath holds.
        """
        return lxcpath_rundir(self.lxcpath)

    @property
    def socket(self) -> str:
        return os.path.join(self.rundir, f"{self.name}.sock")

    @property
    def lock(self) -> str:
        return os.path.join(self.rundir, f"{self.name}.lock")

    @property
    def resources(self) -> str:
        """What a running supervisor has made on the host (for recovery after SIGKILL)."""
        return os.path.join(self.rundir, f"{self.name}.resources")

    @property
    def seccomp(self) -> str:
        """The BPF program the supervisor loaded (root only), for lxc-attach to load too."""
        return os.path.join(self.rundir, f"{self.name}.seccomp")


_RUNDIRS: dict[str, str] = {}  # absolute lxcpath -> its run directory, for this process

def lxcpath_rundir(lxcpath: str) -> str:
    # called ~20 times per start (every ContainerPaths path): one realpath + hash is enough,
    # and a long-running supervisor keeps the directory its socket was bound in
    cached = _RUNDIRS.get(lxcpath)
    if cached is not None:
        return cached
    real = os.path.realpath(lxcpath)
    try:
        # CPython's built-in SHA-256: same digest as hashlib's, without loading OpenSSL
        # (~3 ms of every command's start-up); 3.12 renamed the module to _sha2
        from _sha256 import sha256
    except ImportError:
        from hashlib import sha256
    digest = sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    rundir = os.path.join(RUN_ROOT, digest)
    if os.path.isabs(lxcpath):  # a relative one depends on the working directory
        _RUNDIRS[lxcpath] = rundir
    return rundir


def monitor_dir(lxcpath: str) -> str:
    """Where listening monitors put their sockets (one per listener, no daemon)."""
    return os.path.join(lxcpath_rundir(lxcpath), "monitors")


def ensure_rundir(lxcpath: str) -> str:
    path = lxcpath_rundir(lxcpath)
    os.makedirs(path, mode=0o700, exist_ok=True)
    marker = os.path.join(path, "lxcpath")
    if not os.path.exists(marker):
        # Lets an admin find which lxcpath a hashed run directory belongs to.
        with open(marker, "w") as f:
            f.write(os.path.realpath(lxcpath) + "\n")
    return path


class Lock:
    """An flock(2) on a file in the run directory.

    Held by a supervisor for a container's whole life (so "is it running?" is "is the
    lock held?") and briefly by create/destroy/recovery. A dead holder's lock vanishes
    with its process: no command ever hangs on a lock whose holder died. The file is
    removed on release; acquisition re-checks that the file it locked is still the one
    on disk, so removal never races with a new holder.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, blocking: bool = False, timeout: float | None = None) -> bool:
        import fcntl  # here: lxc-state, lxc-info, lxc-freeze ... take no lock (a dlopen)

        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                if blocking and timeout is not None:
                    if not _flock_timeout(fd, timeout):
                        os.close(fd)
                        return False
                else:
                    fcntl.flock(fd, flags)
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)  # the holder removed it while we waited: lock the new file

    def is_held_by_other(self) -> bool:
        """True when another process holds the lock (tested without keeping it)."""
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _flock_timeout(fd: int, timeout: float) -> bool:
    import fcntl
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def write_atomic(path: str, data: str | bytes, mode: int = 0o640, durable: bool = True) -> None:
    """Replace ``path`` by rename. ``durable=False`` skips the fsync: for run-time files
    that only have to survive a killed process, not a machine crash (each fsync costs
    1-10 ms on a disk-backed /run)."""
    # a fresh name made with O_EXCL|O_NOFOLLOW: a name another user guessed in a shared
    # directory (a symlink to a root-only file, a file of theirs) is never written through
    while True:
        tmp = f"{path}.tmp.{os.getpid()}.{os.urandom(6).hex()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, mode)
            break
        except FileExistsError:
            continue
    try:
        try:
            view = memoryview(data if isinstance(data, bytes)
                              else data.encode("utf-8", "surrogateescape"))
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)  # a full disk or a failed rename leaves no temporary behind
        raise


def oserror_message(exc: OSError) -> str:
    text = exc.strerror or os.strerror(exc.errno or errno.EIO)
    return f"{exc.filename}: {text}" if exc.filename else text


__all__ = ["ContainerPaths", "Lock", "LxcError", "check_name", "default_config_path",
           "default_lxcpath", "global_config"]
