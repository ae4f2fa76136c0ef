"""lxc-checkconfig: the kernel features and cgroup layout LXC needs, as LXC's script prints
them (the seed README's "Requirements").

The kernel's configuration comes from $CONFIG, /proc/config.gz, the kernel headers'
.config or /boot/config-$(uname -r); without one, each feature is probed on the running
kernel (namespace files, /proc/cgroups, /sys/module, /proc/self/status). Colour only when
stdout is a terminal. Also prints lxcpy's own version (``--version`` prints LXC's).
"""

from __future__ import annotations

import os
import sys

import click

from lxcpy.cli.common import CONTEXT, LXC_VERSION, entry, usage_option

GREEN, RED, YELLOW, NORMAL = "\033[1;32m", "\033[1;31m", "\033[1;33m", "\033[0;39m"


class Report:
    """Feature lines: ``Label: enabled|missing|required``, coloured on a terminal."""

    def __init__(self, config: dict[str, str] | None, colour: bool) -> None:
        self.config = config  # CONFIG_X -> y/m/n/..., None: probe the running kernel
        self.colour = colour
        self.lines: list[str] = []

    def paint(self, word: str, colour: str) -> str:
        return f"{colour}{word}{NORMAL}" if self.colour else word

    def state(self, ok: bool, mandatory: bool = False) -> str:
        if ok:
            return self.paint("enabled", GREEN)
        return self.paint("required", RED) if mandatory else self.paint("missing", YELLOW)

    def is_set(self, option: str, probe: bool) -> bool:
        if self.config is None:
            return probe
        return self.config.get(option) in ("y", "m")

    def feature(self, label: str, option: str, probe: bool, mandatory: bool = False,
                module: str | None = None) -> None:
        ok = self.is_set(option, probe)
        text = f"{label}: {self.state(ok, mandatory)}"
        if ok and module is not None and os.path.isfile("/proc/modules"):
            text += ", loaded" if _module_loaded(module) else ", not loaded"
        self.lines.append(text)


def _module_loaded(module: str) -> bool:
    """LXC's is_probed: the module in lsmod's list (built-in ones: /sys/module)."""
    try:
        with open("/proc/modules") as f:
            if any(line.split(" ", 1)[0] == module for line in f):
                return True
    except OSError:
        pass
    return False


def _has_module(module: str) -> bool:
    """Probe: built in or loaded (/sys/module), or installed as a module file."""
    if os.path.isdir(f"/sys/module/{module}"):
        return True
    root = f"/lib/modules/{os.uname().release}/kernel"
    for _dirpath, _dirs, files in os.walk(root):
        if any(f.split(".ko", 1)[0].replace("-", "_") == module for f in files):
            return True
    return False


def find_config() -> tuple[str | None, list[str]]:
    """(path of the kernel configuration or None, lines to print about the search)."""
    config = os.environ.get("CONFIG") or "/proc/config.gz"
    notes: list[str] = []
    if os.path.isfile(config):
        return config, notes
    notes.append(f"Kernel configuration not found at {config}; searching...")
    release = os.uname().release
    for candidate in (f"/boot/config-{release}", f"/lib/modules/{release}/build/.config"):
        if os.path.isfile(candidate):
            notes.append(f"Kernel configuration found at {candidate}")
            return candidate, notes
    notes.append("Kernel configuration not found: probing the running kernel")
    return None, notes


def read_config(path: str) -> dict[str, str]:
    import gzip

    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    out = {}
    for line in data.decode(errors="replace").splitlines():
        key, eq, value = line.partition("=")
        if eq and key.startswith("CONFIG_"):
            out[key] = value.strip()
    return out


def _controllers() -> set[str]:
    try:
        with open("/proc/cgroups") as f:
            return {line.split()[0] for line in f if line and not line.startswith("#")
                    and line.split()[3:4] == ["1"]}
    except OSError:
        return set()


def _mounts(fstype: str) -> list[str]:
    try:
        with open("/proc/self/mounts") as f:
            return [line.split()[1] for line in f if line.split()[2:3] == [fstype]]
    except OSError:
        return []


def _seccomp() -> bool:
    try:
        with open("/proc/self/status") as f:
            return any(line.startswith("Seccomp:") for line in f)
    except OSError:
        return False


def report(config: dict[str, str] | None, colour: bool) -> list[str]:
    r = Report(config, colour)
    ns = os.path.exists
    r.lines += ["", "--- Namespaces ---"]
    r.feature("Namespaces", "CONFIG_NAMESPACES", ns("/proc/self/ns"), mandatory=True)
    r.feature("Utsname namespace", "CONFIG_UTS_NS", ns("/proc/self/ns/uts"))
    r.feature("Ipc namespace", "CONFIG_IPC_NS", ns("/proc/self/ns/ipc"), mandatory=True)
    r.feature("Pid namespace", "CONFIG_PID_NS", ns("/proc/self/ns/pid"), mandatory=True)
    r.feature("User namespace", "CONFIG_USER_NS", ns("/proc/self/ns/user"))
    if r.is_set("CONFIG_USER_NS", ns("/proc/self/ns/user")):
        import shutil

        for tool in ("newuidmap", "newgidmap"):
            path = shutil.which(tool)
            if path is None:
                r.lines.append(f"{tool} is not installed")
            elif not os.stat(path).st_mode & 0o4000:
                r.lines.append(f"Warning: {tool} is not setuid-root")
    r.feature("Network namespace", "CONFIG_NET_NS", ns("/proc/self/ns/net"))
    r.lines += ["", "--- Control groups ---"]
    controllers = _controllers()
    v1, v2 = _mounts("cgroup"), _mounts("cgroup2")
    r.feature("Cgroups", "CONFIG_CGROUPS", bool(v1 or v2 or controllers))
    r.lines.append(f"Cgroup namespace: {r.state(ns('/proc/self/ns/cgroup'))}")
    r.lines.append("Cgroup v1 mount points: ")
    r.lines += [f" - {m}" for m in v1]
    r.lines.append("Cgroup v2 mount points: ")
    r.lines += [f" - {m}" for m in v2]
    if v2 != ["/sys/fs/cgroup"]:
        for controller in ("systemd", "freezer"):
            if not any(m.endswith("/" + controller) or controller in m.rsplit("/", 1)[-1]
                       for m in v1):
                r.lines.append(f"Cgroup v1 {controller} controller: "
                               + r.paint("missing", RED))
        if v1 and os.path.isfile(os.path.join(v1[0], "cgroup.clone_children")):
            r.lines.append("Cgroup v1 clone_children flag: " + r.paint("enabled", GREEN))
    v2_controllers = set()
    for mnt in v2:
        try:
            with open(os.path.join(mnt, "cgroup.controllers")) as f:
                v2_controllers |= set(f.read().split())
        except OSError:
            pass
    have = controllers | v2_controllers
    r.feature("Cgroup device", "CONFIG_CGROUP_DEVICE", "devices" in have or bool(v2))
    r.feature("Cgroup sched", "CONFIG_CGROUP_SCHED", "cpu" in have)
    r.feature("Cgroup cpu account", "CONFIG_CGROUP_CPUACCT", "cpuacct" in have or "cpu" in have)
    r.feature("Cgroup memory controller", "CONFIG_MEMCG", "memory" in have)
    if r.is_set("CONFIG_SMP", (os.cpu_count() or 1) > 1):
        r.feature("Cgroup cpuset", "CONFIG_CPUSETS", "cpuset" in have)
    r.lines += ["", "--- Misc ---"]
    for label, option, module in (("Veth pair device", "CONFIG_VETH", "veth"),
                                  ("Macvlan", "CONFIG_MACVLAN", "macvlan"),
                                  ("Vlan", "CONFIG_VLAN_8021Q", "8021q"),
                                  ("Bridges", "CONFIG_BRIDGE", "bridge"),
                                  ("Advanced netfilter", "CONFIG_NETFILTER_ADVANCED",
                                   "nf_tables")):
        r.feature(label, option, _has_module(module), module=module)
    for option, module in (("CONFIG_IP_NF_TARGET_MASQUERADE", "nf_nat_masquerade_ipv4"),
                           ("CONFIG_IP6_NF_TARGET_MASQUERADE", "nf_nat_masquerade_ipv6"),
                           ("CONFIG_NETFILTER_XT_TARGET_CHECKSUM", "xt_CHECKSUM"),
                           ("CONFIG_NETFILTER_XT_MATCH_COMMENT", "xt_comment")):
        r.feature(option, option, _has_module(module), module=module)
    r.feature("FUSE (for use with lxcfs)", "CONFIG_FUSE_FS", _has_module("fuse"), module="fuse")
    # lxcpy loads lxc.seccomp.profile with a seccomp filter: LXC's script does not ask
    r.feature("Seccomp filters", "CONFIG_SECCOMP_FILTER", _seccomp())
    r.lines += ["", "--- Checkpoint/Restore ---"]
    probes = {"CONFIG_CHECKPOINT_RESTORE": os.path.exists("/proc/self/map_files"),
              "CONFIG_FHANDLE": True, "CONFIG_EVENTFD": True, "CONFIG_EPOLL": True,
              "CONFIG_UNIX_DIAG": _has_module("unix_diag"),
              "CONFIG_INET_DIAG": _has_module("inet_diag"),
              "CONFIG_PACKET_DIAG": _has_module("af_packet_diag"),
              "CONFIG_NETLINK_DIAG": _has_module("netlink_diag")}
    for option, probe in probes.items():
        label = "checkpoint restore" if option == "CONFIG_CHECKPOINT_RESTORE" else option
        r.feature(label, option, probe)
    r.lines.append("File capabilities: " + r.paint("enabled", GREEN))
    r.lines += ["", "Note : Before booting a new kernel, you can check its configuration",
                f"usage : CONFIG=/path/to/config {os.path.basename(sys.argv[0] or 'x')}", ""]
    return r.lines


@click.command(context_settings=CONTEXT)
@click.version_option(LXC_VERSION, "--version", message="%(version)s")
@usage_option()
def command() -> None:
    """Check the running kernel (or $CONFIG's) for what containers need."""
    from lxcpy import __version__
    from lxcpy.cli.common import echo, fail

    path, notes = find_config()
    config = None
    if path is not None:
        try:
            config = read_config(path)
        except (OSError, EOFError, ValueError) as exc:
            fail(f"cannot read the kernel configuration {path}: {exc}")
    colour = sys.stdout is not None and sys.stdout.isatty()
    lines = [f"LXC version {LXC_VERSION}", f"lxcpy version {__version__}", *notes]
    lines += report(config, colour)
    text = "\n".join(lines)
    if colour:
        sys.stdout.write(text + "\n")  # click.echo would strip the colours of a non-tty
        sys.stdout.flush()
    else:
        echo(text)


main = entry("lxc-checkconfig", command)
