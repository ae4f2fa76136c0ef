"""A bridge in the test's own network namespace (the suite runs under ``unshare --net``)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def in_private_netns() -> bool:
    return os.stat("/proc/self/ns/net").st_ino != os.stat("/proc/1/ns/net").st_ino


def links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


@contextmanager
def bridge(address: str = "10.210.0.1/24") -> Iterator[str]:
    if not in_private_netns():
        pytest.skip("network tests run only inside a private network namespace "
                    "(bash scripts/test.sh runs the suite under unshare --net)")
    name = "br" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", address, "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)
