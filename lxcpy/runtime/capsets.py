"""OCI process.capabilities: the five sets exactly as config.json gives them, and the
order runc applies them in (after the uid/gid switch, which kept the capabilities).

With noNewPrivileges the seccomp filter is loaded last (the capability calls run before
it); without it, before the capabilities are lowered, while CAP_SYS_ADMIN is still held.
"""

from __future__ import annotations

from lxcpy import kernel as k

PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4


def apply(sets: dict[str, list[str]], no_new_privs: bool, seccomp: bytes | None) -> None:
    """``sets``: bounding, effective, permitted, inheritable, ambient -> lower-case names
    without cap_ (a missing set: empty)."""
    import prctl

    if seccomp is not None:
        from lxcpy.kernel.seccomp import load
    if no_new_privs:
        k.prctl(k.PR_SET_NO_NEW_PRIVS, 1)
    if seccomp is not None and not no_new_privs:
        load(seccomp)
    known = list(prctl.ALL_CAP_NAMES)

    def number(name: str) -> int:
        return int(getattr(prctl, "CAP_" + name.upper()))

    def wanted(kind: str) -> set[str]:
        return {c for c in sets.get(kind, []) if c in known}

    bounding = wanted("bounding")
    drop = [number(c) for c in known if c not in bounding]
    if drop:
        prctl.capbset.drop(*drop)
    inheritable = wanted("inheritable")
    for name in known:
        setattr(prctl.cap_inheritable, name, name in inheritable)
    k.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    permitted, effective = wanted("permitted"), wanted("effective")
    ambient = wanted("ambient") & permitted & inheritable
    for name in sorted(ambient):
        k.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, number(name))
    prctl.cap_effective.limit(*[number(c) for c in effective & permitted])
    prctl.cap_permitted.limit(*[number(c) for c in permitted])
    if seccomp is not None and no_new_privs:
        load(seccomp)
