"""lxc-wait: block until a container reaches one of some states, without polling files."""

from __future__ import annotations

import select
import time

from lxcpy.runtime.monitor import Listener, _decode

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from collections.abc import Callable

# A supervisor killed with SIGKILL publishes nothing: look at the socket now and then.
RECHECK = 0.5


def wait_for_states(lxcpath: str, name: str, state: Callable[[], str], wanted: set[str],
                    timeout: float = -1) -> bool:
    """True once container ``name`` is in a wanted state; False after ``timeout`` (<0: never).

    ``state()`` asks for its state now (the caller's Container.state: this layer does not
    import the one above it)."""
    with Listener([lxcpath]) as listener:
        if state() in wanted:  # after binding, so no change is lost in between
            return True
        if timeout == 0:
            return False
        deadline = None if timeout < 0 else time.monotonic() + timeout
        while True:
            wait = RECHECK
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return False
            ready, _, _ = select.select([listener.sock], [], [], wait)
            if not ready:
                if state() in wanted:
                    return True
                continue
            event = _decode(listener.sock.recv(65536))
            if event.name == name and event.kind == "state" and event.value in wanted:
                return True
