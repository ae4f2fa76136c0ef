"""Process attributes of the container's init: lxc.prlimit.*, lxc.arch, lxc.proc.*.

:func:`preflight` runs in the supervisor before a start makes anything (the one-line
refusals); the ``set_*``/``write_*`` functions run in the container's first process, in
the order of the linear set-up in ``runtime.child``.
"""

from __future__ import annotations

import os

from lxcpy import kernel as k
from lxcpy.config.keys import origin_of, parse_prlimit
from lxcpy.config.model import ContainerConfig
from lxcpy.errors import LxcError
from lxcpy.log import log
from lxcpy.runtime.namespaces import write_setting

# lxc.arch values by (host machine, personality): LXC's lxc_config_parse_arch()
_ARCHES = {
    "x86_64": {k.PER_LINUX32: ("i386", "i486", "i586", "i686", "x86", "athlon", "linux32"),
               k.PER_LINUX: ("x86_64", "amd64", "linux64")},
    "aarch64": {k.PER_LINUX32: ("arm", "armel", "armhf", "armv7l", "linux32"),
                k.PER_LINUX: ("aarch64", "arm64", "linux64")},
}


def preflight(cfg: ContainerConfig, prog: str, name: str, lxcpath: str) -> list[str]:
    """Every check a start makes before it makes anything; returns the warnings."""
    from lxcpy.config.keys import check_start
    from lxcpy.log import configure_from_config
    from lxcpy.runtime.namespaces import resolve

    configure_from_config(cfg, prog, name)
    warnings = check_start(cfg)
    resolve(cfg, lxcpath)
    personality_of(cfg)
    limits(cfg)
    log.info("Container \"%s\" passed its start checks", name)
    return warnings


def personality_of(cfg: ContainerConfig) -> int | None:
    """The personality(2) lxc.arch asks for; None without lxc.arch; refuses a foreign arch."""
    if not cfg.arch:
        return None
    machine = os.uname().machine
    for persona, names in _ARCHES.get(machine, {}).items():
        if cfg.arch in names:
            return persona
    raise LxcError(f"{origin_of(cfg, 'lxc.arch')}: a '{cfg.arch}' container cannot run on "
                   f"this {machine} host")


def set_personality(cfg: ContainerConfig) -> None:
    persona = personality_of(cfg)
    if persona is not None:
        k.personality(persona)


def limits(cfg: ContainerConfig) -> list[tuple[str, int, tuple[int, int]]]:
    """(resource, RLIMIT_*, (soft, hard)) of every lxc.prlimit.* line."""
    result: list[tuple[str, int, tuple[int, int]]] = []
    if not cfg.prlimits:
        return result  # no resource module (an extension: ~0.45 ms to load) without one
    # loaded here by the supervisor's preflight, before the fork: the init's set_prlimits
    # runs after pivot_root, where the interpreter's lib-dynload is out of reach
    import resource

    for res, value in cfg.prlimits.items():
        soft, hard = parse_prlimit(value)
        pair = (resource.RLIM_INFINITY if soft is None else soft,
                resource.RLIM_INFINITY if hard is None else hard)
        result.append((res, getattr(resource, "RLIMIT_" + res.upper()), pair))
    return result


def set_prlimits(cfg: ContainerConfig) -> None:
    """lxc.prlimit.*: setrlimit in the init before it execs (inherited by everything)."""
    entries = limits(cfg)
    if not entries:
        return
    import resource  # (already loaded: limits() above, first called by preflight)

    for res, number, pair in entries:
        try:
            resource.prlimit(0, number, pair)
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            hint = ""
            if isinstance(exc, PermissionError):
                hint = " (raising a hard limit needs CAP_SYS_RESOURCE)"
            raise LxcError(f"{origin_of(cfg, 'lxc.prlimit.' + res)}: cannot set "
                           f"{cfg.prlimits[res]}: {why}{hint}") from None


def new_session_keyring(cfg: ContainerConfig) -> None:
    """lxc.keyring.session (default 1): the init gets a new session keyring, so nothing in
    the container can read the caller's keys. Like LXC, a kernel or filter that refuses
    keyctl() leaves the start going (there is no keyring to leak then)."""
    if not cfg.keyring_session:
        return
    try:
        k.join_session_keyring()
    except k.KernelError as exc:
        import errno

        if exc.errno not in (errno.ENOSYS, errno.EPERM, errno.EACCES):
            raise LxcError(f"lxc.keyring.session: cannot make a new session keyring: "
                           f"{os.strerror(exc.errno)}") from None


def write_proc(cfg: ContainerConfig) -> None:
    """lxc.proc.<file>: written to /proc/self/<file> of the init (inherited by its children)."""
    for name, value in cfg.proc.items():
        try:
            fd = os.open(f"/proc/self/{name}", os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise LxcError(f"{origin_of(cfg, 'lxc.proc.' + name)}: cannot open "
                           f"/proc/self/{name}: {exc.strerror}") from None
        write_setting(fd, value, origin_of(cfg, 'lxc.proc.' + name))
