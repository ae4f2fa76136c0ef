"""Helpers for the lxc-monitor / lxc-wait / lxc-ps / lxc-ls tests: a monitor process
read line by line in the background, and cheap application containers."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from lxcpy.paths import monitor_dir
from tests.integration.helpers import lxc, tool

DELAY_ENV = {"LXCPY_MONITOR_DELAY": "1"}


class Monitor:
    """``lxc-monitor -P LXCPATH ARGS...`` in the background; ready once its socket exists.

    Started with LXCPY_MONITOR_DELAY=1 by default, so each line carries its delivery
    delay; :attr:`lines` holds the plain LXC lines, :attr:`delays_ms` the delays.
    """

    def __init__(self, *lxcpaths: Path | str, args: tuple[str, ...] = (),
                 delay: bool = True, ready_timeout: float = 10.0) -> None:
        argv = [tool("lxc-monitor")]
        for path in lxcpaths:
            argv += ["-P", str(path)]
        env = {**os.environ, **(DELAY_ENV if delay else {})}
        self.delay = delay
        self.lines: list[str] = []
        self.delays_ms: list[float] = []
        self.stderr = ""
        self._cond = threading.Condition()
        self.proc = subprocess.Popen([*argv, *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.socket_dir = monitor_dir(str(lxcpaths[0]))
        if not self._wait_bound(ready_timeout):
            self.stop()
            raise AssertionError(f"lxc-monitor did not bind its socket: {self.stderr}")

    def _wait_bound(self, timeout: float) -> bool:
        prefix = f"{self.proc.pid}-"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if any(e.startswith(prefix) for e in os.listdir(self.socket_dir)):
                    return True
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        return False

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            with self._cond:
                if self.delay:
                    line, _, ms = line.rpartition(" ")
                    self.delays_ms.append(float(ms.removesuffix("ms")))
                self.lines.append(line)
                self._cond.notify_all()

    def for_name(self, name: str) -> list[str]:
        with self._cond:
            return [ln for ln in self.lines if ln.startswith(f"'{name}' ")]

    def wait_for(self, name: str, count: int, timeout: float = 10.0) -> list[str]:
        """The first ``count`` lines about ``name`` (fewer if they do not come in time)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.for_name(name)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        return self.for_name(name)

    def wait_line(self, line: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while line not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        self.proc.stderr.close()
        return rc

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def states(name: str, *words: str) -> list[str]:
    """Expected monitor lines: a state word, or ``exit:N`` for an exit line."""
    out = []
    for word in words:
        if word.startswith("exit:"):
            out.append(f"'{name}' exited with status [{word[5:]}]")
        else:
            out.append(f"'{name}' changed state to [{word}]")
    return out


def start_daemon(lxcpath: Path, name: str, *cmd: str) -> None:
    """``lxc-execute -d``: returns once the container is RUNNING."""
    lxc("execute", "-n", name, "-d", "--", *(cmd or ("sleep", "30")), lxcpath=lxcpath,
        check=True, timeout=20)


def cgroup_procs_of(pid: int) -> set[int]:
    """Every PID in ``pid``'s cgroup (and below), read from the host's cgroupfs."""
    found: set[int] = set()
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _hid, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers:
                continue  # v1 hierarchies: the unified one says the same with fewer mounts
            for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                base = Path(root + path)
                if (base / "cgroup.procs").exists():
                    for procs in base.rglob("cgroup.procs"):
                        found.update(int(x) for x in procs.read_text().split())
                    return found
    return found
