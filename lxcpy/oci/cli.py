"""The ``lxcpy-oci`` command line: runc's commands, options and exit codes.

Global options come before the command (``--root``, ``--log``, ``--log-format``,
``--debug``, ``--systemd-cgroup``); every failure is one line on stderr (and, with
``--log``, one entry in the log file, where podman's conmon and containerd look for it)
and exit status 1, as runc.
"""

from __future__ import annotations

import os
import sys

from lxcpy.oci.args import Args, Usage
from lxcpy.oci.state import Record, StateError, Store, state_json, status

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, json, signal and argparse cost every start: none at run time
    from typing import Any

VERSION = "0.1.0"


class Logger:
    """--log FILE (else stderr) in runc's text or JSON form."""

    def __init__(self, path: str | None, fmt: str, debug: bool) -> None:
        self.path, self.fmt, self.debug_on = path, fmt, debug

    def write(self, level: str, msg: str) -> None:
        if self.path is None:
            return
        import time

        from lxcpy import jsonlite

        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.fmt == "json":
            line = jsonlite.dumps({"level": level, "msg": msg, "time": stamp})
        else:
            line = f'time="{stamp}" level={level} msg={jsonlite.dumps(msg)}'
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError:
            pass

    def debug(self, msg: str) -> None:
        if self.debug_on:
            self.write("debug", msg)


def _parser() -> Any:
    """The grammar as argparse, for ``python -m lxcpy.cli.docs`` (man page, completion)."""
    from lxcpy.oci.args import argparse_parser

    return argparse_parser()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logger = Logger(None, "text", False)
    try:
        from lxcpy.oci.args import parse, usage

        args = parse(argv)
        logger = Logger(args.log, args.log_format, args.debug)
        if args.help:
            sys.stdout.write(usage(args.command))
            return 0
        if args.version:
            from lxcpy.oci.spec import OCI_VERSION

            print(f"lxcpy-oci version {VERSION}\nspec: {OCI_VERSION}")
            return 0
        if args.command is None:
            from lxcpy.oci.args import COMMANDS as GRAMMAR

            raise Usage("no command given (" + ", ".join(GRAMMAR) + ")")
        if args.systemd_cgroup:
            why = ("there is no systemd on this host" if not os.path.isdir("/run/systemd/system")
                   else "lxcpy-oci drives cgroupfs only")
            raise StateError(f"--systemd-cgroup is not supported: {why}")
        logger.debug(f"{args.command} {' '.join(argv)}")
        return int(COMMANDS[args.command](args, Store(args.root), logger) or 0)
    except Usage as exc:
        return _fail(logger, f"{exc}")
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        from lxcpy.errors import LxcError

        if isinstance(exc, LxcError):
            message = exc.message
        elif isinstance(exc, OSError):
            message = f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"
        else:
            message = str(exc) or exc.__class__.__name__
        if os.environ.get("LXCPY_OCI_TRACEBACK"):
            raise
        return _fail(logger, message)


def _fail(logger: Logger, message: str) -> int:
    logger.write("error", message)
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()
    return 1


# ---- commands ---------------------------------------------------------------------------
def _load_spec(bundle: str) -> tuple[Any, Any]:
    # the init's os.execvpe imports warnings; a mapped root (uidMappings) cannot read the
    # host's stdlib under /root, and a python -IS start has not loaded it: before the fork
    import warnings  # noqa: F401

    from lxcpy.oci.spec import load, to_config

    spec = load(bundle)

    def known(name: str) -> bool:
        from lxcpy.kernel.seccomp import known_syscall

        return known_syscall(name)

    return to_config(spec, bundle, known)


def cmd_create(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.oci.create import create
    from lxcpy.oci.state import check_id

    check_id(args.id)
    bundle = os.path.abspath(args.bundle)
    cfg, extras = _load_spec(bundle)
    if os.path.exists(store.dir(args.id)):
        raise StateError(f"container with id exists: {args.id}")
    create(store, args.id, bundle, cfg, extras, args.console_socket, args.pid_file,
           args.preserve_fds, args.no_new_keyring)
    return 0


def cmd_run(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.oci.create import create
    from lxcpy.oci.state import check_id

    check_id(args.id)
    bundle = os.path.abspath(args.bundle)
    cfg, extras = _load_spec(bundle)
    if extras.terminal and not args.console_socket and not args.detach:
        extras.terminal = False  # foreground: the process keeps our own terminal
    if os.path.exists(store.dir(args.id)):
        raise StateError(f"container with id exists: {args.id}")
    rec, creator = create(store, args.id, bundle, cfg, extras, args.console_socket,
                          args.pid_file, args.preserve_fds, args.no_new_keyring)
    _start(store, rec)
    if args.detach:
        return 0
    # we are the init's parent: forward the usual signals, wait, then delete (runc run)
    import signal

    pid = rec.pid

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH):
        signal.signal(sig, forward)
    while True:
        try:
            _, st = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(st)
    code = code if code >= 0 else 128 - code
    if not args.keep:
        _delete(store, args.id, force=True)
    return code


def cmd_start(args: Args, store: Store, logger: Logger) -> int:
    lock = store.lock(args.id)
    try:
        rec = store.load(args.id)
        st = status(store, rec)
        if st == "stopped":
            raise StateError("cannot start a container that has stopped")
        if st != "created":
            raise StateError(f"cannot start an already {st} container")
        _start(store, rec)
    finally:
        os.close(lock)
    return 0


def _start(store: Store, rec: Record) -> None:
    """Release the init from the gate: open the FIFO to read and take its byte."""
    import select

    from lxcpy.oci.state import start_time

    # (startContainer hooks run in the container, by its init after the gate: child.py)
    if rec.hooks.get("poststart"):  # imported before the gate: a short-lived process is
        from lxcpy.oci.create import run_hooks  # still running when poststart reads it
    fifo = store.fifo(rec.id)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                data = os.read(fd, 1)
                if data:
                    break
            if not rec.start_time or start_time(rec.pid) != rec.start_time:
                raise StateError("the container's init exited before it was started")
    finally:
        os.close(fd)
    os.unlink(fifo)
    if rec.hooks.get("poststart"):
        try:
            run_hooks("poststart", rec.hooks["poststart"], state_json(store, rec))
        except StateError as exc:
            sys.stderr.write(f"warning: {exc}\n")


def cmd_state(args: Args, store: Store, logger: Logger) -> int:
    rec = store.load(args.id)
    sys.stdout.write(pretty(state_json(store, rec), 2) + "\n")
    return 0


def pretty(obj: Any, indent: int, level: int = 0) -> str:
    """json.dumps(obj, indent=N) for dicts, lists and scalars, without importing json."""
    from lxcpy import jsonlite

    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{jsonlite.dumps(str(k))}: {pretty(v, indent, level + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(obj, list) and obj:
        return "[\n" + ",\n".join(inner + pretty(v, indent, level + 1) for v in obj) \
            + f"\n{pad}]"
    return jsonlite.dumps(obj)


def parse_signal(text: str) -> int:
    """15, TERM or SIGTERM (_signal's constants: signal's IntEnums cost ~3 ms a start)."""
    import _signal

    if text.isdigit():
        return int(text)
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    number = getattr(_signal, name, None) if not name.startswith("SIG_") else None
    if not isinstance(number, int):
        raise StateError(f"unknown signal \"{text}\"")
    return number


def cmd_kill(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.cgroups import fs

    sig = parse_signal(args.signal or "SIGTERM")
    rec = store.load(args.id)
    st = status(store, rec)
    if st == "stopped":
        raise StateError("container not running")
    if args.all:
        fs.signal_pids(fs.tree_pids(rec.cgroup_paths), sig)
    else:
        os.kill(rec.pid, sig)
    return 0


def cmd_delete(args: Args, store: Store, logger: Logger) -> int:
    if not os.path.isdir(store.dir(args.id)):
        if args.force:
            return 0
        raise StateError(f"container does not exist: {args.id}")
    _delete(store, args.id, args.force)
    return 0


def _delete(store: Store, cid: str, force: bool) -> None:
    from lxcpy.oci.state import drop_rundir, is_frozen

    lock = store.lock(cid)
    try:
        try:
            rec = store.load(cid)
        except StateError:
            store.remove(cid)  # a create that died before its record: nothing to stop
            return
        st = status(store, rec)
        if st in ("running", "paused") and not force:
            raise StateError(f"cannot delete container {cid} that is not stopped: {st}")
        if st != "stopped":
            if is_frozen(rec.cgroup_paths):
                _thaw(rec.cgroup_paths)
            _kill_and_wait(rec.pid, rec.start_time)
        from lxcpy.cgroups.fs import rmdir_if_empty  # not the cgroup layer: the usual case

        if rec.cgroup_paths and not rmdir_if_empty(rec.cgroup_paths):
            from lxcpy.cgroups import remove_paths  # something is left inside: kill, remove

            remove_paths(rec.cgroup_paths)
        if rec.seccomp:
            try:
                os.unlink(rec.seccomp)
            except FileNotFoundError:
                pass
        final = state_json(store, rec)
        final["status"] = "stopped"
        store.remove(cid)
        drop_rundir(store)
        if rec.hooks.get("poststop"):
            from lxcpy.oci.create import run_hooks

            try:
                run_hooks("poststop", rec.hooks["poststop"], final)
            except StateError as exc:
                sys.stderr.write(f"warning: {exc}\n")
    finally:
        os.close(lock)


def _kill_and_wait(pid: int, started: str) -> None:
    """SIGKILL the init and wait (its pidfd, no polling) until it has exited."""
    import select

    from lxcpy.oci.state import start_time

    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if start_time(pid) != started:  # the PID is another process's by now
            return
        import _signal

        _signal.pidfd_send_signal(pidfd, _signal.SIGKILL)
        select.select([pidfd], [], [], 10.0)  # readable once it has exited
        try:
            os.waitpid(pid, os.WNOHANG)  # ours (run): reap it
        except ChildProcessError:
            pass
    finally:
        os.close(pidfd)


def _freeze(paths: list[str]) -> None:
    from lxcpy.cgroups.v1 import freeze_dir

    for path in paths:
        if os.path.exists(os.path.join(path, "freezer.state")):
            freeze_dir(path, 10.0)
            return
    for path in paths:
        if os.path.exists(os.path.join(path, "cgroup.freeze")):
            with open(os.path.join(path, "cgroup.freeze"), "w") as f:
                f.write("1")
            return
    raise StateError("the container has no freezer cgroup")


def _thaw(paths: list[str]) -> None:
    from lxcpy.cgroups.v1 import thaw_dir

    for path in paths:
        if os.path.exists(os.path.join(path, "freezer.state")):
            thaw_dir(path, 10.0)
        elif os.path.exists(os.path.join(path, "cgroup.freeze")):
            with open(os.path.join(path, "cgroup.freeze"), "w") as f:
                f.write("0")


def cmd_pause(args: Args, store: Store, logger: Logger) -> int:
    lock = store.lock(args.id)
    try:
        rec = store.load(args.id)
        st = status(store, rec)
        if st != "running":
            raise StateError("container not running" if st == "stopped"
                             else f"cannot pause a container that is {st}")
        _freeze(rec.cgroup_paths)
    finally:
        os.close(lock)
    return 0


def cmd_resume(args: Args, store: Store, logger: Logger) -> int:
    lock = store.lock(args.id)
    try:
        rec = store.load(args.id)
        st = status(store, rec)
        if st != "paused":
            raise StateError("container not paused")
        _thaw(rec.cgroup_paths)
    finally:
        os.close(lock)
    return 0


def cmd_list(args: Args, store: Store, logger: Logger) -> int:
    states = []
    for cid in store.ids():
        try:
            states.append(state_json(store, store.load(cid)))
        except StateError:
            continue
    if args.quiet:
        for s in states:
            print(s["id"])
    elif args.format == "json":
        from lxcpy import jsonlite

        print(jsonlite.dumps(states))
    else:
        print(f"{'ID':<12} {'PID':<10} {'STATUS':<10} {'BUNDLE':<40} {'CREATED':<32} OWNER")
        for s in states:
            print(f"{s['id']:<12} {s['pid']:<10} {s['status']:<10} {s['bundle']:<40} "
                  f"{s['created']:<32} root")
    return 0


def cmd_ps(args: Args, store: Store, logger: Logger) -> int:
    import subprocess

    from lxcpy.cgroups import fs

    rec = store.load(args.id)
    pids = fs.tree_pids(rec.cgroup_paths) if status(store, rec) != "stopped" else []
    if args.format == "json":
        from lxcpy import jsonlite

        print(jsonlite.dumps(pids))
        return 0
    ps_args = [a for a in args.ps_args if a != "--"] or ["-ef"]
    out = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise StateError(f"ps: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return 0
    header = lines[0]
    try:
        col = header.split().index("PID")
    except ValueError:
        raise StateError("couldn't find PID field in ps output") from None
    print(header)
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in pids:
            print(line)
    return 0


def cmd_exec(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.oci import exec as oci_exec

    rec = store.load(args.id)
    st = status(store, rec)
    if st == "stopped":
        raise StateError("cannot exec in a stopped container")
    if st == "paused" and not args.ignore_paused:
        raise StateError("cannot exec in a paused container (use --ignore-paused to override)")
    if st == "created":
        raise StateError("cannot exec in a created container: start it first")
    if args.process_label or args.apparmor:
        raise StateError("no LSM is enabled on this host: --process-label/--apparmor refused")
    proc = _exec_process(args, rec)
    if args.cgroup:
        proc.cgroup_paths = _exec_cgroups(args.cgroup, rec.cgroup_paths)
    if proc.terminal and not args.console_socket and args.detach:
        raise StateError("cannot allocate tty if lxcpy-oci will detach without setting "
                         "console socket")
    if proc.terminal and not args.console_socket:
        proc.terminal = False  # foreground without a socket: our own stdio
    return oci_exec.run(rec.pid, rec.cgroup_paths, rec.seccomp, proc, args.console_socket,
                        args.pid_file, args.detach, args.preserve_fds)


def _exec_process(args: Args, rec: Record) -> Any:
    import json

    from lxcpy.oci.exec import Process

    if args.process:
        try:
            with open(args.process, encoding="utf-8") as f:
                spec = json.load(f)
        except (OSError, ValueError) as exc:
            raise StateError(f"{args.process}: {exc}") from None
        if not isinstance(spec, dict) or not spec.get("args"):
            raise StateError(f"{args.process}: process.args is empty")
        user = spec.get("user") or {}
        env = [tuple(e.split("=", 1)) for e in spec.get("env") or [] if "=" in e]
        caps = spec.get("capabilities")
        bounding = None
        if isinstance(caps, dict) and caps.get("bounding") is not None:
            bounding = [_cap_name(c) for c in caps["bounding"]]
        return Process(args=list(spec["args"]), env=env,
                       cwd=spec.get("cwd") or "/", uid=int(user.get("uid", 0)),
                       gid=int(user.get("gid", 0)),
                       groups=[int(g) for g in user.get("additionalGids") or []],
                       terminal=bool(spec.get("terminal")) or args.tty,
                       no_new_privs=bool(spec.get("noNewPrivileges")), bounding=bounding)
    cmd = [a for a in args.args]
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise StateError("exec: no command given (--process FILE or -- CMD...)")
    # defaults from the container's own process (runc reads its config the same way)
    base: dict[str, Any] = {}
    try:
        with open(rec.config, encoding="utf-8") as f:
            base = (json.load(f) or {}).get("process") or {}
    except (OSError, ValueError):
        pass
    env = [tuple(e.split("=", 1)) for e in base.get("env") or [] if "=" in e]
    for item in args.env:
        name, _, value = item.partition("=")
        env = [e for e in env if e[0] != name] + [(name, value)]
    uid, gid = int((base.get("user") or {}).get("uid", 0)), int((base.get("user")
                                                                   or {}).get("gid", 0))
    if args.user:
        u, _, g = args.user.partition(":")
        if not u.isdigit() or not (g or "0").isdigit():
            raise StateError(f"parsing {args.user} as int: uid and gid must be numbers "
                             "(<uid>[:<gid>])")
        uid, gid = int(u), int(g or 0)
    groups = []
    for text in args.additional_gids:
        for g in text.split(","):
            if not g.strip().isdigit():
                raise StateError(f"invalid additional-gids value {text}")
            groups.append(int(g))
    if args.cwd and not args.cwd.startswith("/"):
        raise StateError(f"cwd {args.cwd} is not an absolute path")
    return Process(args=cmd, env=env, cwd=args.cwd or base.get("cwd") or "/", uid=uid,
                   gid=gid, groups=groups, terminal=args.tty, no_new_privs=args.no_new_privs,
                   caps_add=[_cap_name(c) for c in args.cap])


def _cap_name(text: object) -> str:
    """CAP_NET_ADMIN (or NET_ADMIN) -> python-prctl's name, net_admin; else refused."""
    import prctl

    name = str(text).upper().removeprefix("CAP_").lower()
    if name not in prctl.ALL_CAP_NAMES:
        raise StateError(f'unknown capability "{text}"')
    return name


def _exec_cgroups(specs: list[str], paths: list[str]) -> list[str]:
    """exec --cgroup [CONTROLLER[,CONTROLLER]:]SUB: join SUB below the container's
    cgroup (in the named controllers' hierarchies only), as runc's exec --cgroup."""
    from lxcpy.cgroups import detect

    layout = detect()
    out = list(paths)
    for spec in specs:
        ctrls, sep, sub = spec.rpartition(":")
        parts = [p for p in sub.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise StateError(f"invalid --cgroup argument: {spec}")
        mounts: list[str] | None = None
        if sep:
            mounts = []
            for ctrl in ctrls.split(","):
                mount = layout.v1_mount(ctrl)
                if mount is None:
                    raise StateError(f"invalid --cgroup argument: {spec}: no {ctrl} "
                                     "controller (cgroup v2 takes a path alone)")
                mounts.append(mount.rstrip("/") + "/")
        found = False
        for i, path in enumerate(paths):
            if mounts is not None and not any(path.startswith(m) for m in mounts):
                continue
            target = os.path.join(path, *parts)
            if os.path.isdir(target):
                out[i], found = target, True
            elif mounts is not None:  # named controllers: each must have it
                raise StateError(f"exec --cgroup: {target}: no such cgroup")
        if not found:
            raise StateError(f"exec --cgroup: {spec}: no such sub-cgroup of the container")
    return out


def cmd_features(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.oci import seccomp as sc
    from lxcpy.oci.spec import _FLAG_OPTIONS, HOOKS, NAMESPACES, OCI_VERSION

    try:
        import prctl

        caps = ["CAP_" + c.upper() for c in prctl.ALL_CAP_NAMES]
    except ImportError:
        caps = []
    features = {
        "ociVersionMin": "1.0.0", "ociVersionMax": OCI_VERSION,
        "hooks": list(HOOKS), "mountOptions": sorted(_FLAG_OPTIONS),
        "linux": {
            "namespaces": list(NAMESPACES), "capabilities": caps,
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": True, "actions": sorted(sc.ACTIONS),
                        "operators": sorted(sc.OPS), "archs": sorted(sc.ARCHES)},
            "apparmor": {"enabled": False}, "selinux": {"enabled": False},
        },
        "annotations": {"org.lxcpy.oci.version": VERSION},
    }
    print(pretty(features, 4))
    return 0


def cmd_spec(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.oci.spec import SPEC_FILE, default_spec

    if args.rootless:
        raise StateError("spec --rootless: rootless containers are not supported")
    path = os.path.join(args.bundle, SPEC_FILE)
    if os.path.exists(path):
        raise StateError(f"File {SPEC_FILE} exists. Remove it first or use a different "
                         "directory")
    with open(path, "w", encoding="utf-8") as f:
        import json

        json.dump(default_spec(), f, indent="\t")
        f.write("\n")
    return 0


def cmd_update(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.oci import update

    lock = store.lock(args.id)
    try:
        rec = store.load(args.id)
        if status(store, rec) == "stopped":
            raise StateError("container not running")
        res = update.from_file(args.resources) if args.resources else update.from_flags(args)
        rec.resources = update.apply(rec, res)
        store.save(rec)
    finally:
        os.close(lock)
    return 0


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration for the common forms: 5s, 500ms, 1m30s, 2h."""
    import re

    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise StateError(f"invalid value \"{text}\" for flag -interval: parse error")
    seconds = sum(float(n) * units[u] for n, u in parts)
    if seconds <= 0:
        raise StateError("duration interval must be greater than 0")
    return seconds


def cmd_events(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.oci import events

    interval = parse_duration(args.interval)
    rec = store.load(args.id)
    if status(store, rec) == "stopped":
        raise StateError(f"container with id {args.id} is not running")
    if args.stats:
        print(events.event("stats", rec.id, events.stats(rec.cgroup_paths)))
        return 0
    return events.watch(rec.id, rec.pid, rec.start_time, rec.cgroup_paths, interval)


def _criu_refusal(what: str) -> StateError:
    """CRIU's own reason where it cannot work here (lxc-checkpoint's probe); else lxcpy's:
    a restored tree would need its state record, cgroups and console rebuilt around it,
    which lxcpy-oci does not do, so no checkpoint is offered that could not be restored."""
    from lxcpy.cli.checkpoint import criu_problem

    problem = criu_problem()
    if problem is not None:
        return StateError(f"{what}: criu cannot work on this host: {problem}")
    return StateError(f"{what}: not supported by lxcpy-oci (CRIU works here, but a restored "
                      "container's cgroups, state and console are not rebuilt)")


def cmd_checkpoint(args: Args, store: Store, logger: Logger) -> int:
    rec = store.load(args.id)
    st = status(store, rec)
    if st not in ("running", "paused"):
        raise StateError("container is not running" if st == "stopped"
                         else f"cannot checkpoint a container that is {st}")
    raise _criu_refusal("checkpoint")


def cmd_restore(args: Args, store: Store, logger: Logger) -> int:
    from lxcpy.oci.state import check_id

    check_id(args.id)
    if os.path.exists(store.dir(args.id)):
        raise StateError(f"container with id exists: {args.id}")
    image = args.image_path or os.path.join(os.getcwd(), "checkpoint")
    if not os.path.isdir(image):
        raise StateError(f"stat {image}: no such file or directory")
    _load_spec(os.path.abspath(args.bundle))  # a bad bundle says so first, as runc
    raise _criu_refusal("restore")


COMMANDS = {
    "update": cmd_update, "events": cmd_events, "checkpoint": cmd_checkpoint,
    "restore": cmd_restore,
    "create": cmd_create, "run": cmd_run, "start": cmd_start, "state": cmd_state,
    "kill": cmd_kill, "delete": cmd_delete, "pause": cmd_pause, "resume": cmd_resume,
    "list": cmd_list, "ps": cmd_ps, "exec": cmd_exec, "features": cmd_features,
    "spec": cmd_spec,
}
