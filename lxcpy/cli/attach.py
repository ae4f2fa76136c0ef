"""lxc-attach -n NAME [-f CONFIG] [-a ARCH] [-e [PRIVS]] [-s NAMESPACES] [-R] [--keep-env]
[--clear-env] [-v VAR=VALUE] [--keep-var VAR] [-u UID] [-g GID] [-- COMMAND...]"""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import COMMAND_CONTEXT, common_options, declare, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click

# -s names (LXC's, and the lxc.namespace.* ones) -> lxcpy's namespace names
NAMESPACE_NAMES = {"MOUNT": "mnt", "MNT": "mnt", "PID": "pid", "UTSNAME": "uts", "UTS": "uts",
                   "IPC": "ipc", "USER": "user", "NETWORK": "net", "NET": "net",
                   "CGROUP": "cgroup", "TIME": "time"}
PRIVILEGES = ("CGROUP", "CAP", "LSM")
ALL_PRIVILEGES = "|".join(PRIVILEGES)


def parse_namespaces(text: str) -> list[str]:
    """'NETWORK|IPC' -> ['net', 'ipc'] (LXC's pipe-separated list)."""
    from lxcpy.errors import UsageError

    out = []
    for word in text.split("|"):
        name = NAMESPACE_NAMES.get(word.strip().upper())
        if name is None:
            raise UsageError(f"invalid namespace '{word.strip()}' in -s (MOUNT, PID, UTSNAME, "
                             "IPC, USER, NETWORK, CGROUP)")
        out.append(name)
    return out


def parse_privileges(text: str) -> list[str]:
    """'CGROUP|LSM' -> ['CGROUP', 'LSM'] (LXC's -e list)."""
    from lxcpy.errors import UsageError

    out = []
    for word in text.split("|"):
        name = word.strip().upper()
        if name not in PRIVILEGES:
            raise UsageError(f"invalid privilege '{word.strip()}' in -e (CGROUP, CAP, LSM)")
        out.append(name)
    return out


def personality_of_arch(arch: str) -> int | None:
    """-a ARCH as lxc.arch reads it (x86_64, i686, linux32, ...): personality(2) value."""
    from lxcpy.config import parse_text
    from lxcpy.runtime.process import personality_of

    return personality_of(parse_text(f"lxc.arch = {arch}\n", "-a"))


def run(name: str, lxcpath: str, clear_env: bool, keep_env: bool,
        variables: tuple[str, ...], command_args: tuple[str, ...],
        keep_vars: tuple[str, ...] = (), uid: int | None = None, gid: int | None = None,
        namespaces: str | None = None, elevated: str | None = None, arch: str | None = None,
        remount_sys_proc: bool = False, rcfile: str | None = None,
        pty_log: str | None = None, context: str | None = None, **_: object) -> None:
    """Run COMMAND (default: a shell) inside a running container."""
    import os

    from lxcpy.container import Container
    from lxcpy.errors import UsageError

    if context is not None:
        raise UsageError("-c/--context: SELinux is not enabled on this host (lxcpy has no "
                         "SELinux support); refusing to attach without the asked context")
    if clear_env and keep_env:
        raise UsageError("--clear-env and --keep-env exclude each other")
    env = {}
    if clear_env:
        # --keep-var VAR: this one passes the cleared environment (LXC: with --clear-env)
        env.update({var: os.environ[var] for var in keep_vars if var in os.environ})
    for item in variables:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid variable '{item}': expected VAR=VALUE")
        env[key] = value
    personality = None
    if rcfile is not None:
        # LXC attaches with this config: its lxc.init.uid/gid and lxc.arch are the defaults
        # of -u/-g/-a (the confinement stays the running container's)
        from lxcpy.runtime.process import personality_of

        cfg = Container(name, lxcpath).load_config(config_file=rcfile)
        uid = cfg.init_uid if uid is None else uid
        gid = cfg.init_gid if gid is None else gid
        personality = personality_of(cfg)
    if arch is not None:
        personality = personality_of_arch(arch)
    joined = None
    privileges: list[str] = []
    if namespaces is not None:
        joined = parse_namespaces(namespaces)
        privileges = list(PRIVILEGES)  # LXC: -s implies -e
    if elevated is not None:
        privileges = parse_privileges(elevated)
    args = list(command_args)
    if args and args[0] == "--":
        args = args[1:]
    raise SystemExit(Container(name, lxcpath).attach_wait(
        args, env, clear_env, uid=uid, gid=gid, namespaces=joined, elevated=privileges,
        personality=personality, remount_sys_proc=remount_sys_proc, output_log=pty_log))


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=COMMAND_CONTEXT),
        common_options(rcfile=False),
        click.option("-f", "--rcfile", "rcfile", metavar="FILE",
                     help="attach with this config: its lxc.init.uid/gid and lxc.arch"),
        click.option("-a", "--arch", "arch", help="architecture the command sees (as lxc.arch)"),
        click.option("-e", "--elevated-privileges", "elevated", is_flag=False,
                     flag_value=ALL_PRIVILEGES, metavar="[CGROUP|CAP|LSM]",
                     help="keep these privileges (all without a value): stay out of the "
                          "container's cgroup, keep the capabilities; its seccomp filter "
                          "and no_new_privs still apply"),
        click.option("-s", "--namespaces", "namespaces", metavar="NS|NS",
                     help="join only these namespaces (MOUNT, PID, UTSNAME, IPC, USER, "
                          "NETWORK, CGROUP); implies -e"),
        click.option("-R", "--remount-sys-proc", "remount_sys_proc", is_flag=True,
                     help="with -s without MOUNT: mount a fresh /proc and /sys"),
        click.option("-L", "--pty-log", "pty_log", metavar="FILE",
                     help="also append the command's output (stdout and stderr) to FILE; "
                          "lxcpy allocates no pty: the command writes to a pipe"),
        click.option("-c", "--context", "context",
                     help="SELinux context (refused: SELinux is not enabled)"),
        click.option("--clear-env", is_flag=True, help="clear the environment before attaching"),
        click.option("--keep-env", is_flag=True, help="keep the environment (default)"),
        click.option("-v", "--set-var", "variables", multiple=True, metavar="VAR=VALUE",
                     help="set an environment variable in the attached program"),
        click.option("--keep-var", "keep_vars", multiple=True, metavar="VAR",
                     help="with --clear-env: keep VAR of the environment"),
        click.option("-u", "--uid", "uid", type=int, help="run the command as UID"),
        click.option("-g", "--gid", "gid", type=int, help="run the command as GID"),
        click.argument("command_args", nargs=-1, type=click.UNPROCESSED),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    fastpath.Opt(("-f", "--rcfile"), "rcfile"),
    fastpath.Opt(("-a", "--arch"), "arch"),
    fastpath.Opt(("-e", "--elevated-privileges"), "elevated", flag_value=ALL_PRIVILEGES,
                 optional_value=True),
    fastpath.Opt(("-s", "--namespaces"), "namespaces"),
    fastpath.flag(("-R", "--remount-sys-proc"), "remount_sys_proc"),
    fastpath.Opt(("-L", "--pty-log"), "pty_log"),
    fastpath.Opt(("-c", "--context"), "context"),
    fastpath.flag(("--clear-env",), "clear_env"),
    fastpath.flag(("--keep-env",), "keep_env"),
    fastpath.Opt(("-v", "--set-var"), "variables", multiple=True, default=()),
    fastpath.Opt(("--keep-var",), "keep_vars", multiple=True, default=()),
    fastpath.Opt(("-u", "--uid"), "uid", convert=int),
    fastpath.Opt(("-g", "--gid"), "gid", convert=int),
    args=(fastpath.Arg("command_args", nargs=-1, required=False),),
    interspersed=False,
)
main = entry("lxc-attach", build, FAST, run)
