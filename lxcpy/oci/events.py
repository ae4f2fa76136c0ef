"""``events``: runc's event lines for a container — its cgroup statistics and OOM kills.

``stats(paths)`` reads the container's cgroups (v1 controllers, or the v2 unified cgroup)
into runc's ``types.Stats`` JSON (cpu, cpuset, memory, pids, blkio, hugetlb), so tools
that parse runc's ``events --stats`` (containerd's shim, podman stats) read ours the same.
``watch`` prints one stats line every interval and one ``{"type":"oom"}`` line per OOM
kill, woken by the kernel (a v1 ``memory.oom_control`` eventfd, or ``memory.events``
changing on v2), until the container's init exits (its pidfd).
"""

from __future__ import annotations

import json
import os
import select
import sys
from typing import Any

_CLK_TCK = 100  # runc converts cpuacct.stat's ticks with a fixed USER_HZ of 100
_UNLIMITED = "max"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def _int(path: str) -> int:
    text = _read(path)
    if text is None:
        return 0
    text = text.strip()
    if text == _UNLIMITED:
        return 0
    try:
        return int(text)
    except ValueError:
        return 0


def _keyed(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (_read(path) or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def _cpu_list(text: str | None) -> list[int]:
    out: list[int] = []
    for part in (text or "").strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def _omit_empty(d: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """Go's ``omitempty``: zero numbers, empty lists/maps and nulls left out."""
    return {k: v for k, v in d.items() if k in keep or v not in (0, "", None, [], {})}


def _mem_entry(usage: int, limit: int, peak: int, failcnt: int) -> dict[str, Any]:
    return _omit_empty({"limit": limit, "usage": usage, "max": peak, "failcnt": failcnt},
                       keep=("limit", "failcnt"))


def _where(paths: list[str], name: str) -> str | None:
    """The recorded cgroup directory holding control file ``name``."""
    for path in paths:
        if os.path.exists(os.path.join(path, name)):
            return path
    return None


def version_of(paths: list[str]) -> int:
    from lxcpy.oci.update import version_of as v

    return v(paths)


# ---- v1 ---------------------------------------------------------------------------------
def _blkio_v1(directory: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if directory is None:
        return out
    names = {"ioServiceBytesRecursive": "io_service_bytes_recursive",
             "ioServicedRecursive": "io_serviced_recursive",
             "ioQueueRecursive": "io_queued_recursive",
             "ioServiceTimeRecursive": "io_service_time_recursive",
             "ioWaitTimeRecursive": "io_wait_time_recursive",
             "ioMergedRecursive": "io_merged_recursive",
             "ioTimeRecursive": "time_recursive", "sectorsRecursive": "sectors_recursive"}
    # CFQ's files when the scheduler keeps them, else the throttle policy's (as runc)
    cfq = os.path.exists(os.path.join(directory, "blkio.io_service_bytes_recursive"))
    for key, name in names.items():
        if not cfq and key not in ("ioServiceBytesRecursive", "ioServicedRecursive"):
            continue
        file = f"blkio.{name}" if cfq else f"blkio.throttle.{name}"
        entries = []
        for line in (_read(os.path.join(directory, file)) or "").splitlines():
            parts = line.split()
            if len(parts) < 2 or ":" not in parts[0]:
                continue
            major, _, minor = parts[0].partition(":")
            op, value = (parts[1], parts[2]) if len(parts) == 3 else ("", parts[1])
            entries.append(_omit_empty({"major": int(major), "minor": int(minor), "op": op,
                                        "value": int(value)}))
        if entries:
            out[key] = entries
    return out


def _stats_v1(paths: list[str]) -> dict[str, Any]:
    def at(name: str) -> str | None:
        d = _where(paths, name)
        return os.path.join(d, name) if d else None

    def num(name: str) -> int:
        p = at(name)
        return _int(p) if p else 0

    percpu = [int(x) for x in (_read(at("cpuacct.usage_percpu") or "") or "").split()]
    usage: dict[str, Any] = {"total": num("cpuacct.usage"), "percpu": percpu}
    for key, name in (("percpu_kernel", "cpuacct.usage_percpu_sys"),
                      ("percpu_user", "cpuacct.usage_percpu_user")):
        usage[key] = [int(x) for x in (_read(at(name) or "") or "").split()]
    ticks = _keyed(at("cpuacct.stat") or "")
    usage["kernel"] = ticks.get("system", 0) * 1_000_000_000 // _CLK_TCK
    usage["user"] = ticks.get("user", 0) * 1_000_000_000 // _CLK_TCK
    throttle = _keyed(at("cpu.stat") or "")
    cpu = {"usage": _omit_empty(usage, keep=("kernel", "user")),
           "throttling": _omit_empty({"periods": throttle.get("nr_periods", 0),
                                      "throttledPeriods": throttle.get("nr_throttled", 0),
                                      "throttledTime": throttle.get("throttled_time", 0)})}
    cpuset: dict[str, Any] = {}
    if at("cpuset.cpus"):
        cpuset = _omit_empty({
            "cpus": _cpu_list(_read(at("cpuset.cpus") or "")),
            "cpu_exclusive": num("cpuset.cpu_exclusive"),
            "mems": _cpu_list(_read(at("cpuset.mems") or "")),
            "mem_hardwall": num("cpuset.mem_hardwall"),
            "mem_exclusive": num("cpuset.mem_exclusive"),
            "memory_migrate": num("cpuset.memory_migrate"),
            "memory_spread_page": num("cpuset.memory_spread_page"),
            "memory_spread_slab": num("cpuset.memory_spread_slab"),
            "memory_pressure": num("cpuset.memory_pressure"),
            "sched_load_balance": num("cpuset.sched_load_balance"),
            "sched_relax_domain_level": num("cpuset.sched_relax_domain_level"),
        }, keep=("cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate",
                 "memory_spread_page", "memory_spread_slab", "memory_pressure",
                 "sched_load_balance", "sched_relax_domain_level"))

    def entry(prefix: str) -> dict[str, Any]:
        return _mem_entry(num(f"{prefix}.usage_in_bytes"), num(f"{prefix}.limit_in_bytes"),
                          num(f"{prefix}.max_usage_in_bytes"), num(f"{prefix}.failcnt"))

    memory: dict[str, Any] = {}
    if at("memory.usage_in_bytes"):
        raw = _keyed(at("memory.stat") or "")
        memory = _omit_empty({"cache": raw.get("cache", 0), "usage": entry("memory"),
                              "swap": entry("memory.memsw"), "kernel": entry("memory.kmem"),
                              "kernelTCP": entry("memory.kmem.tcp"), "raw": raw})
    hugetlb: dict[str, Any] = {}
    d = _where(paths, "hugetlb.2MB.usage_in_bytes") or _where(paths, "hugetlb.1GB.usage_in_bytes")
    if d:
        for name in sorted(os.listdir(d)):
            if name.startswith("hugetlb.") and name.endswith(".usage_in_bytes"):
                size = name.split(".")[1]
                hugetlb[size] = _omit_empty({
                    "usage": _int(os.path.join(d, name)),
                    "max": _int(os.path.join(d, f"hugetlb.{size}.max_usage_in_bytes")),
                    "failcnt": _int(os.path.join(d, f"hugetlb.{size}.failcnt"))},
                    keep=("failcnt",))
    pids_dir = _where(paths, "pids.current")
    pids = {} if pids_dir is None else _omit_empty({
        "current": _int(os.path.join(pids_dir, "pids.current")),
        "limit": _int(os.path.join(pids_dir, "pids.max"))})
    return {"cpu": cpu, "cpuset": cpuset, "memory": memory, "pids": pids,
            "blkio": _blkio_v1(_where(paths, "blkio.weight") or
                               _where(paths, "blkio.throttle.io_service_bytes")),
            "hugetlb": hugetlb, "intel_rdt": {}, "network_interfaces": None}


# ---- v2 ---------------------------------------------------------------------------------
def _stats_v2(path: str) -> dict[str, Any]:
    def p(name: str) -> str:
        return os.path.join(path, name)

    cs = _keyed(p("cpu.stat"))
    cpu = {"usage": _omit_empty({"total": cs.get("usage_usec", 0) * 1000,
                                 "kernel": cs.get("system_usec", 0) * 1000,
                                 "user": cs.get("user_usec", 0) * 1000},
                                keep=("kernel", "user")),
           "throttling": _omit_empty({"periods": cs.get("nr_periods", 0),
                                      "throttledPeriods": cs.get("nr_throttled", 0),
                                      "throttledTime": cs.get("throttled_usec", 0) * 1000})}
    cpuset: dict[str, Any] = {}
    if os.path.exists(p("cpuset.cpus.effective")):
        cpuset = {"cpus": _cpu_list(_read(p("cpuset.cpus.effective"))),
                  "cpu_exclusive": 0,
                  "mems": _cpu_list(_read(p("cpuset.mems.effective"))),
                  "mem_hardwall": 0, "mem_exclusive": 0, "memory_migrate": 0,
                  "memory_spread_page": 0, "memory_spread_slab": 0, "memory_pressure": 0,
                  "sched_load_balance": 0, "sched_relax_domain_level": 0}
    memory: dict[str, Any] = {}
    if os.path.exists(p("memory.current")):
        raw = _keyed(p("memory.stat"))
        events = _keyed(p("memory.events"))
        memory = _omit_empty({
            "cache": raw.get("file", 0),
            "usage": _mem_entry(_int(p("memory.current")), _int(p("memory.max")),
                                _int(p("memory.peak")), events.get("max", 0)),
            "swap": _mem_entry(_int(p("memory.swap.current")) + _int(p("memory.current")),
                               _int(p("memory.swap.max")), 0, 0),
            "raw": raw})
    pids = _omit_empty({"current": _int(p("pids.current")), "limit": _int(p("pids.max"))})
    blkio: dict[str, Any] = {}
    for line in (_read(p("io.stat")) or "").splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, _, minor = parts[0].partition(":")
        kv = dict(x.split("=", 1) for x in parts[1:] if "=" in x)
        for key, op, field in (("ioServiceBytesRecursive", "Read", "rbytes"),
                               ("ioServiceBytesRecursive", "Write", "wbytes"),
                               ("ioServicedRecursive", "Read", "rios"),
                               ("ioServicedRecursive", "Write", "wios")):
            blkio.setdefault(key, []).append(_omit_empty(
                {"major": int(major), "minor": int(minor), "op": op,
                 "value": int(kv.get(field, 0))}))
    hugetlb: dict[str, Any] = {}
    for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
        if name.startswith("hugetlb.") and name.endswith(".current"):
            size = name.split(".")[1]
            hugetlb[size] = _omit_empty({"usage": _int(p(name)),
                                         "failcnt": _keyed(p(f"hugetlb.{size}.events"))
                                         .get("max", 0)}, keep=("failcnt",))
    return {"cpu": cpu, "cpuset": cpuset, "memory": memory, "pids": pids, "blkio": blkio,
            "hugetlb": hugetlb, "intel_rdt": {}, "network_interfaces": None}


def stats(paths: list[str]) -> dict[str, Any]:
    """runc's types.Stats of the container whose cgroups are ``paths``."""
    if version_of(paths) == 1:
        return _stats_v1([p for p in paths
                          if not os.path.exists(os.path.join(p, "cgroup.controllers"))])
    unified = _where(paths, "cgroup.controllers")
    return _stats_v2(unified) if unified else _stats_v1([])


def event(kind: str, cid: str, data: Any = None) -> str:
    out: dict[str, Any] = {"type": kind, "id": cid}
    if data is not None:
        out["data"] = data
    return json.dumps(out, separators=(",", ":"))


class OomWatch:
    """A file descriptor that turns readable when the container has an OOM kill."""

    def __init__(self, paths: list[str]) -> None:
        self.fd = -1
        self.kind = ""
        self._count = 0
        self._ctl = -1
        v1 = _where([p for p in paths if not os.path.exists(os.path.join(p, "cgroup.controllers"))],
                    "memory.oom_control")
        if v1 is not None:  # v1: an eventfd registered through cgroup.event_control
            self._ctl = os.open(os.path.join(v1, "memory.oom_control"),
                                os.O_RDONLY | os.O_CLOEXEC)
            self.fd = os.eventfd(0, os.EFD_CLOEXEC)
            with open(os.path.join(v1, "cgroup.event_control"), "w") as f:
                f.write(f"{self.fd} {self._ctl}")
            self.kind = "v1"
            return
        v2 = _where(paths, "memory.events")
        if v2 is not None:  # v2: kernfs wakes poll() with POLLPRI when the file changes
            self._path = os.path.join(v2, "memory.events")
            self.fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
            self._count = self._oom_kills()
            self.kind = "v2"

    def _oom_kills(self) -> int:
        os.lseek(self.fd, 0, os.SEEK_SET)
        text = os.read(self.fd, 4096).decode()
        return dict((k, int(v)) for k, v in (line.split() for line in text.splitlines())
                    ).get("oom_kill", 0)

    def events(self) -> int:
        """How many OOM events since the last call (the fd was reported ready)."""
        if self.kind == "v1":
            return os.eventfd_read(self.fd)
        now = self._oom_kills()
        new, self._count = now - self._count, now
        return max(new, 0)

    def close(self) -> None:
        for fd in (self.fd, self._ctl):
            if fd >= 0:
                os.close(fd)


def watch(cid: str, pid: int, started: str, paths: list[str], interval: float) -> int:
    """Stats every ``interval`` seconds and OOM events as they happen, until the init
    exits (exit 0)."""
    from lxcpy.oci.state import start_time

    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return 0
    if start_time(pid) != started:
        os.close(pidfd)
        return 0
    oom = OomWatch(paths)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    if oom.fd >= 0:
        poller.register(oom.fd, select.POLLPRI if oom.kind == "v2" else select.POLLIN)
    out = sys.stdout
    try:
        out.write(event("stats", cid, stats(paths)) + "\n")
        out.flush()
        while True:
            ready = poller.poll(interval * 1000)
            fds = {fd for fd, _ in ready}
            if oom.fd in fds:
                for _ in range(oom.events()):
                    out.write(event("oom", cid) + "\n")
                out.flush()
            if pidfd in fds:
                return 0
            if not ready:
                out.write(event("stats", cid, stats(paths)) + "\n")
                out.flush()
    except BrokenPipeError:
        return 0
    finally:
        oom.close()
        os.close(pidfd)
