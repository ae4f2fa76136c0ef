"""lxcpy-oci's command line grammar: runc's global options, commands and their options.

A table and a small parser rather than argparse: argparse brings re, gettext and shutil
(~10 ms of every start on these machines), and podman calls the runtime several times
per container. The grammar is runc's (urfave/cli): global options before the command;
``--flag value`` or ``--flag=value``; a command's options and its positionals in any
order, except that everything after the id of ``exec`` and ``ps`` is the command line
to run / ps's own arguments. A usage error raises :class:`Usage` (one line, exit 1).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_ROOT = "/run/lxcpy-oci"
BOOL, VALUE, LIST, INT = "bool", "value", "list", "int"

# names -> (dest, kind, default)
Option = tuple[tuple[str, ...], str, str, object]

GLOBAL: list[Option] = [
    (("--root",), "root", VALUE, DEFAULT_ROOT), (("--log",), "log", VALUE, None),
    (("--log-format",), "log_format", VALUE, "text"), (("--debug",), "debug", BOOL, False),
    (("--systemd-cgroup",), "systemd_cgroup", BOOL, False),
    (("--rootless",), "rootless", VALUE, "auto"), (("--criu",), "criu", VALUE, None),
    (("-v", "--version"), "version", BOOL, False), (("-h", "--help"), "help", BOOL, False),
]
_CREATE: list[Option] = [
    (("-b", "--bundle"), "bundle", VALUE, "."), (("--pid-file",), "pid_file", VALUE, None),
    (("--console-socket",), "console_socket", VALUE, None),
    (("--no-pivot",), "no_pivot", BOOL, False),
    (("--no-new-keyring",), "no_new_keyring", BOOL, False),
    (("--preserve-fds",), "preserve_fds", INT, 0),
]
_CRIU: list[Option] = [
    (("--image-path",), "image_path", VALUE, None), (("--work-path",), "work_path", VALUE, None),
    (("--tcp-established",), "tcp_established", BOOL, False),
    (("--ext-unix-sk",), "ext_unix_sk", BOOL, False), (("--shell-job",), "shell_job", BOOL, False),
    (("--file-locks",), "file_locks", BOOL, False),
    (("--manage-cgroups-mode",), "manage_cgroups_mode", VALUE, None),
    (("--empty-ns",), "empty_ns", LIST, None), (("--auto-dedup",), "auto_dedup", BOOL, False),
    (("--lazy-pages",), "lazy_pages", BOOL, False),
]
_UPDATE_FLAGS = ("memory", "memory-reservation", "memory-swap", "kernel-memory",
                 "kernel-memory-tcp", "cpu-share", "cpu-period", "cpu-quota", "cpu-rt-period",
                 "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "pids-limit", "blkio-weight",
                 "l3-cache-schema", "mem-bw-schema")

# command -> (options, positionals); a positional ending in "?" is optional, "*" takes
# the rest of the line
COMMANDS: dict[str, tuple[list[Option], list[str]]] = {
    "create": (_CREATE, ["id"]),
    "run": (_CREATE + [(("-d", "--detach"), "detach", BOOL, False),
                       (("--keep",), "keep", BOOL, False)], ["id"]),
    "start": ([], ["id"]),
    "state": ([], ["id"]),
    "kill": ([(("-a", "--all"), "all", BOOL, False)], ["id", "signal?"]),
    "delete": ([(("-f", "--force"), "force", BOOL, False)], ["id"]),
    "pause": ([], ["id"]),
    "resume": ([], ["id"]),
    "list": ([(("-f", "--format"), "format", VALUE, "table"),
              (("-q", "--quiet"), "quiet", BOOL, False)], []),
    "ps": ([(("-f", "--format"), "format", VALUE, "table")], ["id", "ps_args*"]),
    "exec": ([(("-p", "--process"), "process", VALUE, None), (("-t", "--tty"), "tty", BOOL, False),
              (("-d", "--detach"), "detach", BOOL, False),
              (("--pid-file",), "pid_file", VALUE, None),
              (("--console-socket",), "console_socket", VALUE, None),
              (("--cwd",), "cwd", VALUE, None), (("-e", "--env"), "env", LIST, None),
              (("-u", "--user"), "user", VALUE, None),
              (("-g", "--additional-gids"), "additional_gids", LIST, None),
              (("--no-new-privs",), "no_new_privs", BOOL, False),
              (("-c", "--cap"), "cap", LIST, None), (("--preserve-fds",), "preserve_fds", INT, 0),
              (("--process-label",), "process_label", VALUE, None),
              (("--apparmor",), "apparmor", VALUE, None),
              (("--ignore-paused",), "ignore_paused", BOOL, False),
              (("--cgroup",), "cgroup", LIST, None)], ["id", "args*"]),
    "update": ([(("-r", "--resources"), "resources", VALUE, None)]
               + [((f"--{f}",), f.replace("-", "_"), VALUE, None) for f in _UPDATE_FLAGS],
               ["id"]),
    "events": ([(("--interval",), "interval", VALUE, "5s"),
                (("--stats",), "stats", BOOL, False)], ["id"]),
    "checkpoint": (_CRIU + [(("--parent-path",), "parent_path", VALUE, None),
                            (("--leave-running",), "leave_running", BOOL, False),
                            (("--pre-dump",), "pre_dump", BOOL, False),
                            (("--page-server",), "page_server", VALUE, None),
                            (("--status-fd",), "status_fd", INT, -1)], ["id"]),
    "restore": (_CRIU + [(("--console-socket",), "console_socket", VALUE, None),
                         (("-b", "--bundle"), "bundle", VALUE, "."),
                         (("-d", "--detach"), "detach", BOOL, False),
                         (("--pid-file",), "pid_file", VALUE, None),
                         (("--no-subreaper",), "no_subreaper", BOOL, False),
                         (("--no-pivot",), "no_pivot", BOOL, False),
                         (("--lsm-profile",), "lsm_profile", VALUE, None),
                         (("--lsm-mount-context",), "lsm_mount_context", VALUE, None)], ["id"]),
    "features": ([], []),
    "spec": ([(("-b", "--bundle"), "bundle", VALUE, "."),
              (("--rootless",), "rootless", BOOL, False)], []),
}
CHOICES = {"log_format": ("text", "json"), "format": ("table", "json")}


class Usage(Exception):
    """A command line runc would refuse: one line, exit status 1."""


class Args:
    """The parsed command line: one attribute per option and positional."""

    command: str | None = None

    def __getattr__(self, name: str) -> Any:  # an option another command has: unset
        if name.startswith("__"):
            raise AttributeError(name)
        return None


def _table(options: list[Option]) -> dict[str, tuple[str, str]]:
    return {name: (dest, kind) for names, dest, kind, _ in options for name in names}


def _defaults(args: Args, options: list[Option]) -> None:
    for _, dest, kind, default in options:
        setattr(args, dest, [] if kind == LIST else default)


def _option(args: Args, table: dict[str, tuple[str, str]], argv: list[str], i: int) -> int:
    """Take the option at argv[i] (and its value); the index after it."""
    token = argv[i]
    name, eq, attached = token.partition("=") if token.startswith("--") else (token, "", "")
    if name not in table:
        raise Usage(f"flag provided but not defined: {name}")
    dest, kind = table[name]
    if kind == BOOL:
        if eq:
            if attached not in ("true", "false"):
                raise Usage(f"invalid boolean value {attached!r} for {name}")
            setattr(args, dest, attached == "true")
        else:
            setattr(args, dest, True)
        return i + 1
    if eq:
        value, i = attached, i + 1
    elif i + 1 < len(argv):
        value, i = argv[i + 1], i + 2
    else:
        raise Usage(f"flag needs an argument: {name}")
    if dest in CHOICES and value not in CHOICES[dest]:
        raise Usage(f"argument {name}: invalid choice: {value!r} "
                    f"(choose from {', '.join(CHOICES[dest])})")
    if kind == INT:
        try:
            setattr(args, dest, int(value))
        except ValueError:
            raise Usage(f"invalid value {value!r} for flag {name}") from None
    elif kind == LIST:
        getattr(args, dest).append(value)
    else:
        setattr(args, dest, value)
    return i


def parse(argv: list[str]) -> Args:
    args = Args()
    _defaults(args, GLOBAL)
    table = _table(GLOBAL)
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        i = _option(args, table, argv, i)
    if i == len(argv):
        return args
    command = argv[i]
    if command not in COMMANDS:
        raise Usage(f"argument command: invalid choice: {command!r} (choose from "
                    f"{', '.join(COMMANDS)})")
    args.command = command
    options, positionals = COMMANDS[command]
    _defaults(args, options)
    table = _table(options + [(("-h", "--help"), "help", BOOL, False)])
    values: list[str] = []
    i += 1
    rest = positionals[-1].endswith("*") if positionals else False
    fixed = len(positionals) - (1 if rest else 0)
    while i < len(argv):
        token = argv[i]
        if rest and len(values) == fixed:  # after exec's / ps's id: theirs, verbatim
            values.extend(argv[i:])
            break
        if token == "--":
            values.extend(argv[i + 1:])
            break
        if token.startswith("-") and token != "-" and len(token) > 1:
            i = _option(args, table, argv, i)
            continue
        values.append(token)
        i += 1
    if args.help:
        return args
    for n, name in enumerate(positionals):
        if name.endswith("*"):
            setattr(args, name[:-1], values[n:])
            values = values[:n]
            break
        if n < len(values):
            setattr(args, name.rstrip("?"), values[n])
        elif name.endswith("?"):
            setattr(args, name[:-1], None)
        else:
            raise Usage(f"{command}: the following arguments are required: "
                        f"{name.rstrip('?')}" + (" (container id)" if name == "id" else ""))
    if len(values) > len(positionals):
        raise Usage(f"{command}: unrecognized arguments: {' '.join(values[len(positionals):])}")
    return args


def usage(command: str | None) -> str:
    """--help: the commands, or one command's options."""
    if command is None:
        return ("usage: lxcpy-oci [--root DIR] [--log F] [--log-format text|json] [--debug] "
                "COMMAND ...\n\nAn OCI runtime over lxcpy (runc's command line).\n\ncommands: "
                + ", ".join(COMMANDS) + "\n")
    options, positionals = COMMANDS[command]
    flags = " ".join(f"[{'|'.join(names)}{'' if kind == BOOL else ' V'}]"
                     for names, _, kind, _ in options)
    words = " ".join(p.rstrip("?*").upper() + ("..." if p.endswith("*") else "")
                     for p in positionals)
    return f"usage: lxcpy-oci {command} {flags} {words}".rstrip() + "\n"


def argparse_parser() -> Any:
    """The same grammar as an argparse parser, for the man page and bash completion
    (``python -m lxcpy.cli.docs``); never on a command's path."""
    import argparse

    def add(p: argparse.ArgumentParser, options: list[Option]) -> None:
        for names, dest, kind, default in options:
            if "--help" in names:
                continue
            if kind == BOOL:
                p.add_argument(*names, dest=dest, action="store_true")
            else:
                p.add_argument(*names, dest=dest, default=default,
                               action="append" if kind == LIST else "store",
                               choices=CHOICES.get(dest))

    p = argparse.ArgumentParser(prog="lxcpy-oci",
                                description="An OCI runtime over lxcpy (runc's command line)")
    add(p, GLOBAL)
    sub = p.add_subparsers(dest="command")
    for name, (options, positionals) in COMMANDS.items():
        c = sub.add_parser(name)
        add(c, options)
        for word in positionals:
            c.add_argument(word.rstrip("?*"), nargs="?" if word.endswith("?") else
                           (argparse.REMAINDER if word.endswith("*") else None))
    return p
