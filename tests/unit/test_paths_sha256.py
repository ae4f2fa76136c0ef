"""paths.sha256_hex (the run directory's name) is hashlib's SHA-256, byte for byte."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from lxcpy.paths import RUN_ROOT, lxcpath_rundir, sha256_hex


def test_sha256_hex_matches_hashlib_at_every_padding_length() -> None:
    # 0..200 bytes crosses the one- and two-block paddings (55/56 and 119/120 bytes)
    for length in [*range(201), 1000, 4097]:
        data = os.urandom(length)
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest(), length


def test_rundir_name_is_unchanged() -> None:
    # the directory running supervisors bound their sockets in: the digest must not move
    path = "/var/lib/lxc"
    expected = hashlib.sha256(path.encode()).hexdigest()[:16]
    assert lxcpath_rundir(path) == os.path.join(RUN_ROOT, expected)
    name = "/tmp/\u00e9t\u00e9 \udcff"  # non-ASCII and an undecodable byte (surrogateescape)
    assert sha256_hex(name.encode("utf-8", "surrogateescape")) == hashlib.sha256(
        name.encode("utf-8", "surrogateescape")).hexdigest()


def test_rundir_loads_no_hash_module() -> None:
    code = ("import sys; from lxcpy.paths import lxcpath_rundir; lxcpath_rundir('/tmp'); "
            "print(sorted({'_sha256', '_sha2', 'hashlib', '_hashlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
