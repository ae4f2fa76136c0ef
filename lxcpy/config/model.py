"""The typed model of a container's config: what the rest of lxcpy reads.

The parser (``parser.py``) fills it from ``lxc.*`` lines through the key table
(``keys.py``); legacy 2008 keys and today's keys land in the same fields.
"""

from __future__ import annotations

from lxcpy._record import dataclass, field

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:  # annotations only: a config without addresses never imports ipaddress
    import ipaddress
    from typing import Any

    from lxcpy.config.seccomp import Policy


@dataclass(frozen=True)
class Origin:
    """Where a value came from: file and line (line 0 for a ``-s KEY=VALUE`` override)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Entry:
    """One ``key = value`` line as written (after include expansion), in file order."""

    key: str  # the key as written (legacy spelling kept)
    canonical: str  # today's spelling, e.g. lxc.net.0.ipv4.address
    value: str
    origin: Origin


@dataclass
class IPv4Address:
    """lxc.net.N.ipv4.address: an address with its prefix, and a broadcast."""

    interface: ipaddress.IPv4Interface  # address with prefix (/24 when the config gives none)
    broadcast: ipaddress.IPv4Address | None = None


@dataclass
class NetConfig:
    """One network interface: ``lxc.net.N.*`` or one ``lxc.network.type`` block."""

    index: int
    type: str | None = None  # veth, macvlan, phys, empty, none, vlan
    flags: str | None = None  # "up" or None
    link: str | None = None
    name: str | None = None
    hwaddr: str | None = None  # already randomised if it had xx digits
    mtu: int | None = None
    ipv4: list[IPv4Address] = field(default_factory=list)
    ipv4_gateway: str | None = None  # an address, "auto" or "dev"
    ipv6: list[ipaddress.IPv6Interface] = field(default_factory=list)
    ipv6_gateway: str | None = None
    veth_pair: str | None = None
    veth_mode: str | None = None  # bridge, router
    macvlan_mode: str | None = None  # private (default), vepa, bridge, passthru
    vlan_id: int | None = None
    l2proxy: bool = False
    script_up: str | None = None
    script_down: str | None = None
    origin: Origin | None = None  # where the interface was opened
    # subkey (e.g. "link", "ipv4.address") -> the line that last set it, for error messages
    origins: dict[str, Origin] = field(default_factory=dict)

    @property
    def up(self) -> bool:
        return self.flags == "up"


@dataclass
class MountEntry:
    """One fstab-format line: ``lxc.mount.entry`` or a line of ``lxc.mount.fstab``."""

    source: str
    target: str
    fstype: str
    options: str = "defaults"
    dump: int = 0
    passno: int = 0
    origin: Origin | None = None

    @property
    def option_list(self) -> list[str]:
        return [o for o in self.options.split(",") if o]


@dataclass
class IdMap:
    """One lxc.idmap line."""

    kind: str  # "u" or "g"
    nsid: int
    hostid: int
    range: int
    origin: Origin | None = field(default=None, compare=False)  # for error messages


@dataclass
class CgroupSetting:
    """``lxc.cgroup.<file> = value`` (version 1) or ``lxc.cgroup2.<file> = value`` (2)."""

    version: int
    key: str  # e.g. memory.limit_in_bytes
    value: str
    origin: Origin | None = None

    @property
    def controller(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def config_key(self) -> str:
        return f"lxc.cgroup{'2' if self.version == 2 else ''}.{self.key}"


@dataclass
class ContainerConfig:
    """Everything a container's config says, in the form the runtime uses."""

    path: str | None = None  # the config file, if any
    entries: list[Entry] = field(default_factory=list)  # every line read, includes expanded
    # the file as written (LXC's unexpanded config): (raw line, its Entry or None for a
    # comment, the value it was read with); blank lines dropped, includes not expanded.
    # parser.to_text writes it back; set_item/clear_item edit it
    lines: list[tuple[str, Entry | None, str]] = field(default_factory=list)

    uts_name: str | None = None
    arch: str | None = None

    # root filesystem: lxc.rootfs.path (pivot_root) or legacy lxc.chroot (chroot)
    rootfs_path: str | None = None  # where the rootfs appears (a dir:, or a store's mount point)
    rootfs_store: str | None = None  # lxc.rootfs.path of an overlay:, btrfs: or loop: store
    rootfs_mount: str | None = None
    rootfs_options: str | None = None
    chroot: str | None = None

    # mounts
    fstab: str | None = None  # absolute path (relative ones resolved against the config's dir)
    mount_entries: list[MountEntry] = field(default_factory=list)
    mount_auto: list[str] = field(default_factory=list)  # e.g. ["proc:mixed", "sys:ro"]

    networks: list[NetConfig] = field(default_factory=list)  # sorted by index
    network_keys_present: bool = False  # any lxc.net*/lxc.network* key

    cgroup_settings: list[CgroupSetting] = field(default_factory=list)
    cgroup_driver: str = "auto"  # lxc.cgroup.driver: auto, v1, v2 (lxcpy's own key)
    cgroup_dir: str | None = None
    cgroup_dir_container: str | None = None  # lxc.cgroup.dir.container (exact path)
    cgroup_dir_container_inner: str | None = None  # the init's leaf below it
    cgroup_dir_monitor: str | None = None  # lxc.cgroup.dir.monitor (exact path)
    cgroup_dir_monitor_pivot: str | None = None  # where the supervisor goes at its end
    cgroup_relative: bool = False  # lxc.cgroup.relative: below the caller's own cgroup

    cap_drop: list[str] = field(default_factory=list)  # lower-case names without cap_
    cap_keep: list[str] = field(default_factory=list)
    no_new_privs: bool = False
    keyring_session: bool = True  # LXC: a new session keyring, the caller's stays out of reach
    seccomp: Policy | None = None  # lxc.seccomp.profile, read and parsed with the config
    seccomp_allow_nesting: bool = False

    environment: list[tuple[str, str]] = field(default_factory=list)
    init_cmd: list[str] | None = None
    init_cwd: str | None = None
    init_uid: int | None = None
    init_gid: int | None = None
    init_groups: list[int] = field(default_factory=list)
    execute_cmd: list[str] | None = None

    hooks: dict[str, list[str]] = field(default_factory=dict)  # "pre-start" -> [commands]
    hook_version: int = 0

    console_path: str | None = None  # None: default; "none": no console
    console_logfile: str | None = None
    tty_max: int = 0
    tty_dir: str | None = None  # lxc.tty.dir: /dev/<dir>/ttyN with /dev/ttyN symlinks
    pty_max: int = 0
    autodev: bool = False
    autodev_tmpfs_size: int | None = None  # lxc.autodev.tmpfs.size, bytes (tmpfs size=)

    log_file: str | None = None
    log_level: str | None = None

    namespace_keep: list[str] = field(default_factory=list)
    namespace_clone: list[str] = field(default_factory=list)
    namespace_share: dict[str, str] = field(default_factory=dict)  # net -> NAME|PID|/proc path
    # filled at start (runtime.namespaces.resolve): (ns, path, st_dev, st_ino) to setns into
    namespace_joins: list[tuple[str, str, int, int]] = field(default_factory=list)
    idmaps: list[IdMap] = field(default_factory=list)

    time_offset_boot: str | None = None  # lxc.time.offset.*: "-10s", "500ms", ...
    time_offset_monotonic: str | None = None

    signal_halt: int | None = None
    signal_reboot: int | None = None
    signal_stop: int | None = None

    ephemeral: bool = False  # lxc.ephemeral: destroyed when it stops
    start_auto: bool = False
    start_delay: int = 0
    start_order: int = 0
    groups: list[str] = field(default_factory=list)

    prlimits: dict[str, str] = field(default_factory=dict)  # nofile -> "SOFT:HARD" (N|unlimited)
    sysctls: dict[str, str] = field(default_factory=dict)  # net.ipv4.ip_forward -> "1"
    proc: dict[str, str] = field(default_factory=dict)  # lxc.proc.oom_score_adj -> "10"

    # OCI runtime (lxcpy.oci): the init waits at this FIFO before its exec until `start`
    # reads it (runc's exec.fifo); the environment is exactly `environment`; paths masked
    # (/dev/null or an empty read-only tmpfs) and made read-only after /proc is mounted
    start_gate: str | None = None
    env_exact: bool = False
    init_umask: int | None = None  # OCI process.user.umask
    # OCI process.capabilities: set name -> capability names (lower case, no cap_)
    cap_sets: dict[str, list[str]] | None = None
    oci_mounts: list[MountEntry] | None = None  # OCI mounts, made in this order
    # OCI linux.devices: (path, type c|b|u|p, major, minor, mode, uid, gid), made by mknod
    oci_devices: list[tuple[str, str, int, int, int, int, int]] = field(default_factory=list)
    rootfs_propagation: int = 0  # OCI linux.rootfsPropagation: MS_* flags for / after pivot
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)
    # OCI hooks run during the set-up (createRuntime: the supervisor's, before pivot_root;
    # createContainer, startContainer: the container's), and the state they get on stdin
    oci_hooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    oci_state: dict[str, Any] = field(default_factory=dict)

    # keys we parse and validate but do not act on yet: a warning at start, never silence
    not_acted_on: list[Entry] = field(default_factory=list)

    @property
    def wants_netns(self) -> bool:
        """LXC 5: a network namespace of its own, empty (lo down) when no lxc.net key is
        given; only ``lxc.net.N.type = none`` or ``lxc.namespace.keep = net`` share the
        caller's (a container in the host's netns can take its interfaces down and reach
        every abstract socket of the host)."""
        if "net" in self.namespace_keep:
            return False
        return not any(n.type == "none" for n in self.networks)

    @property
    def network_work(self) -> bool:
        """Whether a start has anything for ``lxcpy.net`` to do: a device to make (any type
        but ``empty`` and ``none``), lo to bring up (``flags = up``) or a script. False (no
        lxc.net key, ``empty`` interfaces): the runtime does not import ``lxcpy.net`` at all;
        its entry points would each return at once (tests/unit/test_config_parser.py)."""
        return any(n.type not in ("empty", "none") or n.up or n.script_up or n.script_down
                   for n in self.networks)

    # Whether a start needs a console, decided here rather than in runtime.console: that
    # module (termios) costs ~3 ms and ~300 KiB of every supervisor and of the init it forks,
    # even with no console (lxc-execute, lxc.console.path = none, no rootfs ttys). The
    # console's modes are documented there.
    def wants_pty(self, daemonized: bool) -> bool:
        """The console is a pty of the supervisor's: an ``lxc.console.path`` other than
        ``none``, or a daemonised start (LXC's default)."""
        return self.console_path != "none" and bool(self.console_path or daemonized)

    def needs_console(self, mode: str, daemonized: bool) -> bool:
        """False: no console object at all (the init keeps the supervisor's stdio): neither
        a session of its own (``lxc-start``, a pty) nor ttys in a rootfs. ``mode``: the
        supervisor's, "start" or "execute"."""
        with_root = bool(self.rootfs_path or self.chroot)
        return mode == "start" or self.wants_pty(daemonized) or (with_root and self.tty_max > 0)
