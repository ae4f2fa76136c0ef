"""config.json (OCI runtime-spec 1.x) mapped onto lxcpy's ContainerConfig. Pure.

Every field is acted on or refused with one line naming ``config.json`` and the field;
nothing is silently ignored. What the runtime needs beyond the model (hooks, the
terminal, annotations) is returned beside it in :class:`Extras`.
"""

from __future__ import annotations

import os

from lxcpy import jsonlite
from lxcpy._record import dataclass, field
from lxcpy.config.model import CgroupSetting, ContainerConfig, IdMap, MountEntry
from lxcpy.oci import OCI_VERSION  # noqa: F401 - defined once, where state.py reads it
from lxcpy.oci.errors import SpecError

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing, json or dataclasses at run time: create's start-up
    from collections.abc import Callable
    from typing import Any

SPEC_FILE = "config.json"

# OCI namespace type -> lxcpy's name
NAMESPACES = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
              "user": "user", "cgroup": "cgroup", "time": "time"}
HOOKS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop")
RLIMITS = ("as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
           "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")
# linux.rootfsPropagation -> the flags / gets after pivot_root (MS_REC = 0x4000)
PROPAGATION = {"": 0, "private": 1 << 18, "rprivate": 1 << 18 | 0x4000,
               "slave": 1 << 19, "rslave": 1 << 19 | 0x4000, "shared": 1 << 20,
               "rshared": 1 << 20 | 0x4000, "unbindable": 1 << 17,
               "runbindable": 1 << 17 | 0x4000}
# devices every container may use whatever linux.resources.devices says (runc's list)
DEFAULT_ALLOWED = ("c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                   "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm")
# mount options that are flags (anything else is file system data)
_FLAG_OPTIONS = {"ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync",
                 "async", "dirsync", "remount", "mand", "nomand", "atime", "noatime",
                 "diratime", "nodiratime", "relatime", "norelatime", "strictatime",
                 "nostrictatime", "bind", "rbind", "private", "rprivate", "shared", "rshared",
                 "slave", "rslave", "unbindable", "runbindable", "silent", "loud",
                 "lazytime", "nolazytime", "iversion", "noiversion", "nosymfollow"}


@dataclass
class Extras:
    """What config.json says that the lxcpy model has no field for."""

    hooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    terminal: bool = False
    console_size: tuple[int, int] | None = None  # rows, cols
    annotations: dict[str, str] = field(default_factory=dict)
    cgroups_path: str | None = None
    args: list[str] = field(default_factory=list)


def load(bundle: str) -> dict[str, Any]:
    """The bundle's config.json, parsed; SpecError (one line) if missing or not JSON."""
    path = os.path.join(bundle, SPEC_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file (a bundle needs a config.json)") from None
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror}") from None
    try:
        spec = jsonlite.loads(text)
    except (ValueError, SystemError):  # json's own message, only on this error path
        import json

        try:
            spec = json.loads(text)
        except ValueError as exc:
            raise SpecError(f"{path}: not JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: not a JSON object")
    return spec


def _want(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind in (int, (int,)):
        raise SpecError(f"{SPEC_FILE}: {where}: expected a number")
    if not isinstance(value, kind):
        names = {dict: "an object", list: "an array", str: "a string", int: "a number",
                 bool: "a boolean"}
        name = names.get(kind, str(kind)) if isinstance(kind, type) else "a value"
        raise SpecError(f"{SPEC_FILE}: {where}: expected {name}")
    return value


def _refuse(where: str, why: str) -> SpecError:
    return SpecError(f"{SPEC_FILE}: {where}: {why}")


_KNOWN_TOP = {"ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks",
              "annotations", "linux"}
_KNOWN_LINUX = {"namespaces", "uidMappings", "gidMappings", "devices", "cgroupsPath",
                "resources", "sysctl", "seccomp", "maskedPaths", "readonlyPaths",
                "rootfsPropagation", "mountLabel"}


def to_config(spec: dict[str, Any], bundle: str,
              known_syscall: Callable[[str], bool] | None = None
              ) -> tuple[ContainerConfig, Extras]:
    """Map a parsed config.json onto ContainerConfig; SpecError on anything refused."""
    cfg = ContainerConfig(path=os.path.join(bundle, SPEC_FILE))
    extras = Extras()
    version = spec.get("ociVersion")
    if not isinstance(version, str) or not version.startswith("1."):
        raise _refuse("ociVersion", f"{version!r} is not a 1.x runtime-spec version")
    for key in spec:
        if key not in _KNOWN_TOP:
            raise _refuse(key, "not supported by lxcpy-oci")
    _root(spec, bundle, cfg)
    _process(_want(spec.get("process", {}), dict, "process"), cfg, extras)
    if spec.get("hostname"):
        cfg.uts_name = _want(spec["hostname"], str, "hostname")
    if spec.get("domainname"):
        raise _refuse("domainname", "not supported by lxcpy-oci")
    annotations = _want(spec.get("annotations") or {}, dict, "annotations")
    extras.annotations = {str(k): str(v) for k, v in annotations.items()}
    _hooks(_want(spec.get("hooks") or {}, dict, "hooks"), extras)
    linux = _want(spec.get("linux") or {}, dict, "linux")
    for key in linux:
        if key not in _KNOWN_LINUX:
            raise _refuse(f"linux.{key}", "not supported by lxcpy-oci")
    _namespaces(linux, cfg)
    _mounts(_want(spec.get("mounts") or [], list, "mounts"), cfg)
    _idmaps(linux, cfg)
    _resources(_want(linux.get("resources") or {}, dict, "linux.resources"), cfg)
    _devices(linux, cfg)  # after the device rules: their allows must follow a deny-all
    if linux.get("cgroupsPath"):
        extras.cgroups_path = _want(linux["cgroupsPath"], str, "linux.cgroupsPath")
    for name, value in _want(linux.get("sysctl") or {}, dict, "linux.sysctl").items():
        cfg.sysctls[str(name)] = str(value)
    if linux.get("seccomp"):
        from lxcpy.oci.seccomp import to_policy

        cfg.seccomp = to_policy(_want(linux["seccomp"], dict, "linux.seccomp"), known_syscall)
    cfg.masked_paths = [str(p) for p in _want(linux.get("maskedPaths") or [], list,
                                               "linux.maskedPaths")]
    cfg.readonly_paths = [str(p) for p in _want(linux.get("readonlyPaths") or [], list,
                                                 "linux.readonlyPaths")]
    propagation = linux.get("rootfsPropagation", "") or ""
    if propagation not in PROPAGATION:
        raise _refuse("linux.rootfsPropagation", f"'{propagation}' is not a propagation "
                      f"({', '.join(p for p in PROPAGATION if p)})")
    cfg.rootfs_propagation = PROPAGATION[propagation]
    if linux.get("mountLabel"):
        raise _refuse("linux.mountLabel", "SELinux is not enabled on this host")
    return cfg, extras


def _root(spec: dict[str, Any], bundle: str, cfg: ContainerConfig) -> None:
    root = _want(spec.get("root"), dict, "root")
    path = _want(root.get("path"), str, "root.path")
    if not os.path.isabs(path):
        path = os.path.join(bundle, path)
    cfg.rootfs_path = os.path.normpath(path)
    if _want(root.get("readonly", False), bool, "root.readonly"):
        cfg.rootfs_options = "ro"


def _process(proc: dict[str, Any], cfg: ContainerConfig, extras: Extras) -> None:
    args = _want(proc.get("args"), list, "process.args")
    if not args or not all(isinstance(a, str) for a in args):
        raise _refuse("process.args", "needs at least the program to run")
    extras.args = list(args)
    cfg.init_cmd = list(args)
    cfg.env_exact = True
    for item in _want(proc.get("env") or [], list, "process.env"):
        name, eq, value = _want(item, str, "process.env").partition("=")
        if not eq or not name:
            raise _refuse("process.env", f"'{item}' is not NAME=VALUE")
        cfg.environment.append((name, value))
    cwd = _want(proc.get("cwd", "/"), str, "process.cwd")
    if not os.path.isabs(cwd):
        raise _refuse("process.cwd", f"'{cwd}' is not an absolute path")
    cfg.init_cwd = cwd
    user = _want(proc.get("user") or {}, dict, "process.user")
    if "username" in user:
        raise _refuse("process.user.username", "not supported on Linux (use uid and gid)")
    cfg.init_uid = _want(user.get("uid", 0), int, "process.user.uid")
    cfg.init_gid = _want(user.get("gid", 0), int, "process.user.gid")
    cfg.init_groups = [_want(g, int, "process.user.additionalGids")
                       for g in _want(user.get("additionalGids") or [], list,
                                      "process.user.additionalGids")]
    if user.get("umask") is not None:
        cfg.init_umask = _want(user["umask"], int, "process.user.umask")
    extras.terminal = bool(_want(proc.get("terminal", False), bool, "process.terminal"))
    size = proc.get("consoleSize")
    if size:
        size = _want(size, dict, "process.consoleSize")
        extras.console_size = (int(size.get("height", 24)), int(size.get("width", 80)))
    caps = _want(proc.get("capabilities") or {}, dict, "process.capabilities")
    bounding = caps.get("bounding")
    if bounding is not None:
        names = [_cap(c) for c in _want(bounding, list, "process.capabilities.bounding")]
        cfg.cap_keep = names or ["none"]
    elif "capabilities" in proc:
        cfg.cap_keep = ["none"]
    for name, value in caps.items():
        if name not in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            raise _refuse(f"process.capabilities.{name}", "not a capability set")
        _want(value, list, f"process.capabilities.{name}")
    if "capabilities" in proc:  # the five sets exactly (lxcpy.runtime.capsets)
        cfg.cap_sets = {name: [_cap(c) for c in value or []] for name, value in caps.items()}
    cfg.no_new_privs = bool(_want(proc.get("noNewPrivileges", False), bool,
                                  "process.noNewPrivileges"))
    for i, limit in enumerate(_want(proc.get("rlimits") or [], list, "process.rlimits")):
        where = f"process.rlimits[{i}]"
        limit = _want(limit, dict, where)
        kind = str(limit.get("type", ""))
        res = kind.lower().removeprefix("rlimit_")
        if not kind.startswith("RLIMIT_") or res not in RLIMITS:
            raise _refuse(f"{where}.type", f"'{kind}' is not a resource limit")
        soft = _want(limit.get("soft"), int, f"{where}.soft")
        hard = _want(limit.get("hard"), int, f"{where}.hard")
        cfg.prlimits[res] = ":".join("unlimited" if n >= (1 << 64) - 1 else str(n)
                                     for n in (soft, hard))
    if proc.get("oomScoreAdj") is not None:
        cfg.proc["oom_score_adj"] = str(_want(proc["oomScoreAdj"], int,
                                              "process.oomScoreAdj"))
    for key in ("apparmorProfile", "selinuxLabel"):
        if proc.get(key):
            raise _refuse(f"process.{key}", "no such LSM is enabled on this host")
    for key in ("ioPriority", "scheduler", "execCPUAffinity"):
        if proc.get(key):
            raise _refuse(f"process.{key}", "not supported by lxcpy-oci")


def _cap(name: Any) -> str:
    text = _want(name, str, "process.capabilities")
    if not text.startswith("CAP_"):
        raise _refuse("process.capabilities", f"'{text}' is not a capability name")
    return text[4:].lower()


def _hooks(hooks: dict[str, Any], extras: Extras) -> None:
    for name, entries in hooks.items():
        if name not in HOOKS:
            raise _refuse(f"hooks.{name}", "not a hook of the runtime-spec")
        for i, hook in enumerate(_want(entries, list, f"hooks.{name}")):
            hook = _want(hook, dict, f"hooks.{name}[{i}]")
            path = _want(hook.get("path"), str, f"hooks.{name}[{i}].path")
            if not os.path.isabs(path):
                raise _refuse(f"hooks.{name}[{i}].path", f"'{path}' is not absolute")
            extras.hooks.setdefault(name, []).append(hook)


def _namespaces(linux: dict[str, Any], cfg: ContainerConfig) -> None:
    seen: set[str] = set()
    for i, ns in enumerate(_want(linux.get("namespaces") or [], list, "linux.namespaces")):
        ns = _want(ns, dict, f"linux.namespaces[{i}]")
        kind = ns.get("type")
        if kind not in NAMESPACES:
            raise _refuse(f"linux.namespaces[{i}].type", f"unknown namespace type {kind!r}")
        name = NAMESPACES[kind]
        if name in seen:
            raise _refuse(f"linux.namespaces[{i}]", f"namespace {kind!r} listed twice")
        seen.add(name)
        path = ns.get("path")
        if path:
            if name == "time":  # (runc 1.1.5 has no time namespaces)
                raise _refuse(f"linux.namespaces[{i}].path", f"joining a {kind} namespace "
                              "is not supported by lxcpy-oci")
            cfg.namespace_share[name] = _want(path, str, f"linux.namespaces[{i}].path")
        else:
            cfg.namespace_clone.append(name)
    # a type not listed is the runtime's, as runc; a joined pid namespace gets the init
    # forked into it, a mount namespace not made new gets the rootfs as a detached tree
    # (lxcpy.runtime.ocimounts), a joined uts namespace the hostname (runc sets it too)
    if cfg.uts_name and "uts" not in seen:
        raise _refuse("hostname", "cannot set the hostname without a uts namespace of the "
                      "container's own (runc refuses it too)")
    if linux.get("rootfsPropagation") and "mnt" not in cfg.namespace_clone:
        raise _refuse("linux.rootfsPropagation", "needs a new mount namespace (in the "
                      "runtime's or a joined one it would change another's mounts)")
    if "net" not in seen:
        cfg.namespace_keep = []  # resolve() derives it; net: the caller's
        cfg.networks = []
        from lxcpy.config.model import NetConfig

        cfg.networks.append(NetConfig(index=0, type="none"))
    # else: a network namespace with lo only (LXC 5's default without lxc.net keys)
    if not cfg.namespace_clone:  # none made new (an empty clone list is lxcpy's default set)
        cfg.namespace_keep = [ns for ns in NAMESPACES.values() if ns not in seen]


def _mounts(mounts: list[Any], cfg: ContainerConfig) -> None:
    """Every mount as an fstab-style entry, in config.json's order (lxcpy.runtime.ocimounts
    makes them so); a /proc is required (the start gate reopens its FIFO through it)."""
    cfg.oci_mounts = []
    has_proc = False
    for i, mount in enumerate(mounts):
        where = f"mounts[{i}]"
        mount = _want(mount, dict, where)
        dest = _want(mount.get("destination"), str, f"{where}.destination")
        if not os.path.isabs(dest):
            raise _refuse(f"{where}.destination", f"'{dest}' is not an absolute path")
        dest = os.path.normpath(dest)
        kind = _want(mount.get("type") or "", str, f"{where}.type")
        options = [str(o) for o in _want(mount.get("options") or [], list,
                                         f"{where}.options")]
        for key in ("uidMappings", "gidMappings"):
            if mount.get(key):
                raise _refuse(f"{where}.{key}", "idmapped mounts are not supported here")
        bind = "bind" in options or "rbind" in options or kind in ("bind", "rbind")
        source = _want(mount.get("source") or ("" if bind else kind or "none"), str,
                       f"{where}.source")
        if dest == "/proc" and kind == "proc":
            has_proc = True
        for o in options:
            if o.startswith("create=") or o == "optional":
                raise _refuse(f"{where}.options", f"'{o}' is not an OCI mount option")
        opts = [o for o in options if o != "bind"]
        if bind:
            if not os.path.isabs(source):
                raise _refuse(f"{where}.source", f"'{source}' is not an absolute path")
            if "rbind" not in opts:
                opts.insert(0, "rbind" if kind == "rbind" else "bind")
            create = "dir" if os.path.isdir(source) else "file"
        else:
            create = "dir"
        opts.append(f"create={create}")
        cfg.oci_mounts.append(MountEntry(source=source, target=dest.lstrip("/"),
                                         fstype="none" if bind else (kind or "none"),
                                         options=",".join(opts)))
    if not has_proc:
        raise _refuse("mounts", "lxcpy-oci needs a proc mount on /proc")


def _idmaps(linux: dict[str, Any], cfg: ContainerConfig) -> None:
    for key, kind in (("uidMappings", "u"), ("gidMappings", "g")):
        for i, m in enumerate(_want(linux.get(key) or [], list, f"linux.{key}")):
            m = _want(m, dict, f"linux.{key}[{i}]")
            cfg.idmaps.append(IdMap(kind, _want(m.get("containerID"), int, f"linux.{key}"),
                                    _want(m.get("hostID"), int, f"linux.{key}"),
                                    _want(m.get("size"), int, f"linux.{key}")))
    if "user" in cfg.namespace_share and cfg.idmaps:
        raise _refuse("linux.uidMappings", "the user namespace is joined by path: its own "
                      "mappings apply")
    if "user" in cfg.namespace_share and "mnt" not in cfg.namespace_clone:
        raise _refuse("linux.namespaces", "a user namespace joined by path needs a new "
                      "mount namespace (owned by it) in lxcpy-oci")
    if cfg.idmaps and "user" not in cfg.namespace_clone:
        raise _refuse("linux.uidMappings", "mappings need a user namespace")
    if cfg.idmaps and not {"mnt", "pid"} <= set(cfg.namespace_clone):
        raise _refuse("linux.uidMappings", "a user namespace needs new mount and PID "
                      "namespaces with it in lxcpy-oci")
    if "user" in cfg.namespace_clone and not cfg.idmaps:
        raise _refuse("linux.namespaces", "a user namespace needs uidMappings and "
                      "gidMappings")


def _devices(linux: dict[str, Any], cfg: ContainerConfig) -> None:
    """linux.devices: made with mknod in the container's /dev (lxcpy.runtime.ocimounts),
    and allowed in the device cgroup, as runc does."""
    for i, dev in enumerate(_want(linux.get("devices") or [], list, "linux.devices")):
        where = f"linux.devices[{i}]"
        dev = _want(dev, dict, where)
        path = _want(dev.get("path"), str, f"{where}.path")
        if not os.path.isabs(path) or ".." in path.split("/"):
            raise _refuse(f"{where}.path", f"'{path}' is not an absolute path")
        kind = dev.get("type")
        if kind not in ("c", "b", "u", "p"):
            raise _refuse(f"{where}.type", f"{kind!r} is not c, b, u or p")
        major = _want(dev.get("major", 0), int, f"{where}.major")
        minor = _want(dev.get("minor", 0), int, f"{where}.minor")
        mode = _want(dev.get("fileMode", 0o666), int, f"{where}.fileMode")
        uid = _want(dev.get("uid", 0), int, f"{where}.uid")
        gid = _want(dev.get("gid", 0), int, f"{where}.gid")
        cfg.oci_devices.append((path, kind, major, minor, mode & 0o7777, uid, gid))
        if kind != "p":
            rule = f"{'b' if kind == 'b' else 'c'} {major}:{minor} rwm"
            _cgroup(cfg, ("devices.allow", rule), ("devices.allow", rule))


def _cgroup(cfg: ContainerConfig, v1: tuple[str, str] | None,
            v2: tuple[str, str] | None) -> None:
    if v1 is not None:
        cfg.cgroup_settings.append(CgroupSetting(1, v1[0], v1[1]))
    if v2 is not None:
        cfg.cgroup_settings.append(CgroupSetting(2, v2[0], v2[1]))


def _resources(res: dict[str, Any], cfg: ContainerConfig) -> None:
    devices = _want(res.get("devices") or [], list, "linux.resources.devices")
    rules = []
    for i, rule in enumerate(devices):
        rule = _want(rule, dict, f"linux.resources.devices[{i}]")
        allow = bool(rule.get("allow"))
        kind = rule.get("type") or "a"
        if kind not in ("a", "c", "b"):
            raise _refuse(f"linux.resources.devices[{i}].type", f"{kind!r} is not a, c or b")
        major = "*" if rule.get("major") in (None, -1) else str(rule["major"])
        minor = "*" if rule.get("minor") in (None, -1) else str(rule["minor"])
        access = rule.get("access") or "rwm"
        text = "a" if kind == "a" else f"{kind} {major}:{minor} {access}"
        rules.append(("devices.allow" if allow else "devices.deny", text))
    if rules:
        # runc's order: the rules as given, then the devices every container needs
        rules += [("devices.allow", d) for d in DEFAULT_ALLOWED]
        for key, text in rules:
            _cgroup(cfg, (key, text), (key, text))
    mem = _want(res.get("memory") or {}, dict, "linux.resources.memory")
    limit = mem.get("limit")
    if limit is not None:
        _cgroup(cfg, ("memory.limit_in_bytes", str(limit)),
                ("memory.max", "max" if limit == -1 else str(limit)))
    if mem.get("reservation") is not None:
        r = mem["reservation"]
        _cgroup(cfg, ("memory.soft_limit_in_bytes", str(r)),
                ("memory.low", "max" if r == -1 else str(r)))
    if mem.get("swap") is not None:
        swap = mem["swap"]
        v2 = "max" if swap == -1 else str(max(0, swap - (limit or 0)))
        _cgroup(cfg, ("memory.memsw.limit_in_bytes", str(swap)), ("memory.swap.max", v2))
    if mem.get("swappiness") is not None:
        _cgroup(cfg, ("memory.swappiness", str(mem["swappiness"])), None)
    if mem.get("kernel") is not None or mem.get("kernelTCP") is not None:
        raise _refuse("linux.resources.memory.kernel", "kernel memory limits are not "
                      "supported by this kernel")
    if mem.get("disableOOMKiller"):
        _cgroup(cfg, ("memory.oom_control", "1"), None)
    cpu = _want(res.get("cpu") or {}, dict, "linux.resources.cpu")
    if cpu.get("shares"):
        shares = int(cpu["shares"])
        weight = 1 + ((shares - 2) * 9999) // 262142  # runc's ConvertCPUSharesToCgroupV2Value
        _cgroup(cfg, ("cpu.shares", str(shares)), ("cpu.weight", str(weight)))
    if cpu.get("quota") is not None or cpu.get("period") is not None:
        period = int(cpu.get("period") or 100000)
        quota = cpu.get("quota")
        if cpu.get("period") is not None:
            _cgroup(cfg, ("cpu.cfs_period_us", str(period)), None)
        if quota is not None:
            _cgroup(cfg, ("cpu.cfs_quota_us", str(quota)), None)
        _cgroup(cfg, None, ("cpu.max", f"{'max' if quota in (None, -1) else quota} {period}"))
    if cpu.get("realtimeRuntime") or cpu.get("realtimePeriod"):
        if cpu.get("realtimePeriod"):
            _cgroup(cfg, ("cpu.rt_period_us", str(cpu["realtimePeriod"])), None)
        if cpu.get("realtimeRuntime"):
            _cgroup(cfg, ("cpu.rt_runtime_us", str(cpu["realtimeRuntime"])), None)
    if cpu.get("cpus"):
        _cgroup(cfg, ("cpuset.cpus", str(cpu["cpus"])), ("cpuset.cpus", str(cpu["cpus"])))
    if cpu.get("mems"):
        _cgroup(cfg, ("cpuset.mems", str(cpu["mems"])), ("cpuset.mems", str(cpu["mems"])))
    pids = _want(res.get("pids") or {}, dict, "linux.resources.pids")
    if pids.get("limit") is not None:
        n = int(pids["limit"])
        value = "max" if n <= 0 else str(n)
        _cgroup(cfg, ("pids.max", value), ("pids.max", value))
    blkio = _want(res.get("blockIO") or {}, dict, "linux.resources.blockIO")
    if blkio.get("weight"):
        w = int(blkio["weight"])
        _cgroup(cfg, ("blkio.weight", str(w)), ("io.weight", str(1 + (w - 10) * 9999 // 990)))
    if blkio.get("leafWeight"):
        _cgroup(cfg, ("blkio.leaf_weight", str(blkio["leafWeight"])), None)
    for key, v1 in (("weightDevice", "blkio.weight_device"),
                    ("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
                    ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
                    ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
                    ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device")):
        for d in _want(blkio.get(key) or [], list, f"linux.resources.blockIO.{key}"):
            value = d.get("weight") if key == "weightDevice" else d.get("rate")
            _cgroup(cfg, (v1, f"{d.get('major')}:{d.get('minor')} {value}"), None)
    for i, h in enumerate(_want(res.get("hugepageLimits") or [], list,
                                "linux.resources.hugepageLimits")):
        size = _want(h.get("pageSize"), str, f"linux.resources.hugepageLimits[{i}].pageSize")
        _cgroup(cfg, (f"hugetlb.{size}.limit_in_bytes", str(h.get("limit"))),
                (f"hugetlb.{size}.max", str(h.get("limit"))))
    net = res.get("network")
    if net:
        raise _refuse("linux.resources.network", "net_cls/net_prio are not supported by "
                      "lxcpy-oci")
    if res.get("rdma"):
        raise _refuse("linux.resources.rdma", "not supported by lxcpy-oci")
    for key, value in _want(res.get("unified") or {}, dict, "linux.resources.unified").items():
        _cgroup(cfg, None, (str(key), str(value)))


def default_spec(terminal: bool = True) -> dict[str, Any]:
    """``lxcpy-oci spec``: runc's default config.json (rootless off)."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps,
                             "ambient": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount",
                                                 "cgroup")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }
