"""Legacy (LXC 1.x/2.x) config text to today's keys, the way ``lxc-update-config`` does it.

LXC's script is a chain of ``sed`` rules; this follows its mapping line by line:

* renames (``lxc.utsname`` -> ``lxc.uts.name``, ...) apply only when the key is followed by
  a blank, ``*`` or ``=``, so ``lxc.mount.entry`` and ``lxc.limit.nofile`` stay as they are;
* ``lxc.rootfs = X`` becomes ``lxc.rootfs.path = <backend>:X`` with the value of the last
  ``lxc.rootfs.backend`` line (default ``dir``); ``lxc.rootfs.backend``, ``lxc.pivotdir``
  and ``lxc.kmsg`` lines are deleted;
* ``lxc.network.N.x`` -> ``lxc.net.N.x`` and ``lxc.network =`` -> ``lxc.net =``;
* un-indexed ``lxc.network.x`` -> ``lxc.net.IDX.x``, where IDX starts at -1 and goes up by
  one on every ``lxc.network.type`` line, and ``lxc.network.ipv4``/``ipv6`` gain
  ``.address``;
* commented-out keys (``#lxc.utsname = x``) are converted too.

Where the script has bugs that contradict its own mapping we follow the mapping:
``lxc.logfile`` becomes ``lxc.log.file`` (the script writes ``1lxc.log.file``), the
backend is the last ``lxc.rootfs.backend`` line (the script only looks at the file's last
line), and a value that already names a backend (``dir:/x``) gets no second one. Only keys
are converted, never text inside values or comments' prose.
"""

from __future__ import annotations

import re

_RENAMES = {
    "id_map": "idmap", "pts": "pty.max", "tty": "tty.max", "devttydir": "tty.dir",
    "aa_profile": "apparmor.profile", "aa_allow_incomplete": "apparmor.allow_incomplete",
    "se_context": "selinux.context", "mount": "mount.fstab", "utsname": "uts.name",
    "seccomp": "seccomp.profile", "console": "console.path", "haltsignal": "signal.halt",
    "rebootsignal": "signal.reboot", "stopsignal": "signal.stop", "syslog": "log.syslog",
    "loglevel": "log.level", "logfile": "log.file", "init_cmd": "init.cmd",
    "init_uid": "init.uid", "init_gid": "init.gid", "limit": "prlimit", "network": "net",
}
_BACKENDS = ("dir", "aufs", "btrfs", "loop", "lvm", "nbd", "overlay", "overlayfs", "rbd",
             "zfs")

# a key position: leading blanks, then optionally #'s (commented-out keys count too)
_AT_KEY = r"^([ \t]*#*[ \t]*)"
_END = r"(?=[ \t*=])"  # the script's "followed by blank, * or ="
_RENAME = re.compile(_AT_KEY + r"lxc\.(" + "|".join(_RENAMES) + r")" + _END)
_DELETE = re.compile(_AT_KEY + r"lxc\.(?:rootfs\.backend|pivotdir|kmsg)" + _END)
_ROOTFS = re.compile(_AT_KEY + r"lxc\.rootfs([ \t*]*=[ \t]*)(.*)$")
_BACKEND = re.compile(r"^[ \t]*lxc\.rootfs\.backend[ \t]*=[ \t]*([0-9A-Za-z]*)")
_INDEXED = re.compile(_AT_KEY + r"lxc\.network(\.[0-9*])")
_TYPE = re.compile(_AT_KEY + r"lxc\.network\.type")
_ADDRESS = re.compile(_AT_KEY + r"lxc\.network(\.ipv[0-9])([ \t]*=)")
_UNINDEXED = re.compile(_AT_KEY + r"lxc\.network\.(?=[^0-9*])")


def _rootfs(match: re.Match[str], backend: str) -> str:
    value = match.group(3)
    named = value.split(":", 1)[0] in _BACKENDS and ":" in value
    return f"{match.group(1)}lxc.rootfs.path{match.group(2)}" + (
        value if named else f"{backend}:{value}")


def update_legacy_text(text: str) -> str:
    """Return ``text`` with legacy keys rewritten to today's spelling (see module doc)."""
    lines = text.split("\n")
    backend = "dir"
    for line in lines:
        found = _BACKEND.match(line)
        if found and found.group(1):
            backend = found.group(1)

    out: list[str] = []
    index = -1
    for line in lines:
        if _DELETE.match(line):
            continue
        line = _ROOTFS.sub(lambda m: _rootfs(m, backend), line, count=1)
        line = _INDEXED.sub(r"\1lxc.net\2", line, count=1)
        line = _RENAME.sub(lambda m: f"{m.group(1)}lxc.{_RENAMES[m.group(2)]}", line, count=1)
        if _TYPE.match(line):
            index += 1
        line = _ADDRESS.sub(rf"\1lxc.net.{index}\2.address\3", line, count=1)
        line = _UNINDEXED.sub(rf"\1lxc.net.{index}.", line, count=1)
        out.append(line)
    return "\n".join(out)


def _same(canonical: str, value: str) -> tuple[str, str]:
    """What must not change: the key and its value (lxc.rootfs gains its backend: dir:X)."""
    if canonical == "lxc.rootfs.path" and value.split(":", 1)[0] in _BACKENDS:
        value = value.split(":", 1)[1]
    return canonical, value


def update_config_text(text: str, path: str) -> str:
    """``text`` rewritten to today's keys, checked through the config model: the result
    must load, and where the original loads too, to the same values in effect (a rename
    that changed meaning is refused before anything is written). ConfigError otherwise."""
    from lxcpy.config.keys import in_effect
    from lxcpy.config.parser import parse_text
    from lxcpy.errors import ConfigError

    updated = update_legacy_text(text)
    new = parse_text(updated, path)
    try:
        old = parse_text(text, path)
    except ConfigError:
        return updated  # LXC's script converts what lxcpy's parser would refuse, too
    before = [_same(e.canonical, e.value) for e in in_effect(old)
              if e.canonical not in ("lxc.rootfs.backend", "lxc.pivotdir", "lxc.kmsg")]
    after = [_same(e.canonical, e.value) for e in in_effect(new)]
    if before != after:
        changed = next((b, a) for b, a in zip(before + [("", "")], after + [("", "")],
                                             strict=False) if b != a)
        raise ConfigError(f"the update would change {changed[0][0] or changed[1][0]}: "
                          "not written", path)
    return updated


__all__ = ["update_config_text", "update_legacy_text"]
