"""Sockets in another network namespace, made without moving the caller.

A socket belongs, for its whole life, to the network namespace of the thread that
created it. So a short-lived thread setns()'s into the target namespace, creates the
socket and ends -- its namespace change ends with it -- and the caller works through that
socket from where it is: ``_netlink.Rtnl(fileno=...)`` and lxcpy's own netlink dumps
(query.py) use it directly, and a request sent on it acts in the target
namespace (moving a device "to" the host's netns fd included).

Measured on the test machine (a netns with lo only, list the links): this way ~6 ms of
which 0.25 ms is the socket; a forked child that setns()'s and returns JSON (the former
way here) ~34 ms, and so is pyroute2's own ``IPRoute(netns=...)``, which also forks.
"""

from __future__ import annotations

import _socket
import _thread
import os

from lxcpy.errors import LxcError, NetworkError

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    import socket
    from typing import Any


def netns_socket(ns_fd: int, family: int = _socket.AF_NETLINK, kind: int = _socket.SOCK_DGRAM,
                 proto: int = _socket.NETLINK_ROUTE) -> socket.socket:
    """A new (close-on-exec) socket living in the network namespace ``ns_fd`` refers to."""
    import socket  # here: not on a veth start's path (enum, selectors: ~3 ms)

    from lxcpy.kernel import CLONE_NEWNET, setns

    result: list[Any] = []
    done = _thread.allocate_lock()
    done.acquire()

    def in_thread() -> None:
        try:
            setns(ns_fd, CLONE_NEWNET)  # this thread only; it ends right after
            result.append(socket.socket(family, kind, proto))
        except BaseException as exc:  # handed to the caller, never printed here
            result.append(exc)
        finally:
            done.release()

    _thread.start_new_thread(in_thread, ())
    done.acquire()
    made = result[0]
    if isinstance(made, LxcError):
        raise NetworkError(f"network namespace: {made.message}")
    if isinstance(made, BaseException):
        raise NetworkError(f"network namespace: {made}")
    return made


def iproute_in(ns_fd: int) -> Any:
    """An rtnetlink client (``_netlink.Rtnl``) whose requests act in the netns ``ns_fd``."""
    from lxcpy.net import _netlink as nl

    Rtnl, _ = nl.load()
    fd = netns_socket(ns_fd).detach()
    try:
        return Rtnl(fileno=fd)
    except BaseException:
        os.close(fd)
        raise
