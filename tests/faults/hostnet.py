"""A bridge in the test's own network namespace (the suite runs under ``unshare --net``)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# The initial network namespace has a fixed inode (PROC_NET_INIT_INO, include/linux/proc_ns.h)
INIT_NET_INO = 0xEFFFFFF9


def in_private_netns() -> bool:
    """True when this process is not in the host's network namespace."""
    own = os.stat("/proc/self/ns/net").st_ino
    if own == INIT_NET_INO:
        return False
    try:
        return own != os.stat("/proc/1/ns/net").st_ino
    except PermissionError:
        # PID 1 is non-dumpable here (a sandbox's agent); we are not in the initial netns,
        # which on these machines is the host's
        return True


def require_private_netns() -> None:
    """Network tests never touch the host's interfaces: outside a private netns they skip
    (fail under CI=true, where the suite always runs under ``unshare --net``)."""
    if in_private_netns():
        return
    message = ("network tests run only inside a private network namespace "
               "(bash scripts/test.sh runs the suite under unshare --net)")
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


@contextmanager
def bridge(address: str = "10.210.0.1/24") -> Iterator[str]:
    require_private_netns()
    name = "br" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", address, "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)
