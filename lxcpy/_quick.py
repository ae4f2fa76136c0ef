"""The plainest invocations of the client commands, answered before the rest of lxcpy loads.

``lxc-state -n NAME``, ``lxc-info -n NAME -s|-p [-H]``, ``lxc-freeze``/``lxc-unfreeze -n
NAME``, ``lxc-stop -n NAME [-k]`` and ``lxc-kill -n NAME [-s] SIGNAL`` (each with ``-P
DIR`` or not) are the commands scripts run in loops. A bare interpreter runs ~21 M
instructions here; ``import os`` alone adds 5 M (``_collections_abc``'s ABCs), and the
modules of the full path (fastpath, common, paths, container, errors, runtime.commands,
jsonlite, ``__future__``) another ~3 M; each module costs ~0.3 M before its code runs. This
module imports neither: ``posix``, ``_socket`` and ``_sha256``, and of lxcpy only its package
(it lives beside lxcpy.cli rather than in it for that reason: the launchers of these
commands call :func:`answer` before they import their command's module).

It answers only what it can answer exactly as the full command does (same output, exit
status and error line) and returns for anything else, which the full command then does
from the start: another option or a repeated one, a non-root caller, a name or lxcpath
that is not plain (non-ASCII, a symlink on the way: the run directory hashes its
realpath), a record left by a killed supervisor, a refused connection, a reply it does
not know. Up to the request, it has only looked (stat, lstat, a connect); a request it has
sent (freeze, unfreeze, kill) is never sent twice: an answer other than success is handed
to the full command's client (``lxcpy.runtime.commands.replay``), which then acts on it as
if it had just received it. tests/unit/test_quick.py checks it against the full path.
"""

import posix
import sys

# stat's S_IFMT values, without importing stat
_S_IFMT, _S_IFLNK, _S_IFREG = 0o170000, 0o120000, 0o100000

# LXC's options of each command that this module takes; anything else goes to the full one
_VALUES = {"-n": "name", "--name": "name", "-P": "lxcpath", "--lxcpath": "lxcpath"}
_KILL_VALUES = {**_VALUES, "-s": "signal", "--signal": "signal"}
_FLAGS: dict[str, dict[str, str]] = {
    "lxc-state": {},
    "lxc-info": {"-s": "show_state", "--state": "show_state", "-p": "show_pid",
                 "--pid": "show_pid", "-H": "raw", "--no-humanize": "raw"},
    "lxc-freeze": {},
    "lxc-unfreeze": {},
    "lxc-stop": {"-k": "kill", "--kill": "kill"},
    "lxc-kill": {},
}


class _Fallback(Exception):
    """Not ours: the full command does it (nothing was sent)."""


def answer(prog: str) -> None:
    """Run ``prog``'s invocation and exit, or return for the full command to run it.
    Called once, by the command's launcher (bin/), before it imports the command."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None) or ""
    if not main_file.rpartition("/")[2].startswith("lxc-") or sys.stdout is None:
        return  # called by a Python program: os._exit is not ours to call
    job: dict[str, object] | None = None
    try:
        job = _parse(prog, sys.argv[1:])
        if job is None:
            return
        code = _run(prog, job)
    except _Fallback:
        return
    except KeyboardInterrupt:
        _fail(prog, str(job["name"]) if job else None, "interrupted", 130)
    except Exception:  # noqa: BLE001 - whatever surprised it, the full command does it all
        return
    _exit(code)


def _parse(prog: str, argv: list[str]) -> dict[str, object] | None:
    """The options, as lxcpy.cli.fastpath would give them, or None when not plain."""
    flags = _FLAGS.get(prog)
    if flags is None:
        return None
    values = _KILL_VALUES if prog == "lxc-kill" else _VALUES
    job: dict[str, object] = {}
    positional: list[str] = []
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        value: object
        if arg[:2] == "--":
            key, eq, text = arg.partition("=")
            if key in flags and not eq:
                dest, value = flags[key], True
            elif key in values:
                if not eq:
                    if not rest:
                        return None
                    text = rest.pop(0)
                dest, value = values[key], text
            else:
                return None  # "--", --rcfile, -o, -l, -q, --help, ...
        elif arg[:1] == "-" and len(arg) > 1:
            key = arg[:2]
            if key in flags and len(arg) == 2:
                dest, value = flags[key], True
            elif key in values:
                value = arg[2:]
                if not value:
                    if not rest:
                        return None
                    value = rest.pop(0)
                dest = values[key]
            else:
                return None
        else:
            positional.append(arg)
            continue
        if dest in job or (isinstance(value, str) and (not value or value[0] == "-")):
            return None  # repeated, empty, or a value click reads differently
        job[dest] = value
    if prog == "lxc-kill" and len(positional) == 1 and "signal" not in job:
        job["signal"] = positional.pop()
    if positional or not _plain(job.get("name")):
        return None
    if prog == "lxc-info" and not (job.get("show_state") or job.get("show_pid")):
        return None  # the whole report: the full command
    if prog == "lxc-kill" and "signal" not in job:
        return None
    return job


def _plain(name: object) -> bool:
    """A name lxcpy.paths.check_name accepts and that needs no escaping in a message."""
    return (isinstance(name, str) and name.isascii() and name.isprintable()
            and name not in (".", "..") and "/" not in name and 0 < len(name) <= 64)


def _env(key: str) -> str:
    os = sys.modules.get("os")  # os.environ once imported (a caller may have changed it)
    if os is not None:
        return str(os.environ.get(key) or "")
    value = posix.environ.get(key.encode())
    return value.decode(sys.getfilesystemencoding(), "surrogateescape") if value else ""


def default_lxcpath() -> str:
    """lxcpy.paths.default_lxcpath() for root: $LXC_LXCPATH, lxc.conf's lxc.lxcpath
    ($LXC_GLOBAL_CONF), /var/lib/lxc."""
    found = _env("LXC_LXCPATH")
    if found:
        return found
    try:
        with open(_env("LXC_GLOBAL_CONF") or "/etc/lxc/lxc.conf", encoding="utf-8",
                  errors="surrogateescape") as f:
            text = f.read()
    except OSError:
        text = ""
    for line in text.splitlines():  # paths.global_config's rule: the last line wins
        key, eq, value = line.partition("=")
        if eq and not key.lstrip().startswith("#") and key.strip() == "lxc.lxcpath":
            found = value.strip()
    return found or "/var/lib/lxc"


def _own_realpath(path: str) -> bool:
    """True when os.path.realpath(path) is ``path``: absolute, no empty, ``.`` or ``..``
    part, and no symlink on the way (a part that does not exist ends no realpath)."""
    parts = path.split("/")
    if parts[0] != "" or any(part in ("", ".", "..") for part in parts[1:]):
        return False
    prefix = ""
    for part in parts[1:]:
        prefix += "/" + part
        try:
            mode = posix.lstat(prefix).st_mode
        except OSError:
            continue
        if mode & _S_IFMT == _S_IFLNK:
            return False
    return True


def rundir(lxcpath: str) -> str:
    """lxcpy.paths.lxcpath_rundir for a path that is its own realpath, root's run root."""
    try:
        from _sha256 import sha256  # 3.12 renamed it _sha2: the full path then
    except ImportError:
        raise _Fallback from None
    root = _env("LXCPY_RUNDIR") or "/run/lxcpy"
    digest = sha256(lxcpath.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return root + digest if root.endswith("/") else root + "/" + digest


def _mode(path: str) -> int | None:
    """The file's mode; None when it is not there (the full path's FileNotFoundError and
    NotADirectoryError); any other error is the full command's to report."""
    try:
        return posix.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        raise _Fallback from None


def _exists(path: str) -> bool:
    try:  # os.path.exists
        posix.stat(path)
    except (OSError, ValueError):
        return False
    return True


def _is_file(path: str) -> bool:
    try:  # os.path.isfile
        return posix.stat(path).st_mode & _S_IFMT == _S_IFREG
    except (OSError, ValueError):
        return False


def _run(prog: str, job: dict[str, object]) -> int:
    if posix.geteuid() != 0:
        raise _Fallback  # another user's lxcpath, run directory and lxc.conf
    name = str(job["name"])
    lxcpath = str(job.get("lxcpath") or default_lxcpath())
    if not _own_realpath(lxcpath):
        raise _Fallback
    run = rundir(lxcpath)
    socket = f"{run}/{name}.sock"
    config = f"{lxcpath}/{name}/config"
    if _mode(socket) is None:
        # no supervisor; the full command recovers what a killed one left, and says
        # what a request to a stopped container says
        if prog not in ("lxc-state", "lxc-info") or _exists(f"{run}/{name}.resources"):
            raise _Fallback
        state, pid = "STOPPED", -1
    elif prog in ("lxc-state", "lxc-info"):
        # lxc-info -s/-p needs the state and PID alone: "state" rather than "info" (the
        # same two values, without the cgroup paths), with info's timeout
        timeout = 2.0 if prog == "lxc-state" else 5.0
        reply = _request(socket, request_line("state"), timeout)
        if isinstance(reply, TimeoutError):
            return _fail(prog, name, _busy(name, timeout))
        if not isinstance(reply, dict) or "error" in reply:
            raise _Fallback
        said, pid = reply.get("state"), reply.get("pid", -1)
        if (not isinstance(said, str) or not said.isascii() or not said.isalpha()
                or said == "STOPPED" or type(pid) is not int):
            raise _Fallback  # STOPPED: a supervisor going away, the full path recovers
        state = said
    elif prog == "lxc-stop":
        return _stop(prog, name, run, bool(job.get("kill")))
    else:
        return _ask(prog, name, socket, job)
    if state == "STOPPED" and not _is_file(config):
        return _fail(prog, name, f"{name} doesn't exist")
    if prog == "lxc-state":
        out = state
    else:  # lxc-info, as its run(): -H with one of -s/-p prints the bare value
        bare = bool(job.get("raw")) and not (job.get("show_state") and job.get("show_pid"))
        lines = []
        if job.get("show_state"):
            lines.append(state if bare else f"{'State:':<16}{state}")
        if state != "STOPPED" and job.get("show_pid"):
            lines.append(str(pid) if bare else f"{'PID:':<16}{pid}")
        if not lines:
            return 0
        out = "\n".join(lines)
    return _print(prog, name, out)


def _ask(prog: str, name: str, socket: str, job: dict[str, object]) -> int:
    """lxc-freeze, lxc-unfreeze, lxc-kill: one request (Container._call's, 30 s)."""
    if prog == "lxc-kill":
        number = signal_number(str(job["signal"]))
        if number is None:
            raise _Fallback  # the full command's error line
        op, request = "kill", request_line("kill", signal=number)
    else:
        op = prog[4:]
        request = request_line(op)
    reply = _request(socket, request, 30.0)
    if isinstance(reply, dict) and "error" not in reply:
        return 0
    # sent: the full command takes this answer as its own (refusal, EOF, timeout)
    from lxcpy.runtime.commands import replay

    replay(socket, op, reply)
    raise _Fallback


def signal_number(text: str) -> int | None:
    """lxcpy.cli.kill.parse_signal's answer for the plain spellings (a number, or a name
    with or without SIG); None for anything else (SIGRTMIN+N, unknown: the full one)."""
    import _signal

    raw = text.strip()
    if raw.isdigit():
        number = int(raw)
        return number if 0 < number <= _signal.SIGRTMAX else None
    upper = raw.upper()
    if not upper.startswith("SIG"):
        upper = "SIG" + upper
    if not upper[3:].isalpha() or upper.startswith(("SIG_", "SIGRTM")):
        return None
    value = getattr(_signal, upper, None)  # the names signal.Signals holds
    return value if type(value) is int else None


def _stop(prog: str, name: str, run: str, kill: bool) -> int:
    """Container.stop(timeout=60, kill=kill), as lxc-stop [-k] calls it."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(5.0)
        try:
            sock.connect(f"{run}/{name}.sock")
        except TimeoutError:
            return _fail(prog, name, _busy(name, 5.0))
        except OSError:
            raise _Fallback from None  # not running, or the full command's error
        try:
            sock.sendall(request_line("stop", kill=kill))
        except BrokenPipeError:
            return 141  # the full command's run_guarded takes it for stdout's: quiet, 141
        except OSError as exc:
            return _fail(prog, name, _oserror_message(exc))
        sock.settimeout(None if kill else 90.0)
        try:
            reply = _receive(sock)
            if isinstance(reply, dict) and "error" in reply:
                return _fail(prog, name, str(reply["error"]))
            while sock.recv(4096):  # EOF when the supervisor is done
                pass
        except TimeoutError:
            return _fail(prog, name, f"{name} did not stop within 60 seconds")
        except ConnectionResetError:
            pass
        except OSError as exc:  # sent: never again; run_guarded's lines
            return _fail(prog, name, _oserror_message(exc))
        except Exception as exc:  # noqa: BLE001
            return _fail(prog, name, f"internal error: {exc.__class__.__name__}: {exc} "
                                     "(run with -l DEBUG for details)")
    finally:
        sock.close()
    # Container._wait_unlocked: a lock file on disk is held (its holder removes it before
    # letting go), so none there means no wait; else the full path's flock wait
    if _exists(f"{run}/{name}.lock"):
        _full(prog, name, lambda: _wait_unlocked(name, run, kill))
    return 0


def _wait_unlocked(name: str, run: str, kill: bool) -> None:
    from lxcpy.paths import Lock

    lock = Lock(f"{run}/{name}.lock")
    if lock.acquire(blocking=True, timeout=30 if kill else 90.0):
        lock.release()


def request_line(op: str, signal: int | None = None, kill: bool | None = None) -> bytes:
    """jsonlite.dumps's line of the requests sent here (the full client's, byte for byte)."""
    if op == "kill":
        return b'{"op": "kill", "signal": %d}\n' % signal  # type: ignore[str-format]
    if op == "stop":
        return (b'{"op": "stop", "timeout": 60, "kill": %s, "nokill": false, "wait": true}\n'
                % (b"true" if kill else b"false"))
    return b'{"op": "%s"}\n' % op.encode()


def _request(socket: str, request: bytes, timeout: float) -> object:
    """One request/reply (runtime.commands.call): the reply (a dict), None for EOF or a
    reset connection, or the exception the full client would raise from it (TimeoutError:
    alive but busy); _Fallback when none listens (the full path: NotRunning and its
    recovery) or connect fails otherwise, before anything was sent."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(socket)
        except TimeoutError as exc:
            return exc
        except OSError:
            raise _Fallback from None
        try:
            sock.sendall(request)
        except (ConnectionResetError, BrokenPipeError):
            pass  # it closed at once: it may have said why before
        try:
            return _receive(sock)
        except ConnectionResetError:
            return None
        except Exception as exc:  # noqa: BLE001 - TimeoutError, a reply that is no JSON
            return exc
    finally:
        sock.close()


def _receive(sock: object) -> object:
    """One reply line (runtime.commands.receive): the two replies a client sees most
    parsed here, anything else by lxcpy.jsonlite; None on EOF."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(65536)  # type: ignore[attr-defined]
        if not chunk:
            return None
        buf += chunk
    if buf == b'{"ok": true}\n':
        return {"ok": True}
    head = b'{"state": "'
    if buf.startswith(head):
        state, sep, pid = buf[len(head):-2].partition(b'", "pid": ')
        if (sep and buf.endswith(b"}\n") and state.isalpha()
                and pid.removeprefix(b"-").isdigit()):
            return {"state": state.decode(), "pid": int(pid)}
    from lxcpy import jsonlite

    return jsonlite.loads(buf)


def _busy(name: str, timeout: float) -> str:
    return (f"{name}: its supervisor did not answer within {timeout:g} seconds (it is alive "
            "but busy)")


def _oserror_message(exc: OSError) -> str:
    text = exc.strerror or posix.strerror(exc.errno or 5)
    return f"{exc.filename}: {text}" if exc.filename else text


def _print(prog: str, name: str, text: str) -> int:
    """common.echo for plain text, and run_guarded's rules for a failed write."""
    if not (text.isascii() and text.replace("\n", "").isprintable()):
        raise _Fallback  # click's echo rules
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = posix.open("/dev/null", posix.O_WRONLY)
        posix.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        return _fail(prog, name, _oserror_message(exc))
    return 0


def _fail(prog: str, name: str | None, message: str, code: int = 1) -> int:
    """common.fail's line, then exit."""
    text = f"{prog}: {name}: {message}" if name else f"{prog}: {message}"
    if not text.isprintable():
        from lxcpy.cli.common import one_line

        text = one_line(text)
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    _exit(code)
    return code  # not reached


def _full(prog: str, name: str, fn: object) -> None:
    """Finish with the full command's machinery: its one-line errors and its exit."""
    from lxcpy.cli import common

    common.STATE.prog, common.STATE.name = prog, name
    try:
        common.run_guarded(fn)  # type: ignore[arg-type]
    except SystemExit as exc:
        common.exit_now(exc.code)
        raise


def _exit(code: int) -> None:
    """common.exit_now: flush, skip the interpreter's finalisation."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    posix._exit(code & 0xFF)
