"""``update``: change a running container's cgroup limits, as runc's ``update``.

The new values are the runtime-spec's ``linux.resources`` (from ``--resources FILE|-`` or
from the flags); they are mapped to cgroup files by the same table ``create`` uses
(``spec._resources``), written into the cgroups the state record names (v1: the
controller's hierarchy; v2: the unified cgroup), and merged into the record's
``resources`` so later commands read what is in force.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from typing import Any

from lxcpy.oci.state import Record, StateError

# runc's flags: (flag, section, field, parser)
_MEMORY = (("memory", "memory", "limit"), ("memory_reservation", "memory", "reservation"),
           ("memory_swap", "memory", "swap"))
_NUMBERS = (("cpu_share", "cpu", "shares", False), ("cpu_period", "cpu", "period", False),
            ("cpu_quota", "cpu", "quota", True), ("cpu_rt_period", "cpu", "realtimePeriod", False),
            ("cpu_rt_runtime", "cpu", "realtimeRuntime", True),
            ("pids_limit", "pids", "limit", True), ("blkio_weight", "blockIO", "weight", False))
_STRINGS = (("cpuset_cpus", "cpu", "cpus"), ("cpuset_mems", "cpu", "mems"))
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_ALLOWED = {"memory": {"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
                       "disableOOMKiller"},
            "cpu": {"shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus",
                    "mems"},
            "pids": {"limit"}, "blockIO": {"weight"}}


def ram_in_bytes(text: str) -> int:
    """docker's units.RAMInBytes (binary multiples: 100m, 1g, 512KiB); '-1': unlimited."""
    if text == "-1":
        return -1
    m = _SIZE.match(text.strip())
    if m is None:
        raise ValueError(f"invalid size: '{text}'")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def from_flags(args: Any) -> dict[str, Any]:
    """The resources the flags name (runc reads --resources instead when it is given)."""
    res: dict[str, Any] = {}
    for flag, section, key in _MEMORY:
        value = getattr(args, flag, None)
        if value is not None:
            try:
                res.setdefault(section, {})[key] = ram_in_bytes(value)
            except ValueError as exc:
                raise StateError(f"invalid value for {flag.replace('_', '-')}: {exc}") \
                    from None
    for flag, section, key, signed in _NUMBERS:
        value = getattr(args, flag, None)
        if value is None:
            continue
        try:
            n = int(value, 10)
            if n < 0 and not signed:
                raise ValueError
        except ValueError:
            kind = "ParseInt" if signed else "ParseUint"
            raise StateError(f"invalid value for {flag.replace('_', '-')}: strconv.{kind}: "
                             f"parsing {json.dumps(value)}: invalid syntax") from None
        res.setdefault(section, {})[key] = n
    for flag, section, key in _STRINGS:
        value = getattr(args, flag, None)
        if value is not None:
            res.setdefault(section, {})[key] = value
    if getattr(args, "kernel_memory", None) is not None \
            or getattr(args, "kernel_memory_tcp", None) is not None:
        sys.stderr.write("warning: Kernel memory settings are ignored and will be removed\n")
    if getattr(args, "l3_cache_schema", None) or getattr(args, "mem_bw_schema", None):
        raise StateError("Intel RDT is not enabled")
    return res


def from_file(path: str) -> dict[str, Any]:
    """``--resources FILE`` or ``-`` (stdin): linux.resources' JSON."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        res = json.loads(text)
    except OSError as exc:
        raise StateError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") \
            from None
    except ValueError as exc:
        raise StateError(f"{'stdin' if path == '-' else path}: {exc}") from None
    if not isinstance(res, dict):
        raise StateError("the resources must be a JSON object")
    return res


def check(res: dict[str, Any]) -> None:
    """Only what runc's update can change; values of the spec's types."""
    for section, values in res.items():
        if section not in _ALLOWED:
            raise StateError(f"update: linux.resources.{section} cannot be changed on a "
                             "running container")
        if not isinstance(values, dict):
            raise StateError(f"update: linux.resources.{section} must be an object")
        for key, value in values.items():
            if key not in _ALLOWED[section]:
                raise StateError(f"update: linux.resources.{section}.{key} cannot be "
                                 "changed on a running container")
            want = str if key in ("cpus", "mems") else (bool if key == "disableOOMKiller"
                                                        else int)
            if value is not None and (not isinstance(value, want) or
                                      (want is int and isinstance(value, bool))):
                what = "an integer" if want is int else f"a {want.__name__}"
                raise StateError(f"update: linux.resources.{section}.{key}: "
                                 f"{json.dumps(value)} is not {what}")
    mem = res.get("memory") or {}
    if "kernel" in mem or "kernelTCP" in mem:
        sys.stderr.write("warning: Kernel memory settings are ignored and will be removed\n")
        mem.pop("kernel", None)
        mem.pop("kernelTCP", None)
    shares = (res.get("cpu") or {}).get("shares")
    if shares is not None and shares != 0 and shares < 2:
        raise StateError("the minimum allowed cpu-shares is 2")
    weight = (res.get("blockIO") or {}).get("weight")
    if weight and not 10 <= weight <= 1000:
        raise StateError(f"invalid value for blkio-weight: {weight} is not in 10..1000")


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) for k, v in old.items() if isinstance(v, dict)}
    for section, values in new.items():
        out.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    return out


def version_of(paths: list[str]) -> int:
    """1 when the container has v1 hierarchies (hybrid host: the unified one has no
    controllers), else 2."""
    if any(not os.path.exists(os.path.join(p, "cgroup.controllers")) for p in paths):
        return 1
    return 2


def settings_for(res: dict[str, Any], merged: dict[str, Any],
                 version: int) -> list[tuple[str, str]]:
    """(cgroup file, value) of one version for ``res``, through create's mapping table."""
    from lxcpy.config.model import ContainerConfig
    from lxcpy.oci.errors import SpecError
    from lxcpy.oci.spec import _resources

    res = {k: dict(v) for k, v in res.items()}
    mem = res.get("memory")
    borrowed = False  # the limit in force, only to compute v2's swap from (not written)
    if mem and "swap" in mem and "limit" not in mem and version == 2:
        # v2's memory.swap.max is swap alone: the spec's swap is memory + swap
        limit = (merged.get("memory") or {}).get("limit")
        mem["limit"], borrowed = (limit if limit is not None else -1), True
    for section in res.values():  # runc: 0 means "leave as is"
        for key in [k for k, v in section.items() if v == 0]:
            del section[key]
    cpu = res.get("cpu")
    if version == 2 and cpu and ("quota" in cpu or "period" in cpu):
        for key in ("quota", "period"):  # cpu.max holds both: keep the one not given
            if key not in cpu and (merged.get("cpu") or {}).get(key) is not None:
                cpu[key] = merged["cpu"][key]
    cfg = ContainerConfig()
    try:
        _resources(res, cfg)
    except SpecError as exc:
        raise StateError(str(exc).replace("config.json: ", "update: ")) from None
    return [(s.key, s.value) for s in cfg.cgroup_settings if s.version == version
            and not (borrowed and s.key == "memory.max")]


def _order_memory(settings: list[tuple[str, str]], where: dict[str, str]) -> None:
    """v1: memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes, so when
    the limit grows the memsw limit is written first (runc's setMemoryAndSwap)."""
    keys = [k for k, _ in settings]
    if "memory.limit_in_bytes" not in keys or "memory.memsw.limit_in_bytes" not in keys:
        return
    new = dict(settings)["memory.limit_in_bytes"]
    try:
        with open(os.path.join(where["memory.limit_in_bytes"], "memory.limit_in_bytes")) as f:
            current = int(f.read())
    except (OSError, ValueError, KeyError):
        return
    grows = int(new) == -1 or int(new) > current
    first = "memory.memsw.limit_in_bytes" if grows else "memory.limit_in_bytes"
    settings.sort(key=lambda kv: 0 if kv[0] == first else 1)


def apply(rec: Record, res: dict[str, Any]) -> dict[str, Any]:
    """Write ``res`` into the container's cgroups; the merged resources to record."""
    check(res)
    merged = merge(rec.resources, res)
    version = version_of(rec.cgroup_paths)
    settings = settings_for(res, merged, version)
    where: dict[str, str] = {}
    for key, _ in settings:
        for path in rec.cgroup_paths:
            if version == 1 and os.path.exists(os.path.join(path, "cgroup.controllers")):
                continue
            if os.path.exists(os.path.join(path, key)):
                where[key] = path
                break
        else:
            controller = key.split(".", 1)[0]
            raise StateError(f"update: {key}: the container has no {controller} cgroup "
                             f"controller (cgroup v{version})")
    from lxcpy.cgroups.fs import read_file, write_file  # the cgroup layer's one write(2)

    _order_memory(settings, where)
    done: list[tuple[str, str]] = []  # (path, value before): set back if a later one fails
    for key, value in settings:
        path = os.path.join(where[key], key)
        try:
            before = read_file(path).strip()
            write_file(path, value)
        except OSError as exc:
            why = os.strerror(exc.errno or errno.EIO).lower()
            for old_path, old in reversed(done):  # as runc: the limits in force stay
                try:
                    write_file(old_path, old)
                except OSError:
                    sys.stderr.write(f"warning: setting back {old_path} failed: the "
                                     "state and the cgroup may disagree\n")
            raise StateError(f"failed to write {json.dumps(value)}: write {path}: {why}") \
                from None
        done.append((path, before))
    return merged
