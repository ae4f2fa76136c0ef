"""The ``lxc.*`` key table: every key lxcpy knows, one row each.

A row maps a key (today's spelling) to a value parser, the function that stores the parsed
value into the model, the function that clears it (an empty value clears, as in LXC) and
the key's legacy spellings. Adding a key is adding one row to ``KEYS``.

Key names may hold one pattern:

* ``lxc.net.<N>.sub``: ``N`` is a decimal network index; the row stores into that
  interface. Every network row is also reachable as ``lxc.network.<N>.sub`` and, for the
  2008 format, un-indexed as ``lxc.network.sub`` (the parser supplies the index).
* ``prefix.<name>`` (e.g. ``lxc.cgroup.<file>``): any non-empty suffix. The bare prefix
  (``lxc.cgroup``) takes only an empty value, which clears every key under it.

A row without a store is parsed and validated but not acted on by lxcpy yet: the parser
records such lines in ``ContainerConfig.not_acted_on`` and the runtime warns about them.
"""

from __future__ import annotations

import os

from lxcpy.config.model import (
    CgroupSetting,
    ContainerConfig,
    Entry,
    IdMap,
    IPv4Address,
    MountEntry,
    NetConfig,
    Origin,
)

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    import ipaddress  # imported where an address is parsed: saves ~1.5 ms without one
    from collections.abc import Callable, Mapping
    from typing import Any


class Invalid(Exception):
    """A value (or key) a row refuses; the parser adds file, line and key."""


class Ctx:
    """What a parse/store/clear function may need besides the value."""

    # plain classes, not dataclasses: this module is on every command's start-up path
    __slots__ = ("cfg", "entry", "base_dir", "suffix", "net", "environ", "randomize", "attr")

    def __init__(self, cfg: ContainerConfig, entry: Entry, base_dir: str,
                 suffix: str | None = None, net: NetConfig | None = None,
                 environ: Mapping[str, str] | None = None, randomize: bool = False,
                 attr: str = "") -> None:
        self.cfg = cfg
        self.entry = entry
        self.base_dir = base_dir  # relative paths resolve against the config file's directory
        self.suffix = suffix  # the <name> part of a pattern key; None for a bare prefix
        self.net = net
        self.environ = os.environ if environ is None else environ
        self.randomize = randomize  # write randomised hwaddr digits back into the entry
        self.attr = attr  # the row's model field (Key.attr), for the shared stores and clears

    @property
    def target(self) -> Any:
        return self.net if self.net is not None else self.cfg


if TYPE_CHECKING:  # annotations only: collections.abc would import collections (~1 ms)
    Parse = Callable[[str, Ctx], Any]
    Store = Callable[[Ctx, Any], None]
    Clear = Callable[[Ctx], None]


class Key:
    """One row of the table."""

    # 140 rows are made at every command's import: a row holds only what the parser needs;
    # applied_by, get and default are looked up by name when read (lxc-info -c, tests)
    __slots__ = ("name", "parse", "store", "clear", "legacy", "acted", "only", "repeat",
                 "attr")

    def __init__(self, name: str, parse: Parse, store: Store | None = None,
                 clear: Clear | None = None, legacy: tuple[str, ...] = (),
                 acted: Callable[[str], bool] | None = None, only: tuple[str, ...] = (),
                 repeat: bool = False, attr: str = "") -> None:
        self.name = name  # today's spelling, possibly with one <pattern>
        self.parse = parse  # value -> python value; raises Invalid
        self.store = store  # None: validated and recorded, not acted on
        self.clear = clear  # what an empty value does (besides forgetting the line)
        self.legacy = legacy  # older spellings, same patterns
        self.acted = acted  # per value: False = stored but not acted on
        self.only = only  # network types the key is valid for
        self.repeat = repeat  # each line adds (lists) instead of replacing
        self.attr = attr  # the model field the shared stores and clears work on ("": none)

    @property
    def applied_by(self) -> str | None:
        """Who acts on the stored value: "module:function", or a marker (see APPLIED_BY)."""
        return APPLIED_BY.get(self.name)

    @property
    def get(self) -> Callable[[ContainerConfig, str, Any], str]:
        """LXC's get: (cfg, today's key, match) -> the value as get_config_item returns it."""
        return _GETTERS.get(self.name, get_lines)

    @property
    def default(self) -> str:
        """What LXC's get prints for the key unset (its built-in value): see DEFAULTS."""
        return DEFAULTS.get(self.name, "")

    def __repr__(self) -> str:
        return f"Key({self.name!r})"

    def acts_on(self, value: str) -> bool:
        return self.store is not None and (self.acted is None or self.acted(value))


# ---- small value parsers ------------------------------------------------------------------
def _digits(text: str) -> bool:
    # str.isdigit() alone accepts e.g. '²', which int() refuses
    return text.isascii() and text.isdigit()


def _text(value: str, ctx: Ctx) -> str:
    return value


def _no_value(value: str, ctx: Ctx) -> None:
    raise Invalid(f"takes no value: an empty value clears every {ctx.entry.canonical}.* key")


def _uint(value: str, ctx: Ctx) -> int:
    if not _digits(value):
        raise Invalid(f"'{value}' is not a non-negative integer")
    return int(value)


def _int(value: str, ctx: Ctx) -> int:
    if not _digits(value.removeprefix("-")):
        raise Invalid(f"'{value}' is not an integer")
    return int(value)


def _id(value: str, ctx: Ctx) -> int:
    number = _uint(value, ctx)
    if number > 0xFFFFFFFE:
        raise Invalid(f"'{value}' is not a valid id")
    return number


def _bool(value: str, ctx: Ctx) -> bool:
    if value not in ("0", "1"):
        raise Invalid(f"'{value}' is not 0 or 1")
    return value == "1"


def _choice(*choices: str) -> Parse:
    def parse(value: str, ctx: Ctx) -> str:
        if value not in choices:
            raise Invalid(f"'{value}' is not one of {', '.join(choices)}")
        return value

    return parse


def _range(low: int, high: int) -> Parse:
    def parse(value: str, ctx: Ctx) -> int:
        if not _digits(value) or not low <= int(value) <= high:
            raise Invalid(f"'{value}' is not an integer in {low}..{high}")
        return int(value)

    return parse


def _seccomp_profile(value: str, ctx: Ctx) -> Any:
    """Read and parse the profile now: a bad one fails before anything starts."""
    from lxcpy.config.seccomp import PolicyError, read_policy
    from lxcpy.errors import ConfigError
    from lxcpy.kernel.seccomp import host_arches, known_syscall

    path = _path_from_config(value, ctx)
    try:
        return read_policy(path, known=known_syscall, host_arches=host_arches())
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise Invalid(f"cannot read seccomp profile '{path}': {why}") from None
    except PolicyError as exc:  # the profile's line first, then the config line naming it
        raise ConfigError(f"{exc.message} (profile of lxc.seccomp.profile at "
                          f"{ctx.entry.origin})", path, exc.line or None) from None


def _path_from_config(value: str, ctx: Ctx) -> str:
    # the seed writes `lxc.mount = ./fstab`: relative to the config file, not to the cwd
    return os.path.normpath(os.path.join(ctx.base_dir, value))


def _shell_words(value: str, ctx: Ctx) -> list[str]:
    import shlex

    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise Invalid(f"cannot split '{value}' into words: {exc}") from None
    if not words:
        raise Invalid("is empty")
    return words


def _words(value: str, ctx: Ctx) -> list[str]:
    return value.split()


def _gids(value: str, ctx: Ctx) -> list[int]:
    parts = [p for p in value.split(",") if p]
    if not parts:
        raise Invalid(f"'{value}' lists no group ids")
    return [_id(p, ctx) for p in parts]


def _uts_name(value: str, ctx: Ctx) -> str:
    if len(value.encode("utf-8", "surrogateescape")) > 64:
        raise Invalid(f"'{value}' is longer than 64 bytes")
    return value


def _rootfs_path(value: str, ctx: Ctx) -> tuple[str | None, str | None]:
    """(the rootfs directory, the store's spelling unless dir:) -- lxcpy.storage's rules."""
    prefix, colon, rest = value.partition(":")
    if not colon or "/" in prefix:  # a path (it may hold a colon): no storage import
        return value or None, None
    if prefix == "dir":
        return rest or None, None
    from lxcpy.storage import SpecError, parse_spec

    try:
        store = parse_spec(value)
    except SpecError as exc:
        raise Invalid(str(exc)) from None
    if store.kind == "dir":
        return store.rootfs or None, None
    return store.rootfs, store.spec


def _store_rootfs(ctx: Ctx, value: tuple[str | None, str | None]) -> None:
    ctx.cfg.rootfs_path, ctx.cfg.rootfs_store = value


def _clear_rootfs(ctx: Ctx) -> None:
    ctx.cfg.rootfs_path = ctx.cfg.rootfs_store = None


_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL")


def _log_level(value: str, ctx: Ctx) -> str:
    name = value.upper()
    if _digits(name) and int(name) < len(_LOG_LEVELS):
        return _LOG_LEVELS[int(name)]
    name = "WARN" if name == "WARNING" else name
    if name not in _LOG_LEVELS:
        raise Invalid(f"'{value}' is not a log level ({', '.join(_LOG_LEVELS)} or 0-8)")
    return name


def _signal(value: str, ctx: Ctx) -> int | None:
    """``SIGPWR``, ``PWR``, ``SIGRTMIN+3``, ``RTMAX-1``, ``9``; 0 means the default."""
    import signal

    text = value.upper()
    number: int | None = None
    if _digits(text):
        number = int(text)
    else:
        name = text.removeprefix("SIG")
        for base, sign, anchor in (("RTMIN", "+", signal.SIGRTMIN),
                                   ("RTMAX", "-", signal.SIGRTMAX)):
            if name == base:
                number = anchor
            elif name.startswith(base + sign) and _digits(name[len(base) + 1:]):
                offset = int(name[len(base) + 1:])
                number = anchor + offset if sign == "+" else anchor - offset
                if not signal.SIGRTMIN <= number <= signal.SIGRTMAX:
                    number = -1
        if number is None:
            sig = getattr(signal, "SIG" + name, None)
            number = int(sig) if isinstance(sig, signal.Signals) else -1
    if not 0 <= number < signal.NSIG:
        raise Invalid(f"'{value}' is not a signal")
    return number or None


# The kernel's capabilities, by number (include/uapi/linux/capability.h).
CAPABILITIES = (
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
    "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast",
    "net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio",
    "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
    "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write",
    "audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
    "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
)


def _caps(allow_none: bool) -> Parse:
    def parse(value: str, ctx: Ctx) -> list[str]:
        names = []
        for word in value.split():
            name = word.lower()
            if _digits(name) and int(name) < len(CAPABILITIES):
                name = CAPABILITIES[int(name)]
            if name == "none" and allow_none:
                names.append(name)
            elif name in CAPABILITIES:
                names.append(name)
            elif name.startswith("cap_") and name[4:] in CAPABILITIES:
                raise Invalid(f"'{word}': write capabilities without CAP_ ('{name[4:]}')")
            else:
                raise Invalid(f"'{word}' is not a capability")
        return names

    return parse


NAMESPACES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")


def _namespaces(value: str, ctx: Ctx) -> list[str]:
    names = value.split()
    for name in names:
        if name not in NAMESPACES:
            raise Invalid(f"'{name}' is not a namespace ({', '.join(NAMESPACES)})")
    return names


def _namespace_share(value: str, ctx: Ctx) -> str:
    if ctx.suffix not in NAMESPACES:
        raise Invalid(f"'{ctx.suffix}' is not a namespace ({', '.join(NAMESPACES)})")
    return value


def _idmap(value: str, ctx: Ctx) -> IdMap:
    fields = value.split()
    if len(fields) != 4 or fields[0] not in ("u", "g") or not all(map(_digits, fields[1:])):
        raise Invalid(f"'{value}' is not an id map (u|g NSID HOSTID RANGE)")
    nsid, hostid, count = (int(f) for f in fields[1:])
    if count == 0:
        raise Invalid(f"'{value}': the range must be at least 1")
    new = IdMap(fields[0], nsid, hostid, count, ctx.entry.origin)
    for old in ctx.cfg.idmaps:  # the kernel refuses overlapping lines: say it at parse
        clash = idmap_overlap(new, old)
        if clash:
            raise Invalid(clash)
    return new


def idmap_overlap(new: IdMap, old: IdMap) -> str | None:
    """Why two id maps of one kind cannot both be written (they overlap), or None."""
    if new.kind != old.kind:
        return None
    for side, lo_new, lo_old in (("container", new.nsid, old.nsid),
                                 ("host", new.hostid, old.hostid)):
        if lo_new < lo_old + old.range and lo_old < lo_new + new.range:
            where = f" ({old.origin})" if old.origin else ""
            return (f"'{new.kind} {new.nsid} {new.hostid} {new.range}' overlaps "
                    f"'{old.kind} {old.nsid} {old.hostid} {old.range}'{where} in the "
                    f"{side} ids")
    return None


def _unescape_fstab(text: str) -> str:
    # getmntent's escapes: \040 space, \011 tab, \012 newline, \134 backslash
    if "\\" not in text:
        return text
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text


def _mount_entry(value: str, ctx: Ctx) -> MountEntry:
    return mount_entry(value, ctx.entry.origin)


def mount_entry(value: str, origin: Origin | None = None) -> MountEntry:
    """One fstab-format line (lxc.mount.entry, and each line of lxc.mount.fstab)."""
    fields = value.split()
    if not 4 <= len(fields) <= 6:
        raise Invalid(f"'{value}' is not a mount entry "
                      "(SOURCE TARGET FSTYPE OPTIONS [DUMP [PASS]])")
    extra = fields[4:]
    if not all(map(_digits, extra)):
        raise Invalid(f"'{value}': dump and pass must be numbers")
    numbers = [int(f) for f in extra] + [0, 0]
    source, target, fstype, options = (_unescape_fstab(f) for f in fields[:4])
    return MountEntry(source, target, fstype, options, numbers[0], numbers[1], origin)


MOUNT_AUTO = frozenset(
    ["proc", "proc:mixed", "proc:rw", "sys", "sys:ro", "sys:mixed", "sys:rw"]
    + [f"{kind}{mode}{force}" for kind in ("cgroup", "cgroup-full")
       for mode in ("", ":mixed", ":ro", ":rw") for force in ("", ":force")]
)


def _mount_auto(value: str, ctx: Ctx) -> list[str]:
    tokens = value.split()
    for token in tokens:
        if token.startswith("shmounts:"):
            if not token.split(":")[1]:
                raise Invalid(f"'{token}' names no host path (shmounts:HOST[:CONTAINER])")
        elif token not in MOUNT_AUTO:
            raise Invalid(f"'{token}' is not a filesystem to automount")
    return tokens


RESOURCES = ("as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
             "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")


def parse_prlimit(value: str) -> tuple[int | None, int | None]:
    """``N``, ``SOFT:HARD`` or ``unlimited`` -> (soft, hard); None means unlimited."""
    soft, colon, hard = value.partition(":")
    limits: list[int | None] = []
    for part in (soft, hard if colon else soft):
        part = part.strip()
        if part == "unlimited":
            limits.append(None)
        elif _digits(part):
            limits.append(int(part))
        else:
            raise Invalid(f"'{value}' is not a limit (N, SOFT:HARD or unlimited)")
    return limits[0], limits[1]


def _prlimit(value: str, ctx: Ctx) -> str:
    if ctx.suffix not in RESOURCES:
        raise Invalid(f"'{ctx.suffix}' is not a resource limit ({', '.join(RESOURCES)})")
    soft, hard = parse_prlimit(value)
    if soft is not None and hard is not None and soft > hard:
        raise Invalid(f"'{value}': the soft limit is above the hard limit")
    return ":".join("unlimited" if n is None else str(n) for n in (soft, hard))


def _sysctl(value: str, ctx: Ctx) -> str:
    name = ctx.suffix or ""
    # no '/': the name becomes a path under /proc/sys and must stay there
    if (any(not part for part in name.split(".")) or any(c.isspace() for c in name)
            or "/" in name or "\0" in name):
        raise Invalid(f"'{name}' is not a sysctl name")
    return value


def _proc_file(value: str, ctx: Ctx) -> str:
    # lxc.proc.oom_score_adj = 10 writes /proc/<init>/oom_score_adj: one file of that dir
    name = ctx.suffix or ""
    if "/" in name or name in (".", "..") or any(c.isspace() or c == "\0" for c in name):
        raise Invalid(f"'{name}' is not a file of /proc/PID")
    return value


def _cgroup_file(value: str, ctx: Ctx) -> str:
    # the suffix becomes a file name inside the container's cgroup: keep it there
    name = ctx.suffix or ""
    if "/" in name or name in (".", "..") or any(c.isspace() for c in name):
        raise Invalid(f"'{name}' is not a cgroup file name")
    if name in ("devices.allow", "devices.deny") and value.strip():
        # one rule syntax on both versions (the v2 driver compiles it): refused here, at
        # lxc-create, not first at a start
        from lxcpy.cgroups.devices import parse_rule

        try:
            parse_rule(value, name == "devices.allow")
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    return value


def _cgroup_dir(value: str, ctx: Ctx) -> str:
    if value.startswith("/") or ".." in value.split("/"):
        raise Invalid(f"'{value}' must be a relative path that does not climb with ..")
    return value


def _single_dir(value: str, ctx: Ctx) -> str:
    if "/" in value or value in (".", ".."):
        raise Invalid(f"'{value}' must be a single directory name")
    return value


def _environment(value: str, ctx: Ctx) -> tuple[str, str]:
    name, eq, text = value.partition("=")
    if not name:
        raise Invalid(f"'{value}' has no variable name")
    if not eq:
        # a bare NAME passes the caller's value through, like LXC
        if name not in ctx.environ:
            raise Invalid(f"'{name}' is not set in the environment")
        text = ctx.environ[name]
    return name, text


ARCHES = ("arm", "armel", "armhf", "armv7l", "athlon", "i386", "i486", "i586", "i686",
          "linux32", "mips", "mipsel", "ppc", "powerpc", "x86", "aarch64", "amd64", "arm64",
          "linux64", "mips64", "mips64el", "ppc64", "ppc64el", "ppc64le", "powerpc64", "s390x",
          "x86_64")


def _time_offset(value: str, ctx: Ctx) -> str:
    number = value.rstrip("hmsun")
    unit = value[len(number):]
    if unit not in ("h", "m", "s", "ms", "us", "ns") or not _digits(number.removeprefix("-")):
        raise Invalid(f"'{value}' is not a time offset (e.g. 10s, -1h, 500ms)")
    return value


def _byte_size(value: str, ctx: Ctx) -> str:
    number = value.rstrip("bBkKmMgG ")
    unit = value[len(number):].strip().lower()
    if value != "auto" and not (_digits(number) and unit in ("", "b", "k", "kb", "m", "mb",
                                                            "g", "gb")):
        raise Invalid(f"'{value}' is not a size (auto or N[kB|MB|GB])")
    return value


def _unix_socket(value: str, ctx: Ctx) -> str:
    if not value.startswith("unix:") or len(value) == 5:
        raise Invalid(f"'{value}' is not unix:PATH")
    return value


# ---- network values -----------------------------------------------------------------------
NET_TYPES = ("veth", "macvlan", "phys", "vlan", "ipvlan", "empty", "none")
_HEX = "0123456789abcdef"


NO_IPVLAN = "ipvlan is not supported by lxcpy (use macvlan, veth, vlan or phys)"


def _net_type(value: str, ctx: Ctx) -> str:
    value = _choice(*NET_TYPES)(value, ctx)
    if value == "ipvlan":  # refused where it is written, not at the first start
        raise Invalid(NO_IPVLAN)
    return value


def _no_ipvlan(value: str, ctx: Ctx) -> str:
    raise Invalid(NO_IPVLAN)


def _ifname(value: str, ctx: Ctx) -> str:
    # the kernel's dev_valid_name(): at most 15 bytes, not . or .., no / : or blanks
    if len(value.encode("utf-8", "surrogateescape")) > 15:
        raise Invalid(f"interface name '{value}' is too long (at most 15 bytes)")
    if value in (".", "..") or any(c in "/:" or c.isspace() for c in value):
        raise Invalid(f"'{value}' is not a valid interface name")
    return value


def _hwaddr(value: str, ctx: Ctx) -> str:
    octets = value.split(":")
    if len(octets) != 6 or any(len(o) != 2 or o.strip(_HEX + "ABCDEFxX") for o in octets):
        raise Invalid(f"'{value}' is not a MAC address (six hex pairs, x for random digits)")
    if value[1] not in "xX" and int(value[1], 16) & 1:
        raise Invalid(f"'{value}' is a multicast MAC address")
    return value


def randomize_hwaddr(mac: str) -> str:
    """Fill LXC's ``x`` template digits with random hex, keeping the address unicast."""
    noise = os.urandom(len(mac))
    return "".join(
        (_HEX[byte & 0x0E] if i == 1 else _HEX[byte & 0x0F]) if ch in "xX" else ch
        for i, (ch, byte) in enumerate(zip(mac, noise, strict=True))
    )


def _flags(value: str, ctx: Ctx) -> str | None:
    if value not in ("up", "down"):
        raise Invalid(f"'{value}' is not a network flag (only up)")
    return "up" if value == "up" else None  # LXC accepts down silently: not up


def _prefix(text: str, high: int, value: str, family: str) -> int:
    if not _digits(text) or int(text) > high:
        raise Invalid(f"'{value}' is not an {family} address")
    return int(text)


def _ipv4_address(value: str, ctx: Ctx) -> IPv4Address:
    address, _, broadcast = value.partition(" ")
    host, slash, prefix = address.partition("/")
    # no prefix: /24, LXC's documented default (its class-based guess is byte-order buggy)
    length = _prefix(prefix, 32, value, "IPv4") if slash else 24
    import ipaddress

    try:
        interface = ipaddress.IPv4Interface((ipaddress.IPv4Address(host), length))
    except ValueError:
        raise Invalid(f"'{value}' is not an IPv4 address") from None
    bcast = None
    if broadcast.strip():
        try:
            bcast = ipaddress.IPv4Address(broadcast.strip())
        except ValueError:
            raise Invalid(f"'{broadcast.strip()}' is not an IPv4 broadcast address") from None
    return IPv4Address(interface, bcast)


def _ipv6_address(value: str, ctx: Ctx) -> ipaddress.IPv6Interface:
    host, slash, prefix = value.partition("/")
    length = _prefix(prefix, 128, value, "IPv6") if slash else 64
    import ipaddress

    try:
        if "%" in host:  # a scope id makes no sense for a configured address
            raise ValueError(host)
        return ipaddress.IPv6Interface((ipaddress.IPv6Address(host), length))
    except ValueError:
        raise Invalid(f"'{value}' is not an IPv6 address") from None


def _gateway(name: str) -> Parse:
    """``name``: "IPv4" or "IPv6"."""

    def parse(value: str, ctx: Ctx) -> str:
        if value in ("auto", "dev"):
            return value
        import ipaddress

        family = ipaddress.IPv4Address if name == "IPv4" else ipaddress.IPv6Address
        try:
            if "%" in value:
                raise ValueError(value)
            return str(family(value))
        except ValueError:
            raise Invalid(f"'{value}' is not an {name} gateway (an address, auto or dev)") \
                from None

    return parse


def _route(family: str) -> Parse:
    def parse(value: str, ctx: Ctx) -> str:
        import ipaddress

        try:
            if "/" not in value or "%" in value:
                raise ValueError(value)
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise Invalid(f"'{value}' is not an {family} route (ADDRESS/PREFIX)") from None
        if f"IPv{network.version}" != family:
            raise Invalid(f"'{value}' is not an {family} route (ADDRESS/PREFIX)")
        return value

    return parse


def _vlan_id(value: str, ctx: Ctx) -> int:
    return _range(0, 4094)(value, ctx)


def _veth_vlan_id(value: str, ctx: Ctx) -> int | str:
    return value if value == "none" else _range(1, 4094)(value, ctx)


# ---- stores and clears --------------------------------------------------------------------
_DEFAULTS: dict[type, Any] = {}


def _default(obj: Any, attr: str) -> Any:
    """A fresh copy of a model field's default (new list/dict for containers)."""
    kind = type(obj)
    if kind not in _DEFAULTS:
        _DEFAULTS[kind] = NetConfig(index=0) if kind is NetConfig else ContainerConfig()
    value = getattr(_DEFAULTS[kind], attr)
    return type(value)() if isinstance(value, list | dict) else value


# The shared stores and clears act on the row's field (Key.attr, passed in as Ctx.attr):
# one function each, not a closure per row (the table is built at every command's import)
def _set(ctx: Ctx, value: Any) -> None:
    setattr(ctx.target, ctx.attr, value)


def _append(ctx: Ctx, value: Any) -> None:
    getattr(ctx.target, ctx.attr).append(value)


def _extend_unique(ctx: Ctx, value: list[Any]) -> None:
    have = getattr(ctx.target, ctx.attr)
    have.extend(v for v in value if v not in have)


def _reset(ctx: Ctx) -> None:
    setattr(ctx.target, ctx.attr, _default(ctx.target, ctx.attr))


def _store_cap_keep(ctx: Ctx, names: list[str]) -> None:
    for name in names:
        if name == "none":  # LXC: keep nothing, i.e. drop every capability
            ctx.cfg.cap_keep.clear()
        if name not in ctx.cfg.cap_keep:
            ctx.cfg.cap_keep.append(name)


def _auto_kind(token: str) -> str:
    return token.split(":")[0].replace("cgroup-full", "cgroup")


def _store_mount_auto(ctx: Ctx, tokens: list[str]) -> None:
    # one setting per filesystem: a later proc:rw replaces an earlier proc, like LXC's mask
    for token in tokens:
        kind = _auto_kind(token)
        ctx.cfg.mount_auto[:] = [t for t in ctx.cfg.mount_auto if _auto_kind(t) != kind]
        ctx.cfg.mount_auto.append(token)


def _store_cgroup(version: int) -> Store:
    def store(ctx: Ctx, value: str) -> None:
        ctx.cfg.cgroup_settings.append(
            CgroupSetting(version, ctx.suffix or "", value, ctx.entry.origin))

    return store


def _clear_cgroup(version: int) -> Clear:
    def clear(ctx: Ctx) -> None:
        ctx.cfg.cgroup_settings[:] = [
            s for s in ctx.cfg.cgroup_settings
            if s.version != version or (ctx.suffix is not None and s.key != ctx.suffix)]

    return clear


def _store_in(ctx: Ctx, value: str) -> None:
    """``prefix.<name> = value`` into the row's dict field (later lines replace)."""
    getattr(ctx.cfg, ctx.attr)[ctx.suffix or ""] = value


def _clear_in(ctx: Ctx) -> None:
    values = getattr(ctx.cfg, ctx.attr)
    if ctx.suffix is None:
        values.clear()
    else:
        values.pop(ctx.suffix, None)


def _store_hook(ctx: Ctx, value: str) -> None:
    ctx.cfg.hooks.setdefault(ctx.entry.canonical[len("lxc.hook."):], []).append(value)


def _clear_hook(ctx: Ctx) -> None:
    if ctx.entry.canonical == "lxc.hook":
        ctx.cfg.hooks.clear()
    else:
        ctx.cfg.hooks.pop(ctx.entry.canonical[len("lxc.hook."):], None)


def _store_hwaddr(ctx: Ctx, value: str) -> None:
    # LXC fills template digits at every load; lxc-create writes them back once
    mac = randomize_hwaddr(value) if "x" in value.lower() else value
    ctx.target.hwaddr = mac
    if ctx.randomize:
        ctx.entry.value = mac


def _clear_networks(ctx: Ctx) -> None:
    ctx.cfg.networks.clear()
    ctx.cfg.not_acted_on[:] = [e for e in ctx.cfg.not_acted_on
                               if not e.canonical.startswith("lxc.net.")]


# ---- getters (LXC's get_config_item) -------------------------------------------------------
def get_lines(cfg: ContainerConfig, canonical: str, match: Any) -> str:
    """The value in effect, from the lines in effect: a list key's values (a prefix's
    ``key = value`` lines) each end with a newline, as LXC's getters print them."""
    entries = in_effect(cfg)
    if match.bare or canonical == "lxc.hook":
        below = canonical + "."
        return "".join(f"{e.canonical} = {e.value}\n" for e in entries
                       if e.canonical.startswith(below))
    values = [e.value for e in entries if e.canonical == canonical]
    if match.row.repeat:
        return "".join(v + "\n" for v in values)
    return values[-1] if values else default_of(cfg, match)


def default_of(cfg: ContainerConfig, match: Any) -> str:
    """LXC's value of an unset key (DEFAULTS); an interface's only for one of its types."""
    row = match.row
    if row.default and row.name.startswith("lxc.net.<N>."):
        net = next((n for n in cfg.networks if n.index == match.index), None)
        if net is None or (row.only and net.type not in row.only):
            return ""
    return str(row.default)


def config_values(cfg: ContainerConfig, key: str) -> list[str]:
    """Values of ``key`` (today's or legacy spelling) in effect, in file order: a replaced
    or cleared line's value is gone (LXC's rule, ``in_effect``)."""
    want = canonical_key(key)
    return [e.value for e in in_effect(cfg) if e.canonical == want]


def in_effect(cfg: ContainerConfig) -> list[Entry]:
    """The lines of ``cfg.entries`` still in effect, by LXC's rule: a list key's line adds,
    another key's line replaces the earlier ones, an empty value clears the key (a prefix
    such as lxc.cgroup or lxc.net: every key under it)."""
    kept: list[Entry] = []
    for entry in cfg.entries:
        canonical = entry.canonical
        try:
            match = lookup(canonical)
        except Invalid:
            match = None
        if entry.value == "":
            below = canonical + "." if match is None or match.bare or canonical in (
                "lxc.hook", "lxc.net") else None
            kept = [e for e in kept if e.canonical != canonical
                    and not (below and e.canonical.startswith(below))]
            continue
        if match is None or not match.row.repeat:
            kept = [e for e in kept if e.canonical != canonical]
        kept.append(entry)
    return kept


def _get_networks(cfg: ContainerConfig, canonical: str, match: Any) -> str:
    # LXC 5.0.2 (tried): lxc.net lists the interfaces' types, one a line (python3-lxc
    # counts them)
    return "".join(f"{net.type}\n" for net in cfg.networks)


def _get_signal(cfg: ContainerConfig, canonical: str, match: Any) -> str:
    # LXC stores the number and prints it (SIGPWR -> 30); unset: 0, "the default"
    value = get_lines(cfg, canonical, match)
    return str(_signal(value, None) or 0) if value else str(match.row.default)  # type: ignore[arg-type]


def _get_rootfs_path(cfg: ContainerConfig, canonical: str, match: Any) -> str:
    # LXC keeps "TYPE:" apart (rootfs.bdev_type) and prints the rest: dir:/x -> /x,
    # overlay:LOWER:UPPER -> LOWER:UPPER; a path of its own with a ':' kept whole here
    value = get_lines(cfg, canonical, match)
    kind, colon, rest = value.partition(":")
    return rest if colon and "/" not in kind else value


def _get_addresses(cfg: ContainerConfig, canonical: str, match: Any) -> str:
    # LXC: the addresses joined by newlines, none after the last (python3-lxc: one is a
    # string, several a string with newlines)
    return get_lines(cfg, canonical, match).rstrip("\n")


# LXC's get_config_mount_auto: its order (proc, sys, cgroup), one line; a cgroup:*:force,
# cgroup2* or shmounts: token is not printed (its flags match none of LXC's cases)
_AUTO_ORDER = ("proc", "sys", "cgroup")
_AUTO_SHOWN = {"proc": "proc:mixed", "proc:mixed": "proc:mixed", "proc:rw": "proc:rw",
               "sys": "sys:mixed", "sys:ro": "sys:ro", "sys:mixed": "sys:mixed",
               "sys:rw": "sys:rw", "cgroup": "cgroup", "cgroup:mixed": "cgroup:mixed",
               "cgroup:ro": "cgroup:ro", "cgroup:rw": "cgroup:rw", "cgroup-full": "cgroup-full",
               "cgroup-full:mixed": "cgroup-full:mixed", "cgroup-full:ro": "cgroup-full:ro",
               "cgroup-full:rw": "cgroup-full:rw"}


def _get_mount_auto(cfg: ContainerConfig, canonical: str, match: Any) -> str:
    shown = [_AUTO_SHOWN[t] for t in cfg.mount_auto if t in _AUTO_SHOWN]
    return " ".join(sorted(shown, key=lambda t: _AUTO_ORDER.index(t.split(":")[0]
                                                                  .removesuffix("-full"))))


def _get_caps(attr: str) -> Callable[[ContainerConfig, str, Any], str]:
    # LXC: one capability a line, whatever the lines grouped
    def get(cfg: ContainerConfig, canonical: str, match: Any) -> str:
        return "".join(name + "\n" for name in getattr(cfg, attr))

    return get


def _get_hwaddr(cfg: ContainerConfig, canonical: str, match: Any) -> str:
    # the address in use: template digits are filled when the line is read, as in LXC
    net = next((n for n in cfg.networks if n.index == match.index), None)
    return (net.hwaddr or "") if net is not None else ""


# ---- the table ----------------------------------------------------------------------------
def _field(name: str, parse: Parse, attr: str, legacy: tuple[str, ...] = (),
           acted: Callable[[str], bool] | None = None) -> Key:
    """A key stored in one model field; a later line replaces an earlier one."""
    return Key(name, parse, _set, _reset, legacy, acted, attr=attr)


def _list(name: str, parse: Parse, attr: str, legacy: tuple[str, ...] = (),
          store: Store | None = None, acted: Callable[[str], bool] | None = None) -> Key:
    """A key whose every line adds to a list field; an empty value empties it."""
    return Key(name, parse, store or _append, _reset, legacy, acted, repeat=True, attr=attr)


def _later(name: str, parse: Parse, legacy: tuple[str, ...] = (), repeat: bool = False) -> Key:
    """Validated like LXC does, recorded in not_acted_on, not acted on by lxcpy yet."""
    return Key(name, parse, legacy=legacy, repeat=repeat)


def _only(*values: str) -> Callable[[str], bool]:
    """Per-value acted: these values need nothing done (LXC's default); others are refused."""
    return lambda value: value in values


def _value_only(name: str, parse: Parse, *values: str) -> Key:
    """A key lxcpy acts on only for ``values`` (what it does anyway); others refuse a start."""
    return Key(name, parse, _done_by_parser, acted=_only(*values))


def _net(sub: str, parse: Parse, attr: str | None = None, only: tuple[str, ...] = (),
         legacy: str | None = None, repeat: bool = False,
         acted: Callable[[str], bool] | None = None) -> Key:
    """``lxc.net.<N>.sub``; ``attr`` None: not acted on; ``legacy``: a 2008 sub-name."""
    store = (_append if repeat else _set) if attr else None
    return Key(f"lxc.net.<N>.{sub}", parse, store, _reset if attr else None,
               (f"lxc.network.<N>.{legacy}",) if legacy else (), acted, only, repeat, attr or "")


def _never(value: str) -> bool:
    return False


def _done_by_parser(ctx: Ctx, value: Any) -> None:
    """lxc.include (the parser reads the file) and the clear-only keys lxc.net, lxc.hook."""


_HOOKS_ACTED = ("pre-start", "pre-mount", "mount", "autodev", "start", "stop", "post-stop")
_HOOKS_LATER = ("destroy", "start-host")

KEYS: tuple[Key, ...] = (
    # general
    Key("lxc.include", _text, _done_by_parser),
    _field("lxc.uts.name", _uts_name, "uts_name", ("lxc.utsname",)),
    _field("lxc.arch", _choice(*ARCHES), "arch"),
    _list("lxc.environment", _environment, "environment"),
    _field("lxc.no_new_privs", _bool, "no_new_privs"),
    _field("lxc.ephemeral", _bool, "ephemeral"),
    _field("lxc.keyring.session", _bool, "keyring_session"),
    _value_only("lxc.sched.core", _bool, "0"),
    _field("lxc.time.offset.boot", _time_offset, "time_offset_boot"),
    _field("lxc.time.offset.monotonic", _time_offset, "time_offset_monotonic"),
    Key("lxc.proc.<file>", _proc_file, _store_in, _clear_in, attr="proc"),
    Key("lxc.sysctl.<key>", _sysctl, _store_in, _clear_in, attr="sysctls"),
    Key("lxc.prlimit.<resource>", _prlimit, _store_in, _clear_in, ("lxc.limit.<resource>",),
        attr="prlimits"),
    # init and execute
    _field("lxc.init.cmd", _shell_words, "init_cmd", ("lxc.init_cmd",)),
    _field("lxc.init.cwd", _text, "init_cwd"),
    _field("lxc.init.uid", _id, "init_uid", ("lxc.init_uid",)),
    _field("lxc.init.gid", _id, "init_gid", ("lxc.init_gid",)),
    Key("lxc.init.groups", _gids, _extend_unique, _reset, repeat=True, attr="init_groups"),
    _field("lxc.execute.cmd", _shell_words, "execute_cmd"),
    # signals
    _field("lxc.signal.halt", _signal, "signal_halt", ("lxc.haltsignal",)),
    _field("lxc.signal.reboot", _signal, "signal_reboot", ("lxc.rebootsignal",)),
    _field("lxc.signal.stop", _signal, "signal_stop", ("lxc.stopsignal",)),
    # network: lxc.net (empty) clears every interface; per-interface keys below
    Key("lxc.net", _no_value, _done_by_parser, _clear_networks, ("lxc.network",)),
    _net("type", _net_type, "type"),  # net/host.py TYPES: all but ipvlan (refused here)
    _net("flags", _flags, "flags"),
    _net("link", _ifname, "link"),
    _net("name", _ifname, "name"),
    Key("lxc.net.<N>.hwaddr", _hwaddr, _store_hwaddr, _reset, attr="hwaddr"),
    _net("mtu", _range(68, 65535), "mtu"),
    _net("ipv4.address", _ipv4_address, "ipv4", legacy="ipv4", repeat=True),
    _net("ipv4.gateway", _gateway("IPv4"), "ipv4_gateway"),
    _net("ipv6.address", _ipv6_address, "ipv6", legacy="ipv6", repeat=True),
    _net("ipv6.gateway", _gateway("IPv6"), "ipv6_gateway"),
    _net("script.up", _text, "script_up"),
    _net("script.down", _text, "script_down"),
    _net("veth.pair", _ifname, "veth_pair", only=("veth",)),
    _net("veth.mode", _choice("bridge", "router"), "veth_mode", only=("veth",)),
    _net("veth.ipv4.route", _route("IPv4"), only=("veth",), repeat=True),
    _net("veth.ipv6.route", _route("IPv6"), only=("veth",), repeat=True),
    _net("veth.vlan.id", _veth_vlan_id, only=("veth",)),
    _net("veth.vlan.tagged.id", _range(1, 4094), only=("veth",), repeat=True),
    _net("veth.n_rxqueues", _uint, only=("veth",)),
    _net("veth.n_txqueues", _uint, only=("veth",)),
    _net("macvlan.mode", _choice("private", "vepa", "bridge", "passthru"), "macvlan_mode",
         only=("macvlan",)),
    _net("ipvlan.mode", _no_ipvlan, only=("ipvlan",)),  # LXC: l3, l3s, l2
    _net("ipvlan.isolation", _no_ipvlan, only=("ipvlan",)),  # LXC: bridge, private, vepa
    _net("vlan.id", _vlan_id, "vlan_id", only=("vlan",)),
    _net("l2proxy", _bool, "l2proxy", acted=_only("0")),
    # console and ttys
    _field("lxc.console.path", _text, "console_path", ("lxc.console",)),
    _field("lxc.console.logfile", _text, "console_logfile"),
    _later("lxc.console.rotate", _bool),
    _later("lxc.console.buffer.size", _byte_size),
    _later("lxc.console.size", _byte_size),
    _field("lxc.tty.max", _uint, "tty_max", ("lxc.tty",)),
    _field("lxc.tty.dir", _single_dir, "tty_dir", ("lxc.devttydir",)),
    _field("lxc.pty.max", _uint, "pty_max", ("lxc.pts",)),
    # devices
    _field("lxc.autodev", _bool, "autodev"),
    _field("lxc.autodev.tmpfs.size", _uint, "autodev_tmpfs_size"),
    # root filesystem and mounts
    Key("lxc.rootfs.path", _rootfs_path, _store_rootfs, _clear_rootfs, ("lxc.rootfs",)),
    _field("lxc.rootfs.mount", _text, "rootfs_mount"),
    _field("lxc.rootfs.options", _text, "rootfs_options"),
    _value_only("lxc.rootfs.managed", _bool, "1"),
    _value_only("lxc.rootfs.backend", _text, "dir", ""),  # deleted by lxc-update-config
    Key("lxc.pivotdir", _text, _done_by_parser),  # LXC ignores it since 2.0 (pivot_root(".", "."))
    _value_only("lxc.kmsg", _bool, "0"),
    _field("lxc.chroot", _text, "chroot"),  # the seed's key; LXC never had it again
    _field("lxc.mount.fstab", _path_from_config, "fstab", ("lxc.mount",)),
    _list("lxc.mount.entry", _mount_entry, "mount_entries"),
    Key("lxc.mount.auto", _mount_auto, _store_mount_auto, _reset, repeat=True,
        acted=lambda v: "shmounts:" not in v, attr="mount_auto"),
    # cgroups
    _field("lxc.cgroup.driver", _choice("auto", "v1", "v2"), "cgroup_driver"),  # lxcpy's own
    _field("lxc.cgroup.dir", _cgroup_dir, "cgroup_dir"),
    _field("lxc.cgroup.dir.container", _cgroup_dir, "cgroup_dir_container"),
    _field("lxc.cgroup.dir.container.inner", _single_dir, "cgroup_dir_container_inner"),
    _field("lxc.cgroup.dir.monitor", _cgroup_dir, "cgroup_dir_monitor"),
    _field("lxc.cgroup.dir.monitor.pivot", _cgroup_dir, "cgroup_dir_monitor_pivot"),
    _field("lxc.cgroup.relative", _bool, "cgroup_relative"),
    Key("lxc.cgroup.<file>", _cgroup_file, _store_cgroup(1), _clear_cgroup(1), repeat=True),
    Key("lxc.cgroup2.<file>", _cgroup_file, _store_cgroup(2), _clear_cgroup(2), repeat=True),
    # capabilities and namespaces
    Key("lxc.cap.drop", _caps(False), _extend_unique, _reset, repeat=True, attr="cap_drop"),
    Key("lxc.cap.keep", _caps(True), _store_cap_keep, _reset, repeat=True, attr="cap_keep"),
    Key("lxc.namespace.clone", _namespaces, _extend_unique, _reset, repeat=True,
        attr="namespace_clone"),
    Key("lxc.namespace.keep", _namespaces, _extend_unique, _reset, repeat=True,
        attr="namespace_keep"),
    Key("lxc.namespace.share.<namespace>", _namespace_share, _store_in, _clear_in,
        attr="namespace_share"),
    _list("lxc.idmap", _idmap, "idmaps", ("lxc.id_map",)),
    # security modules
    _later("lxc.apparmor.profile", _text, ("lxc.aa_profile",)),
    _later("lxc.apparmor.allow_incomplete", _bool, ("lxc.aa_allow_incomplete",)),
    _later("lxc.apparmor.allow_nesting", _bool),
    _later("lxc.apparmor.raw", _text, repeat=True),
    _later("lxc.selinux.context", _text, ("lxc.se_context",)),
    _later("lxc.selinux.context.keyring", _text),
    _field("lxc.seccomp.profile", _seccomp_profile, "seccomp", ("lxc.seccomp",)),
    _field("lxc.seccomp.allow_nesting", _bool, "seccomp_allow_nesting"),
    _later("lxc.seccomp.notify.proxy", _unix_socket),
    _later("lxc.seccomp.notify.cookie", _text),
    # hooks
    *(Key(f"lxc.hook.{hook}", _text, _store_hook, _clear_hook, repeat=True)
      for hook in _HOOKS_ACTED),
    *(_later(f"lxc.hook.{hook}", _text, repeat=True) for hook in _HOOKS_LATER),
    # LXC runs it in lxc-copy only, which lxcpy lacks: stored, nothing to do at start
    Key("lxc.hook.clone", _text, _store_hook, _clear_hook, repeat=True),
    Key("lxc.hook", _no_value, _done_by_parser, _clear_hook),
    _field("lxc.hook.version", _range(0, 1), "hook_version"),
    # monitor and autostart
    _value_only("lxc.monitor.unshare", _uint, "0"),
    # the init's parent-death signal: SIGKILL (LXC's default) is what lxcpy always sets
    Key("lxc.monitor.signal.pdeath", _signal, _done_by_parser,
        acted=lambda v: v.upper().removeprefix("SIG") in ("KILL", "9", "0")),
    _field("lxc.start.auto", _bool, "start_auto"),
    _field("lxc.start.delay", _uint, "start_delay"),
    _field("lxc.start.order", _int, "start_order"),
    _list("lxc.group", _words, "groups", store=_extend_unique),
    # logging
    _field("lxc.log.file", _text, "log_file", ("lxc.logfile",)),
    _field("lxc.log.level", _log_level, "log_level", ("lxc.loglevel",)),
    _later("lxc.log.syslog", _choice("daemon", *(f"local{i}" for i in range(8))),
           ("lxc.syslog",)),
)

# rows never acted on; a few more are not acted on for some values (Key.acted)
KEYS_NOT_ACTED_ON: frozenset[str] = frozenset(
    k.name for k in KEYS if k.store is None or k.acted is _never)

# ---- who acts on each row (LXC's confile.c: one row, and the code that applies it) -------
# "module:attr[.attr]" names the function acting on the stored value (a unit test imports
# each); REFUSED rows (and refused values of the others) stop a start with one line;
# WARNED rows are LXC's security modules, ignored with a warning when the module is off;
# "stored: why" rows need nothing at start, in LXC either.
REFUSED = "refused"
WARNED = "warned"
_CHILD = "lxcpy.runtime.child:"
_PROCESS = "lxcpy.runtime.process:"
_NS = "lxcpy.runtime.namespaces:"
_SUP = "lxcpy.runtime.supervisor:Supervisor."
_NET_SETUP = "lxcpy.net:host_setup"
_MOUNTS = "lxcpy.rootfs.mounts:"
_AUTOSTART = "stored: read by lxc-autostart (lxcpy.cli.autostart); lxc-start ignores it too"
APPLIED_BY: dict[str, str] = {
    "lxc.include": "lxcpy.config.parser:parse_file",
    "lxc.uts.name": _CHILD + "_setup",
    "lxc.arch": _PROCESS + "set_personality",
    "lxc.environment": _CHILD + "build_env",
    "lxc.no_new_privs": _CHILD + "_drop_privileges",
    "lxc.ephemeral": "lxcpy.container:Container.start",  # destroyed when it stops
    "lxc.keyring.session": _PROCESS + "new_session_keyring",
    "lxc.sched.core": REFUSED,  # 0 only
    "lxc.time.offset.boot": _NS + "write_time_offsets",
    "lxc.time.offset.monotonic": _NS + "write_time_offsets",
    "lxc.proc.<file>": _PROCESS + "write_proc",
    "lxc.sysctl.<key>": _NS + "write_sysctls",
    "lxc.prlimit.<resource>": _PROCESS + "set_prlimits",
    "lxc.init.cmd": "lxcpy.container:Container.start",
    "lxc.init.cwd": _CHILD + "_setup",
    "lxc.init.uid": _CHILD + "_drop_privileges",
    "lxc.init.gid": _CHILD + "_drop_privileges",
    "lxc.init.groups": _CHILD + "_drop_privileges",
    "lxc.execute.cmd": "lxcpy.container:Container.execute",
    "lxc.signal.halt": _SUP + "_halt_signal",
    "lxc.signal.reboot": "lxcpy.container:Container.reboot",
    "lxc.signal.stop": _SUP + "_kill_everything",
    "lxc.net": "lxcpy.config.keys:_clear_networks",
    "lxc.net.<N>.type": _NET_SETUP,  # ipvlan: refused by the parser
    "lxc.net.<N>.flags": "lxcpy.net:inside_setup",
    "lxc.net.<N>.link": _NET_SETUP,
    "lxc.net.<N>.name": "lxcpy.net:inside_setup",
    "lxc.net.<N>.hwaddr": "lxcpy.net:inside_setup",
    "lxc.net.<N>.mtu": _NET_SETUP,
    "lxc.net.<N>.ipv4.address": "lxcpy.net:inside_setup",
    "lxc.net.<N>.ipv4.gateway": "lxcpy.net:inside_setup",
    "lxc.net.<N>.ipv6.address": "lxcpy.net:inside_setup",
    "lxc.net.<N>.ipv6.gateway": "lxcpy.net:inside_setup",
    "lxc.net.<N>.script.up": "lxcpy.net:run_scripts",
    "lxc.net.<N>.script.down": "lxcpy.net:run_scripts",
    "lxc.net.<N>.veth.pair": _NET_SETUP,
    "lxc.net.<N>.veth.mode": _NET_SETUP,
    "lxc.net.<N>.veth.ipv4.route": REFUSED,
    "lxc.net.<N>.veth.ipv6.route": REFUSED,
    "lxc.net.<N>.veth.vlan.id": REFUSED,
    "lxc.net.<N>.veth.vlan.tagged.id": REFUSED,
    "lxc.net.<N>.veth.n_rxqueues": REFUSED,
    "lxc.net.<N>.veth.n_txqueues": REFUSED,
    "lxc.net.<N>.macvlan.mode": _NET_SETUP,
    "lxc.net.<N>.ipvlan.mode": REFUSED,
    "lxc.net.<N>.ipvlan.isolation": REFUSED,
    "lxc.net.<N>.vlan.id": _NET_SETUP,
    "lxc.net.<N>.l2proxy": REFUSED,  # 0 only
    "lxc.console.path": "lxcpy.runtime.console:prepare_console",
    "lxc.console.logfile": "lxcpy.runtime.console:prepare_console",
    "lxc.console.rotate": REFUSED,
    "lxc.console.buffer.size": REFUSED,
    "lxc.console.size": REFUSED,
    "lxc.tty.max": "lxcpy.runtime.console:prepare_console",
    "lxc.tty.dir": "lxcpy.rootfs.dev:apply_tty_dir",
    "lxc.pty.max": "lxcpy.rootfs.dev:mount_devpts",
    "lxc.autodev": "lxcpy.rootfs.dev:setup_autodev",
    "lxc.autodev.tmpfs.size": "lxcpy.rootfs.dev:setup_autodev",
    "lxc.rootfs.path": _MOUNTS + "setup_rootfs",  # a store is mounted by lxcpy.storage
    "lxc.rootfs.mount": "lxcpy.config.keys:check_start",  # only LXC's default staging path
    "lxc.rootfs.options": _MOUNTS + "setup_rootfs",
    "lxc.rootfs.managed": REFUSED,  # 1 only
    "lxc.rootfs.backend": REFUSED,  # dir only
    "lxc.pivotdir": "stored: ignored by LXC since 2.0 (pivot_root without a put-old dir)",
    "lxc.kmsg": REFUSED,  # 0 only
    "lxc.chroot": _MOUNTS + "setup_rootfs",
    "lxc.mount.fstab": _MOUNTS + "setup_mounts",
    "lxc.mount.entry": _MOUNTS + "setup_mounts",
    "lxc.mount.auto": _MOUNTS + "mount_auto",  # shmounts: refused (Key.acted)
    "lxc.cgroup.driver": _SUP + "_setup_cgroup",
    "lxc.cgroup.dir": _SUP + "_setup_cgroup",
    "lxc.cgroup.dir.container": _SUP + "_setup_cgroup",  # with .monitor (check_start)
    "lxc.cgroup.dir.container.inner": _SUP + "_setup_cgroup",
    "lxc.cgroup.dir.monitor": _SUP + "_setup_cgroup",
    "lxc.cgroup.dir.monitor.pivot": _SUP + "_leave_monitor",
    "lxc.cgroup.relative": _SUP + "_setup_cgroup",
    "lxc.cgroup.<file>": _SUP + "_setup_cgroup",
    "lxc.cgroup2.<file>": _SUP + "_setup_cgroup",
    "lxc.cap.drop": _CHILD + "_drop_privileges",
    "lxc.cap.keep": _CHILD + "_drop_privileges",
    "lxc.namespace.clone": _NS + "clone_flags",
    "lxc.namespace.keep": _NS + "clone_flags",
    "lxc.namespace.share.<namespace>": _NS + "join_namespaces",
    "lxc.idmap": "lxcpy.runtime.userns:write_maps",  # validated by userns.validate
    "lxc.apparmor.profile": WARNED,
    "lxc.apparmor.allow_incomplete": WARNED,
    "lxc.apparmor.allow_nesting": WARNED,
    "lxc.apparmor.raw": WARNED,
    "lxc.selinux.context": WARNED,
    "lxc.selinux.context.keyring": WARNED,
    "lxc.seccomp.profile": "lxcpy.kernel.seccomp:load",
    "lxc.seccomp.allow_nesting": "lxcpy.runtime.confine:prepare_seccomp",
    "lxc.seccomp.notify.proxy": REFUSED,
    "lxc.seccomp.notify.cookie": REFUSED,
    **{f"lxc.hook.{hook}": _CHILD + "run_hooks"
       for hook in ("pre-mount", "mount", "autodev", "start")},
    **{f"lxc.hook.{hook}": _SUP + "_host_hooks" for hook in ("pre-start", "stop", "post-stop")},
    "lxc.hook.clone": "lxcpy.storage.clone:run_clone_hooks",  # lxc-copy, lxc-snapshot
    "lxc.hook.destroy": REFUSED,
    "lxc.hook.start-host": REFUSED,
    "lxc.hook": "lxcpy.config.keys:_clear_hook",
    "lxc.hook.version": "lxcpy.runtime.hooks:run_hook",
    "lxc.monitor.unshare": REFUSED,  # 0 only
    "lxc.monitor.signal.pdeath": REFUSED,  # SIGKILL only (runtime.child._setup sets it)
    "lxc.start.auto": _AUTOSTART,
    "lxc.start.delay": _AUTOSTART,
    "lxc.start.order": _AUTOSTART,
    "lxc.group": _AUTOSTART,
    "lxc.log.file": "lxcpy.log:configure_from_config",
    "lxc.log.level": "lxcpy.log:configure_from_config",
    "lxc.log.syslog": REFUSED,
}
# What LXC 5.0.2's lxc-info -c prints for a key the config leaves unset (tried), where
# that is also what lxcpy does without the key. Left out, as lxcpy differs: lxc.autodev
# (LXC 1, lxcpy 0), lxc.rootfs.mount (LXC's compiled-in directory, lxcpy mounts none),
# lxc.keyring.session (LXC prints its inverted "disable" flag: 0 for a session keyring)
DEFAULTS: dict[str, str] = {
    **{key: "0" for key in (
        "lxc.apparmor.allow_incomplete", "lxc.apparmor.allow_nesting",
        "lxc.autodev.tmpfs.size", "lxc.cgroup.relative", "lxc.console.buffer.size",
        "lxc.console.rotate", "lxc.console.size", "lxc.ephemeral", "lxc.hook.version",
        "lxc.init.uid", "lxc.init.gid", "lxc.monitor.unshare", "lxc.no_new_privs",
        "lxc.pty.max", "lxc.sched.core", "lxc.seccomp.allow_nesting", "lxc.signal.halt",
        "lxc.signal.reboot", "lxc.signal.stop", "lxc.start.auto", "lxc.start.delay",
        "lxc.start.order", "lxc.tty.max", "lxc.net.<N>.l2proxy",
        "lxc.net.<N>.veth.vlan.id")},
    **{key: "(null)" for key in (  # C's printf of a NULL string
        "lxc.cgroup.dir", "lxc.cgroup.dir.container", "lxc.cgroup.dir.container.inner",
        "lxc.cgroup.dir.monitor", "lxc.cgroup.dir.monitor.pivot",
        "lxc.namespace.share.<namespace>")},
    "lxc.log.level": "NOTSET",
    "lxc.monitor.signal.pdeath": "9",  # SIGKILL: lxcpy's too (runtime.child)
    "lxc.rootfs.managed": "1",
    "lxc.net.<N>.veth.mode": "bridge",
    "lxc.time.offset.boot": "0 ns\n",  # sic: LXC's two formats
    "lxc.time.offset.monotonic": "0ns\n",
}
# LXC's get for the keys whose value is not their lines' (Key.get; the others: get_lines)
_GETTERS: dict[str, Callable[[ContainerConfig, str, Any], str]] = {
    "lxc.net": _get_networks,
    "lxc.net.<N>.hwaddr": _get_hwaddr,
    "lxc.cap.drop": _get_caps("cap_drop"),
    "lxc.cap.keep": _get_caps("cap_keep"),
    **dict.fromkeys(("lxc.signal.halt", "lxc.signal.reboot", "lxc.signal.stop",
                     "lxc.monitor.signal.pdeath"), _get_signal),
    "lxc.rootfs.path": _get_rootfs_path,
    **dict.fromkeys(("lxc.net.<N>.ipv4.address", "lxc.net.<N>.ipv6.address"), _get_addresses),
    "lxc.mount.auto": _get_mount_auto,
}

# where a security module is on, its keys are refused: lxcpy loads no profiles
_LSM_ON = {"lxc.apparmor.": ("AppArmor", "/sys/module/apparmor/parameters/enabled"),
           "lxc.selinux.": ("SELinux", "/sys/fs/selinux/enforce")}
# LXC's compiled-in default (Debian: /usr/lib/x86_64-linux-gnu/lxc; upstream $libdir/lxc/rootfs)
_ROOTFS_MOUNTS = ("/usr/lib/x86_64-linux-gnu/lxc", "/usr/lib/lxc/rootfs", "/usr/lib/lxc",
                  "/usr/lib64/lxc/rootfs", "/usr/local/lib/lxc/rootfs")


def _lsm_enabled(flag: str) -> bool:
    try:
        with open(flag) as f:
            return f.read().strip() not in ("N", "")
    except OSError:
        return False


def check_start(cfg: ContainerConfig) -> list[str]:
    """Before a start makes anything: refuse what lxcpy would not act on, return warnings.

    Every entry of ``cfg.not_acted_on`` is refused with one line naming file:line and key,
    except a security module's keys where that module is off (LXC ignores them then, with a
    warning). Raises :class:`lxcpy.errors.LxcError`.
    """
    from lxcpy.errors import LxcError

    warnings = []
    for entry in cfg.not_acted_on:
        match = lookup(entry.canonical)
        if match is not None and match.row.applied_by == WARNED:
            module, flag = next(v for p, v in _LSM_ON.items() if entry.canonical.startswith(p))
            if not _lsm_enabled(flag):
                warnings.append(f"{entry.origin}: {entry.key}: {module} is not enabled on this "
                                "host: ignored, as LXC does")
                continue
            raise LxcError(f"{entry.origin}: {entry.key}: {module} profiles are not supported "
                           "by lxcpy (refusing to start unconfined)")
        raise LxcError(f"{entry.origin}: {entry.key} = {entry.value}: not supported by lxcpy "
                       "(refusing to start rather than ignore it)")
    _check_cgroup_dirs(cfg)
    if cfg.rootfs_mount and os.path.normpath(cfg.rootfs_mount) not in _ROOTFS_MOUNTS:
        raise LxcError(f"{_origin(cfg, 'lxc.rootfs.mount')}: lxc.rootfs.mount: lxcpy stages the "
                       "rootfs on its own path in the container's mount namespace; only LXC's "
                       "default is accepted")
    store = cfg.rootfs_store or ""
    if cfg.idmaps and store.startswith(("overlay:", "loop:")):
        kind = store.split(":")[0]
        raise LxcError(f"{_origin(cfg, 'lxc.rootfs.path')}: lxc.rootfs.path: an {kind} store "
                       "is not supported with lxc.idmap (its mount needs the host's root)")
    return warnings


def _check_cgroup_dirs(cfg: ContainerConfig) -> None:
    """LXC's check_cgroup_dir_config: lxc.cgroup.dir.container and .monitor go together,
    and never with lxc.cgroup.dir; .container.inner needs .container."""
    from lxcpy.errors import LxcError

    container, monitor = cfg.cgroup_dir_container, cfg.cgroup_dir_monitor
    if not (container or monitor or cfg.cgroup_dir_container_inner):
        return
    if cfg.cgroup_dir:
        key = "lxc.cgroup.dir.container" if container else (
            "lxc.cgroup.dir.monitor" if monitor else "lxc.cgroup.dir.container.inner")
        raise LxcError(f"{origin_of(cfg, key)}: conflicts with lxc.cgroup.dir "
                       f"({_origin(cfg, 'lxc.cgroup.dir')}): use one or the other")
    if not container or not monitor:
        key = ("lxc.cgroup.dir.container.inner" if not container and not monitor
               else "lxc.cgroup.dir.container" if container else "lxc.cgroup.dir.monitor")
        raise LxcError(f"{origin_of(cfg, key)}: lxc.cgroup.dir.container and "
                       "lxc.cgroup.dir.monitor must both be set")
    inner, outer = sorted((container.strip("/") + "/", monitor.strip("/") + "/"), key=len)
    if outer.startswith(inner):  # the supervisor would sit in the container's tree, or over it
        raise LxcError(f"{origin_of(cfg, 'lxc.cgroup.dir.monitor')}: the monitor's cgroup "
                       "and the container's must not be one inside the other")


def _origin(cfg: ContainerConfig, canonical: str) -> str:
    """file:line of the line that last set ``canonical`` (for one-line start errors)."""
    for entry in reversed(cfg.entries):
        if entry.canonical == canonical:
            return str(entry.origin)
    return "config"


def origin_of(cfg: ContainerConfig, canonical: str) -> str:
    """``file:line: key`` of the line that last set ``canonical``."""
    return f"{_origin(cfg, canonical)}: {canonical}"


# ---- lookup -------------------------------------------------------------------------------
class Match:
    """A key line resolved against the table."""

    __slots__ = ("row", "canonical", "suffix", "bare", "index", "sub")

    def __init__(self, row: Key, canonical: str | None, suffix: str | None = None,
                 bare: bool = False, index: int | None = None, sub: str | None = None) -> None:
        self.row = row
        self.canonical = canonical  # None for an un-indexed 2008 network key: the parser knows N
        self.suffix = suffix  # the <name> part of a pattern key
        self.bare = bare  # a pattern's bare prefix (lxc.cgroup): only an empty value
        self.index = index  # network index, when the key gives one
        self.sub = sub  # network subkey in today's spelling (ipv4.address)


_EXACT: dict[str, tuple[Key, str]] = {}  # spelling -> row, today's spelling
_PREFIXES: list[tuple[str, Key, str]] = []  # "lxc.limit." -> row, "lxc.prlimit."
NET_KEYS: dict[str, Key] = {}  # today's network subkey -> row
_NET_LEGACY: dict[str, str] = {}  # 2008 network subkey -> today's


def _index_table() -> None:
    for row in KEYS:
        name = row.name
        if "<" not in name:  # most rows: the name and its legacy spellings, as they are
            _EXACT[name] = hit = (row, name)
            for old in row.legacy:
                _EXACT[old] = hit
        elif name.startswith("lxc.net.<N>."):
            sub = name[12:]  # len("lxc.net.<N>.")
            NET_KEYS[sub] = row
            for old in row.legacy:
                _NET_LEGACY[old[16:]] = sub  # len("lxc.network.<N>.")
        else:
            today = name[:name.index("<")]
            for spelling in (name, *row.legacy):
                prefix = spelling[:spelling.index("<")]
                _PREFIXES.append((prefix, row, today))
                _EXACT.setdefault(prefix[:-1], (row, today[:-1]))


_index_table()


def lookup(key: str) -> Match | None:
    """Resolve a key as written; None if unknown; Invalid for a non-numeric network index."""
    hit = _EXACT.get(key)
    if hit is not None:
        row, today = hit
        return Match(row, today, bare="<" in row.name)
    if key.startswith("lxc.net."):
        return _net_match(key[len("lxc.net."):], legacy=False)
    if key.startswith("lxc.network."):
        return _net_match(key[len("lxc.network."):], legacy=True)
    for prefix, row, today in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            suffix = key[len(prefix):]
            return Match(row, today + suffix, suffix)
    return None


def _net_match(rest: str, legacy: bool) -> Match | None:
    head, dot, sub = rest.partition(".")
    if legacy and not head[:1].isdigit():  # 2008 form: lxc.network.link applies to the last
        sub = _NET_LEGACY.get(rest, rest)
        row = NET_KEYS.get(sub)
        return Match(row, None, sub=sub) if row else None
    if not _digits(head):
        raise Invalid(f"'{head}' is not a network index")
    index = int(head)
    if index > 0x7FFFFFFF:
        raise Invalid(f"network index {head} is too large")
    if legacy:
        sub = _NET_LEGACY.get(sub, sub)
    row = NET_KEYS.get(sub) if dot else None
    return Match(row, f"lxc.net.{index}.{sub}", index=index, sub=sub) if row else None


def canonical_key(key: str) -> str:
    """Today's spelling of a key (``lxc.utsname`` -> ``lxc.uts.name``).

    Un-indexed 2008 network keys (``lxc.network.ipv4``) need the file's context: they come
    back unchanged, and the parser records their indexed spelling in ``Entry.canonical``.
    """
    try:
        match = lookup(key)
    except Invalid:
        return key
    return match.canonical if match is not None and match.canonical else key


__all__ = ["APPLIED_BY", "CAPABILITIES", "KEYS", "KEYS_NOT_ACTED_ON", "NET_KEYS", "REFUSED",
           "WARNED", "Ctx", "Invalid", "Key", "Match", "canonical_key", "check_start", "lookup",
           "mount_entry", "origin_of", "parse_prlimit", "randomize_hwaddr"]
