"""The container's confinement, the same at start and in every lxc-attach.

Order (LXC's, and bubblewrap's): capabilities dropped, no_new_privs set, then the seccomp
filter, LAST, so nothing it forbids is needed afterwards but exec. The filter is compiled
by the supervisor before it forks (libseccomp never runs inside the container) and
recorded in the run directory (root only) so lxc-attach loads the very same program; the
capability bounding set and no_new_privs an attach gets are read from the running init
(/proc/PID/status), never from the config file on disk.
"""

from __future__ import annotations

import os

from lxcpy.errors import LxcError
from lxcpy.paths import write_atomic

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from collections.abc import Iterable

    from lxcpy.config.model import ContainerConfig
    from lxcpy.paths import ContainerPaths

# PR_CAP_AMBIENT / PR_CAP_AMBIENT_CLEAR_ALL (linux/prctl.h)
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4


# ---- supervisor side ------------------------------------------------------------------------
def prepare_seccomp(cfg: ContainerConfig, paths: ContainerPaths) -> bytes | None:
    """Compile ``cfg.seccomp`` to BPF and record it for lxc-attach (None: no profile)."""
    path = paths.seccomp
    try:
        os.unlink(path)  # a killed supervisor's: never hand it to an attach of this start
    except FileNotFoundError:
        pass
    policy = cfg.seccomp
    if policy is None:
        return None
    if cfg.seccomp_allow_nesting and policy.action_for("seccomp").kind != "allow":
        # LXC's allow_nesting: containers inside add their own filters with seccomp(2)
        raise LxcError(f"lxc.seccomp.allow_nesting = 1, but the profile {policy.file} blocks "
                       "seccomp(2), which nested containers need")
    from lxcpy.kernel.seccomp import compile_policy

    bpf = compile_policy(policy)
    write_atomic(path, bpf, mode=0o600, durable=False)
    return bpf


# ---- lxc-attach side ------------------------------------------------------------------------
class Running:
    """The confinement of a running container's init, as the kernel reports it."""

    __slots__ = ("cap_bounding", "no_new_privs", "seccomp")

    def __init__(self, cap_bounding: int, no_new_privs: bool, seccomp: bytes | None) -> None:
        self.cap_bounding = cap_bounding  # bit mask, CapBnd
        self.no_new_privs = no_new_privs
        self.seccomp = seccomp

    def drop(self) -> list[str]:
        """Capability names outside the init's bounding set."""
        import prctl

        return [name for name in prctl.ALL_CAP_NAMES
                if not self.cap_bounding & (1 << getattr(prctl, "CAP_" + name.upper()))]


def running_confinement(paths: ContainerPaths, init_pid: int) -> Running:
    """CapBnd, NoNewPrivs and Seccomp of /proc/INIT/status, and the recorded filter."""
    fields: dict[str, str] = {}
    try:
        with open(f"/proc/{init_pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    except OSError as exc:
        raise LxcError(f"cannot read the container's init status: {exc.strerror}") from None
    try:
        bounding = int(fields["CapBnd"], 16)
        nnp = fields.get("NoNewPrivs", "0") == "1"
        mode = int(fields.get("Seccomp", "0"))
    except (KeyError, ValueError):
        raise LxcError(f"/proc/{init_pid}/status: no CapBnd line") from None
    bpf = None
    if mode == 2:  # the init runs under a filter: the attach gets the same one or nothing
        try:
            with open(paths.seccomp, "rb") as f:
                bpf = f.read()
        except FileNotFoundError:
            if _own_seccomp_mode() != 2:  # not merely the filter we run under ourselves
                raise LxcError(
                    "the container runs under a seccomp filter, but its recorded copy "
                    f"({paths.seccomp}) is missing: refusing to attach unfiltered") from None
        except OSError as exc:
            raise LxcError(f"cannot read the container's seccomp filter {paths.seccomp}: "
                           f"{exc.strerror}") from None
    elif mode == 1:
        raise LxcError("the container's init is in strict seccomp mode: cannot attach")
    return Running(bounding, nnp, bpf)


def _own_seccomp_mode() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Seccomp:"):
                return int(line.split()[1])
    return 0


# ---- both sides: in the process about to exec ---------------------------------------------
def cap_names(drop: Iterable[str], keep: Iterable[str]) -> list[str]:
    """lxc.cap.drop / lxc.cap.keep as the list of capability names to drop."""
    keep = [c.lower() for c in keep]
    drop = list(drop)
    if not keep and not drop:
        return []  # the usual config: python-prctl not imported (~1-2 ms of every start)
    import prctl

    if keep:
        wanted = {c for c in keep if c != "none"}
        return [c for c in prctl.ALL_CAP_NAMES if c not in wanted]
    known = set(prctl.ALL_CAP_NAMES)
    return [c.lower() for c in drop if c.lower() in known]


def confine(drop: list[str], no_new_privs: bool, seccomp: bytes | None) -> None:
    """Drop ``drop`` from every capability set, set no_new_privs, load the filter last."""
    from lxcpy import kernel as k

    # seccomp(2) without no_new_privs needs CAP_SYS_ADMIN: hold it (effective and
    # permitted only: the bounding set loses it now) until the filter is in
    hold = seccomp is not None and not no_new_privs and "sys_admin" in drop
    if drop:
        _drop_caps(drop, keep_effective={"sys_admin"} if hold else set())
    k.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    if no_new_privs:
        k.prctl(k.PR_SET_NO_NEW_PRIVS, 1)
    if seccomp is not None:
        from lxcpy.kernel.seccomp import load

        load(seccomp)
    if hold:
        _drop_caps(["sys_admin"], set())


def _drop_caps(names: list[str], keep_effective: set[str]) -> None:
    import prctl

    caps = [getattr(prctl, "CAP_" + n.upper()) for n in names]
    if not caps:
        return
    prctl.capbset.drop(*caps)
    prctl.cap_inheritable.drop(*caps)
    now = [getattr(prctl, "CAP_" + n.upper()) for n in names if n not in keep_effective]
    if now:
        prctl.cap_effective.drop(*now)
        prctl.cap_permitted.drop(*now)


def preload(seccomp: bytes | None) -> None:
    """Import now what confine() needs later, when the host's files are out of reach."""
    import prctl  # noqa: F401

    from lxcpy import kernel  # noqa: F401

    if seccomp is not None:
        import lxcpy.kernel.seccomp  # noqa: F401
