"""Daemonising a supervisor: the caller returns once the container is RUNNING (or with
the reason it aborted), like ``lxc-start -d``."""

from __future__ import annotations

import os
from collections.abc import Callable

from lxcpy.errors import LxcError, StartError


def run_daemonized(run: Callable[[Callable[[], None]], int],
                   stdio: str = os.devnull) -> int:
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setsid()
            fd = os.open(stdio, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            for target in (0, 1, 2):
                os.dup2(fd, target)
            if fd > 2:
                os.close(fd)

            def ready() -> None:
                os.write(w, b"ok\n")

            run(ready)
        except LxcError as exc:
            _write(w, "error:" + exc.message)
        except BaseException as exc:  # noqa: BLE001 - the caller gets one line, always
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


def _write(fd: int, text: str) -> None:
    try:
        os.write(fd, text.encode(errors="replace"))
    except OSError:
        pass
