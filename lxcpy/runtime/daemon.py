"""Daemonising a supervisor: the caller returns once the container is RUNNING (or with
the reason it aborted), like ``lxc-start -d``.

Until then the daemon's warnings (unsupported keys ignored as LXC does, ...) still reach
the caller's stderr: the daemon keeps a private copy of it (close-on-exec, closed by the
container's first process) as ``sys.stderr``, and drops it once the start is decided.
"""

from __future__ import annotations

import os
import sys

from lxcpy.errors import LxcError, StartError

TYPE_CHECKING = False  # collections (~1.5 ms, ~0.6 MiB of every daemonised supervisor)
if TYPE_CHECKING:
    from collections.abc import Callable


def run_daemonized(run: Callable[[Callable[[], None]], int],
                   stdio: str = os.devnull) -> int:
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setsid()
            _detach_stdio(stdio)

            def ready() -> None:
                _drop_caller_stderr()
                os.write(w, b"ok\n")

            run(ready)
        except LxcError as exc:
            _drop_caller_stderr()
            _write(w, "error:" + exc.message)
        except BaseException as exc:  # noqa: BLE001 - the caller gets one line, always
            _drop_caller_stderr()
            _write(w, f"error:{exc.__class__.__name__}: {exc}")
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 4096)
        data += chunk
        if not chunk or data.endswith(b"\n") or data.startswith(b"error:"):
            break
    os.close(r)
    text = data.decode(errors="replace").strip()
    if text == "ok":
        return 0
    if text.startswith("error:"):
        raise StartError(text[len("error:"):])
    raise StartError("the container failed to start")


def _detach_stdio(stdio: str) -> None:
    """stdio onto ``stdio``; sys.stderr stays the caller's (a private fd) until ready."""
    caller = os.dup(2)  # non-inheritable: no hook or container process gets it
    fd = os.open(stdio, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)
    if sys.stderr is not None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
    global _caller_stream
    _caller_stream = open(caller, "w", encoding="utf-8",  # noqa: SIM115
                          errors="backslashreplace", closefd=True)
    sys.stderr = _caller_stream
    # a process forked from here (the container's first one) must not write to it: it
    # closes every fd it does not need, and the number may then name another file
    os.register_at_fork(after_in_child=_forget_caller_stderr)


# the caller's stderr while starting; kept referenced so a forked child never finalises
# (and closes) it: its fd number may by then be reused there
_caller_stream = None


def _forget_caller_stderr() -> None:
    if sys.stderr is _caller_stream:
        sys.stderr = sys.__stderr__


def _drop_caller_stderr() -> None:
    stream = _caller_stream
    if stream is None or stream.closed:
        return
    if sys.stderr is stream:
        sys.stderr = sys.__stderr__  # fd 2: /dev/null by now
    try:
        stream.close()  # flushes the last warnings first
    except (OSError, ValueError):
        pass


def _write(fd: int, text: str) -> None:
    try:
        os.write(fd, text.encode(errors="replace"))
    except OSError:
        pass
