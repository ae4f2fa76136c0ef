"""What happens inside the new container, in the order the kernel sees it.

Runs in the forked child that becomes PID 1 of the container's PID namespace. Every step
either succeeds or reports one line to the supervisor over the sync channel and exits.
"""

from __future__ import annotations

import _signal as signal  # not signal: its IntEnums (enum) cost every start
import os

from lxcpy import kernel as k
from lxcpy._record import dataclass, field
from lxcpy.config.model import ContainerConfig
from lxcpy.errors import LxcError
from lxcpy.runtime import sync
from lxcpy.runtime.sync import Channel

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from lxcpy.rootfs.pathrs import Root
    from lxcpy.runtime.console import Console

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
@dataclass
class ChildSpec:
    """What the supervisor hands to the container's first process."""

    name: str
    cfg: ContainerConfig
    argv: list[str]
    mode: str  # "execute" (argv under our init as PID 2) or "start" (argv is PID 1)
    prog: str
    new_netns: bool
    unshare_flags: int
    supervisor_pid: int
    caller_cwd: str
    caller_term: str | None
    keep_fds: set[int] = field(default_factory=set)
    console: Console | None = None  # its ptys' slaves are in keep_fds
    seccomp: bytes | None = None  # the BPF program the supervisor compiled, loaded last
    rootfs_tree: int = -1  # lxc.idmap with idmap=: the idmapped rootfs (sync.MAPPED's fd)


def container_main(spec: ChildSpec, chan: Channel) -> None:
    """Entry of the forked child. Never returns: not even an exception in the reporting
    may unwind into the supervisor's code that forked us (it would run its teardown)."""
    try:
        try:
            _setup(spec, chan)  # execs (start) or becomes init (execute), or raises
        except LxcError as exc:
            _report(chan, exc.message)
        except OSError as exc:
            _report(chan, f"{exc.filename}: {exc.strerror or exc}" if exc.filename
                    else f"{exc.strerror or exc}")
        except BaseException as exc:  # noqa: BLE001 - a bug must still reach the user as a line
            _report(chan, f"internal error in container setup: {exc.__class__.__name__}: "
                          f"{exc}")
    finally:
        os._exit(1)


def _report(chan: Channel, message: str) -> None:
    try:
        chan.send(sync.ERROR, message=message)
    except OSError:  # nobody listens (OCI: after CREATED): the container's stderr
        try:
            os.write(2, f"{message}\n".encode(errors="replace"))
        except OSError:
            pass


def _setup(spec: ChildSpec, chan: Channel) -> None:
    cfg = spec.cfg
    # Die with the supervisor: PID 1 dying takes the whole PID namespace with it.
    # (getppid() is 0 here: our parent lives outside our PID namespace. If it died before
    # the prctl, the channel's EOF below ends us.)
    k.prctl(k.PR_SET_PDEATHSIG, signal.SIGKILL)
    _reset_signals()
    _close_fds(keep={0, 1, 2, chan.fileno()} | spec.keep_fds)
    sync.fault_point("early")
    # what comes next (the supervisor imported these before the fork: shared pages; here
    # for a caller that did not)
    import lxcpy.rootfs.mounts  # noqa: F401
    from lxcpy.runtime import process  # used after pivot_root

    if spec.mode == "execute":
        import lxcpy.runtime.init  # noqa: F401

    if cfg.idmaps:  # we were forked into a new user namespace: wait for its maps
        from lxcpy.runtime.userns import become_root

        mapped = _wait(chan, sync.MAPPED)
        spec.rootfs_tree = mapped.fds[0] if mapped.fds else -1
        become_root()  # the namespaces unshared below are owned by our user namespace
    sync.fault_point("go", chan.fileno())
    _wait(chan, sync.GO)  # the supervisor put us in the cgroup
    if cfg.namespace_joins:  # lxc.namespace.share.*: join, then make the others
        from lxcpy.runtime.namespaces import join_namespaces

        join_namespaces(cfg)
        from lxcpy.runtime.namespaces import refork_in_userns

        init = refork_in_userns(cfg)
        if init > 0:  # the set-up goes on in our child, PID 1 of a PID namespace owned by
            chan.send(sync.INIT, pid=init)  # the joined user namespace: it is the init
            os._exit(0)
    k.unshare(spec.unshare_flags)
    if spec.unshare_flags & k.CLONE_NEWTIME:  # before any process enters it
        from lxcpy.runtime.namespaces import write_time_offsets

        write_time_offsets(cfg)
    home_mnt = -1
    if cfg.oci_mounts is not None:  # OCI without a mount namespace of its own: staged
        from lxcpy.runtime.namespaces import stage_mounts

        home_mnt = stage_mounts(cfg)
    sync.fault_point("namespaces")
    chan.send(sync.NAMESPACES)
    reply = _wait(chan, sync.NETWORK)
    sync.fault_point("network")
    if spec.new_netns and cfg.network_work:  # an empty netns: lxcpy.net not imported
        from lxcpy.net import inside_setup

        inside_setup(cfg.networks, reply.get("records", []))

    if cfg.uts_name:
        k.sethostname(cfg.uts_name)
    process.new_session_keyring(cfg)  # lxc.keyring.session
    if cfg.sysctls:  # /proc/sys shows the writer's net/ipc/uts namespaces: ours by now
        from lxcpy.runtime.namespaces import write_sysctls

        write_sysctls(cfg)

    from lxcpy.rootfs import mounts

    run_hooks(spec, "pre-mount")
    root = mounts.setup_rootfs(cfg, spec.rootfs_tree)
    if root is not None and cfg.autodev:
        # before the mount entries, like LXC: `shm dev/shm ...` must land on the new /dev
        from lxcpy.rootfs.dev import setup_autodev

        setup_autodev(cfg, root)
    if cfg.oci_mounts is not None:  # OCI: config.json's mounts in their order
        from lxcpy.runtime.ocimounts import setup as setup_oci_mounts

        setup_oci_mounts(cfg, root)
    else:
        mounts.setup_mounts(cfg, root)
    if cfg.masked_paths or cfg.readonly_paths:  # OCI: after /proc is mounted
        from lxcpy.runtime.masks import apply_masks

        apply_masks(cfg, root)
    gate = -1
    if cfg.start_gate:  # opened before pivot_root, reopened through /proc at the gate
        gate = os.open(cfg.start_gate, os.O_PATH | os.O_CLOEXEC)
    if spec.console is not None:
        spec.console.child_side(root)  # /dev/console, /dev/ttyN, the init's stdio
    if root is not None and cfg.tty_dir:
        from lxcpy.rootfs.dev import apply_tty_dir

        apply_tty_dir(root, cfg.tty_dir)
    run_hooks(spec, "mount")
    if root is not None and cfg.autodev:
        run_hooks(spec, "autodev")  # LXC: after the mount hooks, /dev populated, before pivot
    if cfg.oci_hooks:  # OCI: createRuntime (the supervisor's), then createContainer here
        _create_hooks(cfg, chan, root)
    if root is not None:
        _preload(spec)
        if home_mnt >= 0:  # OCI: into the runtime's or the joined mount namespace
            from lxcpy.runtime.ocimounts import enter_tree

            enter_tree(root, mounts.rootfs_read_only(cfg), home_mnt)
        else:
            # the seed's lxc.chroot too: a plain chroot(2) is escaped with a second chroot
            mounts.pivot(root, mounts.rootfs_read_only(cfg))
        if cfg.rootfs_propagation:  # OCI: / of the container's own mount namespace
            k.mount(None, "/", None, cfg.rootfs_propagation, None)
    sync.fault_point("mounted")
    chan.send(sync.MOUNTED)
    run_hooks(spec, "start")

    process.write_proc(cfg)  # lxc.proc.*
    process.set_prlimits(cfg)  # lxc.prlimit.*: last before the privilege drop
    process.set_personality(cfg)  # lxc.arch
    env = build_env(cfg, spec.caller_term)
    if cfg.init_umask is not None:
        os.umask(cfg.init_umask)
    if gate >= 0:
        _look_up(spec.argv[0], env)  # as runc: a missing program fails create, not start
        _wait_at_gate(chan, gate)
    _drop_privileges(cfg, spec.seccomp)
    cwd = cfg.init_cwd or ("/" if root is not None else spec.caller_cwd)
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise LxcError(f"lxc.init.cwd: cannot change to '{cwd}': {exc.strerror}") from None
    if cfg.oci_hooks.get("startContainer"):  # OCI: in the container, confined, before exec
        from lxcpy.runtime.hooks import container_hooks

        container_hooks(cfg, "startContainer", "created")

    if spec.mode == "execute":
        from lxcpy.runtime.init import run_init

        run_init(spec, chan, env)  # never returns
    if gate < 0:  # after the gate nobody listens: the creator has gone
        chan.send(sync.EXEC)
    _exec(spec.argv, env)
    raise LxcError(f"failed to exec '{spec.argv[0]}'")


def _look_up(program: str, env: dict[str, str]) -> None:
    if "/" in program:
        found = program if os.access(program, os.X_OK) else None
    else:  # shutil.which's rule, without shutil (its re and fnmatch: ~5 ms of an OCI create)
        found = next((p for p in (os.path.join(d, program) for d in
                                  env.get("PATH", DEFAULT_PATH).split(os.pathsep) if d)
                      if os.access(p, os.X_OK) and not os.path.isdir(p)), None)
    if found is None:
        raise LxcError(f'exec: "{program}": executable file not found in $PATH')
    if not os.path.isfile(found):
        raise LxcError(f'exec: "{program}": permission denied')


def _wait_at_gate(chan: Channel, gate: int) -> None:
    """OCI create/start: tell the supervisor we are set up, outlive it (it exits after
    create), then block opening the FIFO for writing until `start` opens it to read."""
    k.prctl(k.PR_SET_PDEATHSIG, 0)
    chan.send(sync.CREATED)
    try:
        fd = os.open(f"/proc/self/fd/{gate}", os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:  # nobody reads the channel now: the container's stderr
        os.write(2, f"cannot open the start gate: {exc.strerror}\n".encode())
        os._exit(1)
    os.close(gate)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)


def _preload(spec: ChildSpec) -> None:
    """Import now what runs after pivot_root, when the host's Python files are out of reach."""
    import lxcpy.runtime.init  # noqa: F401 - its execvpe runs the command after pivot_root
    from lxcpy.runtime.confine import preload

    preload(spec.seccomp)
    if spec.cfg.start_gate:  # OCI: what the gate and the capability sets use after it
        import lxcpy.runtime.capsets  # noqa: F401
    if spec.cfg.hooks.get("start") or spec.cfg.oci_hooks.get("startContainer"):
        import subprocess  # noqa: F401

        import lxcpy.jsonlite  # noqa: F401
        import lxcpy.runtime.hooks  # noqa: F401


def _create_hooks(cfg: ContainerConfig, chan: Channel, root: Root | None) -> None:
    """OCI, after the mounts, before pivot_root: the supervisor runs createRuntime in the
    runtime's namespaces, then createContainer runs here, in the rootfs (runc's order)."""
    if cfg.oci_hooks.get("createRuntime"):
        chan.send(sync.HOOKS)
        _wait(chan, sync.HOOKS)
    from lxcpy.runtime.hooks import container_hooks

    container_hooks(cfg, "createContainer", "creating", root.path if root else None)


def _wait(chan: Channel, name: str) -> sync.Message:
    """The supervisor's next message, which must be ``name``; anything else (its EOF: it
    died or gave up) ends us quietly: the supervisor cleans up."""
    message = chan.recv()
    if message.name != name:
        os._exit(1)
    return message


def _reset_signals() -> None:
    """Python ignores SIGPIPE and may have handlers: the container gets defaults."""
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, signal.SIGPWR, signal.SIGQUIT,
                signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGWINCH, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _close_fds(keep: set[int]) -> None:
    """Nothing of the supervisor's reaches the container (runc CVE-2024-21626 class)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def build_env(cfg: ContainerConfig, term: str | None) -> dict[str, str]:
    """LXC clears the environment: container=lxc, a PATH, and lxc.environment."""
    if cfg.env_exact:  # OCI: process.env as given
        return dict(cfg.environment)
    env = {"container": "lxc", "PATH": DEFAULT_PATH}
    if term:
        env["TERM"] = term  # an interactive shell needs it to draw its prompt
    for key, value in cfg.environment:
        env[key] = value
    return env


def _drop_privileges(cfg: ContainerConfig, seccomp: bytes | None) -> None:
    from lxcpy.runtime.confine import cap_names, confine

    if cfg.start_gate:  # OCI (runc's order): the ids first, keeping the capabilities
        _switch_ids_keeping_caps(cfg)
        if cfg.cap_sets is not None:
            from lxcpy.runtime import capsets

            capsets.apply(cfg.cap_sets, cfg.no_new_privs, seccomp)
            return
        confine(cap_names(cfg.cap_drop, cfg.cap_keep), cfg.no_new_privs, seccomp)
        return
    # capabilities, no_new_privs, then the seccomp filter (see confine); the uid/gid
    # switch after it only lowers privileges further
    confine(cap_names(cfg.cap_drop, cfg.cap_keep), cfg.no_new_privs, seccomp)
    if cfg.init_gid is not None:
        os.setgroups(cfg.init_groups)
        os.setgid(cfg.init_gid)
    elif cfg.init_groups:
        os.setgroups(cfg.init_groups)
    if cfg.init_uid is not None:
        os.setuid(cfg.init_uid)


def _switch_ids_keeping_caps(cfg: ContainerConfig) -> None:
    import prctl

    k.prctl(PR_SET_KEEPCAPS, 1)
    if cfg.init_groups or "user" not in cfg.namespace_share:
        os.setgroups(cfg.init_groups)
    else:  # a joined user namespace may deny setgroups (unshare -r): runc skips it then
        from lxcpy.runtime.namespaces import setgroups_allowed

        if setgroups_allowed():
            os.setgroups([])
    os.setgid(cfg.init_gid or 0)
    os.setuid(cfg.init_uid or 0)
    k.prctl(PR_SET_KEEPCAPS, 0)
    for name in prctl.ALL_CAP_NAMES:  # setuid() cleared the effective set
        if getattr(prctl.cap_permitted, name):
            setattr(prctl.cap_effective, name, True)


PR_SET_KEEPCAPS = 8


def _exec(argv: list[str], env: dict[str, str]) -> None:
    from lxcpy.runtime.init import execvpe  # preloaded; LXC's execvp (a script without #!: sh)

    try:
        execvpe(argv, env)
    except OSError as exc:
        raise LxcError(f"failed to exec '{argv[0]}': {exc.strerror}") from None


def run_hooks(spec: ChildSpec, hook: str) -> None:
    """Container-side hooks (pre-mount, mount, start) with LXC's arguments and environment."""
    commands = spec.cfg.hooks.get(hook)
    if not commands:
        return
    from lxcpy.runtime.hooks import run_hook

    run_hook(spec.name, spec.cfg, hook, commands)
