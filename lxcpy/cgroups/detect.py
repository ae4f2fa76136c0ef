"""Which cgroup hierarchies this host has: legacy (v1 only), hybrid (v1 + cgroup2), unified.

Everything comes from one read of /proc/self/mountinfo (plus the cgroup2 root's
``cgroup.controllers``); nothing is hard-coded, because cpu and cpuacct may be mounted
separately or together and the cgroup2 mount moves between /sys/fs/cgroup and
/sys/fs/cgroup/unified.
"""

from __future__ import annotations

import os

from lxcpy._record import dataclass, field, replace

# Mount options of a v1 cgroup mount that are not controllers.
_NOT_CONTROLLERS = frozenset({
    "rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "none",
    "favordynmods", "nsdelegate", "memory_recursiveprot", "memory_localevents",
    "memory_hugetlb_accounting", "pids_localevents",
})


@dataclass(frozen=True)
class HostLayout:
    """The cgroup mounts of this host as seen from our mount namespace."""

    kind: str  # "legacy", "hybrid" or "unified"
    # controller set (named hierarchies as "name=systemd") -> mount point, mountinfo order
    v1: dict[frozenset[str], str] = field(default_factory=dict)
    v2_mount: str | None = None
    v2_controllers: frozenset[str] = frozenset()  # the cgroup2 root's cgroup.controllers

    def v1_mount(self, controller: str) -> str | None:
        """Mount point of the v1 hierarchy that holds ``controller``, if any."""
        for controllers, mount in self.v1.items():
            if controller in controllers:
                return mount
        return None

    @property
    def v1_controllers(self) -> frozenset[str]:
        return frozenset().union(*self.v1) if self.v1 else frozenset()


def _unescape(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash as \\ooo octal escapes."""
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> HostLayout:
    """The cgroup layout described by a /proc/self/mountinfo text (controllers not read)."""
    v1: dict[frozenset[str], str] = {}
    v2_mount: str | None = None
    for line in text.splitlines():
        fields = line.split()
        try:
            sep = fields.index("-", 6)
            fstype, super_opts = fields[sep + 1], fields[sep + 3]
        except (ValueError, IndexError):
            continue
        root, mount = _unescape(fields[3]), _unescape(fields[4])
        if root != "/" and root.strip("/.") != "":
            # a bind of a sub-cgroup (e.g. inside a container): not a hierarchy root. Seen
            # from a cgroup namespace (a container's set-up) the host's root reads "/..".
            continue
        if fstype == "cgroup2":
            v2_mount = v2_mount or mount
        elif fstype == "cgroup":
            controllers = frozenset(
                o for o in super_opts.split(",")
                if o not in _NOT_CONTROLLERS and not o.startswith("release_agent="))
            if controllers and controllers not in v1:
                v1[controllers] = mount
    # A lone named hierarchy (name=systemd kept for old guests) does not make a host hybrid.
    real_v1 = any(not c.startswith("name=") for cs in v1 for c in cs)
    if v2_mount is None:
        kind = "legacy"
    else:
        kind = "hybrid" if real_v1 else "unified"
    return HostLayout(kind=kind, v1=v1, v2_mount=v2_mount)


def detect() -> HostLayout:
    """Read /proc/self/mountinfo once and describe the host's cgroup hierarchies."""
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        layout = parse_mountinfo(f.read())
    if layout.v2_mount is None:
        return layout
    try:
        with open(os.path.join(layout.v2_mount, "cgroup.controllers")) as f:
            controllers = frozenset(f.read().split())
    except OSError:
        controllers = frozenset()
    return replace(layout, v2_controllers=controllers)
