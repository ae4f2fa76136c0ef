"""The device policy on a pure v2 host: ``lxc.cgroup2.devices.*`` is a BPF device program
that even root inside cannot get past; ``lxc.cgroup.devices.*`` (v1 keys) are skipped with
a warning, as LXC does, and LXC's own common.conf starts.

The probe, the policy and the expected results are the integration suite's
(tests/integration/test_devices.py), run here with the lane's emulator-sized timeouts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import cgroup_leftovers, unique
from tests.integration.test_devices import (
    assert_attack_refused,
    attack_specs,
    common_conf,
    policy_lines,
    probe_argv,
    results_of,
)
from tests.v2lane._lane import define, run

pytestmark = pytest.mark.root


def probe(lxcpath: Path, name: str, tmp_path: Path, *specs: str,
          log: Path | None = None) -> tuple[dict[str, str], str]:
    """Run the probe (as root, in a new rootfs-less container: the guest shares the host's
    tree, so its sh runs the probe); ({"op path": result}, stderr)."""
    logging = ["-o", str(log), "-l", "DEBUG"] if log else []
    r = run("execute", "-n", name, *logging, "--", *probe_argv(*specs), lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    return results_of(r.stdout), r.stderr


def test_device_program_denies_even_root(lxcpath: Path, tmp_path: Path) -> None:
    name = unique("dev")
    define(lxcpath, name, *policy_lines(2).splitlines())
    nodes = tmp_path / "nodes"
    nodes.mkdir()
    results, _ = probe(lxcpath, name, tmp_path, *attack_specs(str(nodes)))
    assert_attack_refused(results, nodes)
    shutil.rmtree(nodes)
    assert cgroup_leftovers(name) == []


def test_v1_device_keys_are_skipped_with_a_warning(lxcpath: Path, tmp_path: Path) -> None:
    """The control of the attack: the same policy as v1 keys is not enforced on a v2
    host, and lxcpy says so (one line), never silently."""
    name = unique("dev")
    define(lxcpath, name, *policy_lines(1).splitlines())
    results, stderr = probe(lxcpath, name, tmp_path, "r,/dev/null")
    assert results == {"r /dev/null": "ok"}
    assert "lxc.cgroup.devices.deny: no device policy is enforced: the cgroup driver is v2" \
        in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert cgroup_leftovers(name) == []


# LXC's common.conf (cgroup:mixed, no rootfs) starts on a cgroup2-only host: cgroup2 is
# mounted on the container's tmpfs, never where the host's cgroup2 shows through (EBUSY)
def test_lxc_common_conf_starts(lxcpath: Path, tmp_path: Path) -> None:
    name = unique("cc")
    define(lxcpath, name, f"lxc.include = {common_conf(tmp_path)}")
    nodes = tmp_path / "nodes"
    nodes.mkdir()
    log = tmp_path / "debug.log"
    results, _ = probe(lxcpath, name, tmp_path, "rw,/dev/null", "rw,/dev/zero",
                       "r,/dev/urandom", f"mknod,{nodes}/loop,b,7,0", f"r,{nodes}/loop",
                       log=log)
    assert results == {"rw /dev/null": "ok", "rw /dev/zero": "ok", "r /dev/urandom": "ok",
                       f"mknod {nodes}/loop": "ok", f"r {nodes}/loop": "EPERM"}
    text = log.read_text()
    assert "lxc.cgroup.devices.deny: skipped: the cgroup driver is v2" in text
    assert "allowlist with 12 exception(s)" in text
    shutil.rmtree(nodes)
    assert cgroup_leftovers(name) == []
