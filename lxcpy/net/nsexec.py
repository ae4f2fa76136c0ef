"""Run a function in another network namespace without moving the caller: a forked child
setns()'s, runs it, and sends back its JSON result (or its error) through a pipe."""

from __future__ import annotations

import os
from collections.abc import Callable

from lxcpy import jsonlite as json  # json.dumps/loads without importing json (re)
from lxcpy.errors import LxcError, NetworkError

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from typing import Any


def run_in_netns(ns_fd: int, func: Callable[[], Any]) -> Any:
    """``func()`` evaluated in the network namespace ``ns_fd`` refers to.

    ``func`` must return something JSON can carry. Any file descriptor it uses (e.g. the
    caller's own netns to move a device back to) must be open before this call. A
    :class:`LxcError` raised by ``func`` comes back as a :class:`NetworkError` with the
    same message; anything else as a NetworkError naming the exception.
    """
    from lxcpy.kernel import CLONE_NEWNET, setns

    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 0
        try:
            os.close(rfd)
            setns(ns_fd, CLONE_NEWNET)
            payload = {"ok": func()}
        except LxcError as exc:
            payload, status = {"error": exc.message}, 1
        except BaseException as exc:  # the parent gets one line, never a traceback
            payload, status = {"error": f"{type(exc).__name__}: {exc}"}, 1
        try:
            data = json.dumps(payload).encode()
            while data:
                data = data[os.write(wfd, data):]
        finally:
            os._exit(status)  # no atexit handlers, no flushing of the parent's buffers
    os.close(wfd)
    chunks = []
    try:
        while chunk := os.read(rfd, 65536):
            chunks.append(chunk)
    finally:
        os.close(rfd)
        os.waitpid(pid, 0)
    try:
        reply = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        reply = {}
    if "ok" in reply:
        return reply["ok"]
    raise NetworkError(reply.get("error", "network namespace helper died"))
