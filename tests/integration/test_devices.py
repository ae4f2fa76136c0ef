"""Device policy through the commands, on the real kernel: ``lxc.cgroup.devices.*`` in the
v1 devices controller, ``lxc.cgroup2.devices.*`` as a BPF device program on cgroup2 (the
v2 driver forced onto this hybrid host's cgroup2 mount, where cgroup-bpf works), the keys
of the other version skipped, and LXC's own common.conf starting with both drivers.

Each container runs on the probe rootfs (busybox, a /dev of its own) a shell probe as root
that opens device nodes -- its /dev's and ones it makes itself with mknod in a host directory
bound at /host -- and reports the error of each try.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lxcpy.cgroups import detect
from lxcpy.cgroups.devices import DevicePolicy, compile_policy
from lxcpy.kernel import bpf
from lxcpy.paths import ContainerPaths
from lxcpy.runtime.resources import Resources
from tests.integration.helpers import (
    BUSYBOX,
    HOST_DIR,
    bind_host,
    cgroup_leftovers,
    lxc,
    make,
    unique,
    write_config,
)

pytestmark = pytest.mark.root

DATA = Path(__file__).parents[1] / "data" / "lxc-5.0.2"
LAYOUT = detect()
HAS_V2 = LAYOUT.v2_mount is not None
HAS_V1_DEVICES = LAYOUT.v1_mount("devices") is not None
HAS_V1 = any(not c.startswith("name=") for cs in LAYOUT.v1 for c in cs)
needs_v2 = pytest.mark.skipif(not HAS_V2, reason="no cgroup2 hierarchy")

# busybox's sh tries each "op,path[,kind,major,minor]" (op: mknod, or an open for r, w or
# rw) and prints "op path ok" or "op path" and the error text (the end of busybox's message)
PROBE = r"""
for spec in "$@"; do
  op=${spec%%,*}; rest=${spec#*,}; path=${rest%%,*}
  case $op in
    mknod) err=$(mknod "$path" $(echo "${rest#*,}" | tr , " ") 2>&1) ;;
    r) err=$( (: < "$path") 2>&1) ;;
    w) err=$( (: > "$path") 2>&1) ;;
    rw) err=$( (: <> "$path") 2>&1) ;;
  esac && echo "$op $path ok" || echo "$op $path ${err##*: }"
done
"""
ERRNO_NAMES = {os.strerror(n): name for n, name in errno.errorcode.items()}
NODES = f"{HOST_DIR}/nodes"  # the test's host directory "nodes", as the container sees it


def probe_argv(*specs: str) -> list[str]:
    return ["sh", "-c", PROBE, "probe", *specs]


def results_of(out: str) -> dict[str, str]:
    """{"op path": "ok" or the errno's name}."""
    results = {}
    for line in out.splitlines():
        op, path, result = line.split(" ", 2)
        results[f"{op} {path}"] = result if result == "ok" else ERRNO_NAMES.get(result, result)
    return results

# the policy of the attack tests: everything denied but mknod of char devices,
# /dev/zero (1:5) and reading /dev/urandom (1:9); /dev/null (1:3) is denied
POLICY = ["deny = a", "allow = c *:* m", "allow = c 1:5 rwm", "allow = c 1:9 r"]


def policy_lines(version: int) -> str:
    prefix = "lxc.cgroup2.devices." if version == 2 else "lxc.cgroup.devices."
    return "".join(f"{prefix}{line}\n" for line in POLICY)


def device_container(lxcpath: Path, tmp_path: Path, probe_rootfs: Path, extra: str) -> str:
    """A container of ``extra`` on the probe rootfs, ``tmp_path/nodes`` at ``NODES``."""
    (tmp_path / "nodes").mkdir()
    return make(lxcpath, extra + bind_host(tmp_path), rootfs=probe_rootfs)


def probe(lxcpath: Path, name: str, *specs: str) -> dict[str, str]:
    """Run the probe in a new container; {"op path": result}."""
    r = lxc("execute", "-n", name, "--", *probe_argv(*specs), lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    return results_of(r.stdout)


def attack_specs(nodes: str = NODES) -> list[str]:
    return [f"mknod,{nodes}/null,c,1,3", f"r,{nodes}/null", f"w,{nodes}/null",
            "r,/dev/null", "w,/dev/null", "rw,/dev/zero", "r,/dev/urandom",
            "w,/dev/urandom", f"mknod,{nodes}/loop,b,7,0"]


def assert_attack_refused(results: dict[str, str], nodes: str = NODES) -> None:
    assert results == {
        f"mknod {nodes}/null": "ok",  # c *:* m
        f"r {nodes}/null": "EPERM",  # a /dev/null root made itself: still denied
        f"w {nodes}/null": "EPERM",
        "r /dev/null": "EPERM",
        "w /dev/null": "EPERM",
        "rw /dev/zero": "ok",
        "r /dev/urandom": "ok",
        "w /dev/urandom": "EPERM",  # only r allowed
        f"mknod {nodes}/loop": "EPERM",  # no b *:* m
    }


@needs_v2
def test_v2_device_program_denies_what_the_policy_does_not_allow(
        lxcpath: Path, tmp_path: Path, probe_rootfs: Path) -> None:
    name = device_container(lxcpath, tmp_path, probe_rootfs,
                            "lxc.cgroup.driver = v2\n" + policy_lines(2))
    assert_attack_refused(probe(lxcpath, name, *attack_specs()))
    shutil.rmtree(tmp_path / "nodes")
    assert cgroup_leftovers(name) == []


@pytest.mark.skipif(not HAS_V1_DEVICES, reason="no v1 devices controller")
def test_v1_devices_deny_a_then_allows(lxcpath: Path, tmp_path: Path,
                                       probe_rootfs: Path) -> None:
    """LXC's order on v1: ``deny a`` first, then the allows, written as they come."""
    name = device_container(lxcpath, tmp_path, probe_rootfs,
                            "lxc.cgroup.driver = v1\n" + policy_lines(1))
    assert_attack_refused(probe(lxcpath, name, *attack_specs()))
    shutil.rmtree(tmp_path / "nodes")
    assert cgroup_leftovers(name) == []


def test_a_policy_for_the_other_version_only_is_skipped_with_a_warning(
        lxcpath: Path, probe_rootfs: Path) -> None:
    """The control of the attack tests (nothing is denied without a policy the driver
    enforces) and item 2 of issue 12: skipped, and said so, never silently. The host's
    own driver, with the lines of the other version."""
    driver, other = ("v1", 2) if HAS_V1 else ("v2", 1)
    name = make(lxcpath, f"lxc.cgroup.driver = {driver}\n" + policy_lines(other),
                rootfs=probe_rootfs)
    r = lxc("execute", "-n", name, "--", *probe_argv("r,/dev/null"), lxcpath=lxcpath)
    assert r.returncode == 0 and r.stdout == "r /dev/null ok\n", r.stderr
    key = "lxc.cgroup2" if other == 2 else "lxc.cgroup"
    assert (f"{key}.devices.deny: no device policy is enforced: the cgroup driver is "
            f"{driver}") in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@needs_v2
def test_v2_program_is_multi_and_a_sub_cgroup_cannot_widen_it(lxcpath: Path,
                                                              probe_rootfs: Path) -> None:
    """Attached with BPF_F_ALLOW_MULTI: a program attached below (as a container's root
    could) runs in addition to ours, it never replaces it."""
    name = make(lxcpath, "lxc.cgroup.driver = v2\n" + policy_lines(2), rootfs=probe_rootfs)
    lxc("execute", "-n", name, "-d", "--", "sleep", "1000", lxcpath=lxcpath, check=True)
    res = Resources.load(ContainerPaths(name, str(lxcpath)))
    assert res is not None and len(res.cgroup_paths) == 1
    cgroup = res.cgroup_paths[0]
    inner = os.path.join(cgroup, "inner")
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        flags, programs = bpf.query(fd)
        assert flags == bpf.BPF_F_ALLOW_MULTI and len(programs) == 1
        os.mkdir(inner)
        inner_fd = os.open(inner, os.O_RDONLY | os.O_DIRECTORY)
        allow_all = bpf.load_device_program(compile_policy(DevicePolicy()))
        try:
            bpf.attach(inner_fd, allow_all)

            def join() -> None:
                with open(os.path.join(inner, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))

            # the probe on the host (the same static busybox), in the inner cgroup
            out = subprocess.run([BUSYBOX, *probe_argv("r,/dev/null", "r,/dev/zero")],
                                 preexec_fn=join, capture_output=True, text=True, timeout=30)
            assert results_of(out.stdout) == {"r /dev/null": "EPERM",
                                              "r /dev/zero": "ok"}, out.stderr
        finally:
            os.close(allow_all)
            os.close(inner_fd)
    finally:
        os.close(fd)
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
    assert not os.path.exists(cgroup) and cgroup_leftovers(name) == []


@needs_v2
def test_v2_policy_holds_for_attached_processes_and_cannot_be_set_at_runtime(
        lxcpath: Path, probe_rootfs: Path) -> None:
    name = make(lxcpath, "lxc.cgroup.driver = v2\n" + policy_lines(2), rootfs=probe_rootfs)
    lxc("execute", "-n", name, "-d", "--", "sleep", "1000", lxcpath=lxcpath, check=True)
    try:
        r = lxc("attach", "-n", name, "--", *probe_argv("r,/dev/null", "r,/dev/zero"),
                lxcpath=lxcpath)
        assert results_of(r.stdout) == {"r /dev/null": "EPERM", "r /dev/zero": "ok"}, r.stderr
        r = lxc("cgroup", "-n", name, "devices.allow", "c 1:3 rwm", lxcpath=lxcpath)
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "devices.allow: on cgroup v2 the device policy is a program set at start" in (
            r.stderr)
        r = lxc("attach", "-n", name, "--", *probe_argv("r,/dev/null"), lxcpath=lxcpath)
        assert results_of(r.stdout) == {"r /dev/null": "EPERM"}, r.stderr
    finally:
        lxc("stop", "-n", name, "-k", lxcpath=lxcpath)
    assert cgroup_leftovers(name) == []


def test_a_bad_rule_is_one_line_naming_file_line_and_key(lxcpath: Path,
                                                        tmp_path: Path) -> None:
    name = unique("dv")
    conf = write_config(tmp_path, name, "lxc.cgroup.driver = v2\n"
                        "lxc.cgroup2.devices.deny = a\nlxc.cgroup2.devices.allow = c 1:3 rwx\n")
    r = lxc("create", "-n", name, "-f", str(conf), lxcpath=lxcpath)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"{conf}:3: lxc.cgroup2.devices.allow: 'c 1:3 rwx' is not a device rule" in r.stderr
    assert not (lxcpath / name).exists()
    # the same through lxc-execute's -s on a defined container: refused before a start
    name = make(lxcpath, "lxc.cgroup.driver = v2\n")
    r = lxc("execute", "-n", name, "-s", "lxc.cgroup2.devices.deny=b 8:*", "--", "true",
            lxcpath=lxcpath)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "lxc.cgroup2.devices.deny: 'b 8:*' is not a device rule" in r.stderr
    assert lxc("state", "-n", name, lxcpath=lxcpath).stdout == "STOPPED\n"
    assert cgroup_leftovers(name) == []


def common_conf(tmp_path: Path) -> Path:
    """LXC 5.0.2's config directory as /usr/share/lxc/config, in ``tmp_path``."""
    config = tmp_path / "config"
    shutil.copytree(DATA, config)
    (config / "common.conf.d").mkdir()  # Debian ships it (with only a README)
    for conf in config.glob("*.conf"):
        conf.write_text(conf.read_text().replace("/usr/share/lxc/config", str(config)))
    return config / "common.conf"


@pytest.mark.parametrize("driver", [
    pytest.param("v1", marks=pytest.mark.skipif(not HAS_V1_DEVICES, reason="no v1 devices")),
    pytest.param("v2", marks=needs_v2),
])
def test_lxc_common_conf_starts_with_both_drivers(lxcpath: Path, tmp_path: Path,
                                                  probe_rootfs: Path, driver: str) -> None:
    conf = common_conf(tmp_path)
    name = device_container(lxcpath, tmp_path, probe_rootfs,
                            f"lxc.include = {conf}\nlxc.cgroup.driver = {driver}\n")
    nodes = NODES
    log = tmp_path / "debug.log"
    r = lxc("execute", "-n", name, "-o", str(log), "-l", "DEBUG", "--", *probe_argv(
            "rw,/dev/null", "rw,/dev/zero", "rw,/dev/full", "r,/dev/urandom",
            "rw,/dev/tty", f"mknod,{nodes}/loop,b,7,0", f"r,{nodes}/loop",
            f"mknod,{nodes}/tun,c,10,200", f"r,{nodes}/tun"), lxcpath=lxcpath)
    assert r.returncode == 0, r.stderr
    assert results_of(r.stdout) == {
        "rw /dev/null": "ok", "rw /dev/zero": "ok", "rw /dev/full": "ok",
        "r /dev/urandom": "ok",
        "rw /dev/tty": "ENXIO",  # allowed (5:0); no controlling terminal here
        f"mknod {nodes}/loop": "ok", f"r {nodes}/loop": "EPERM",
        f"mknod {nodes}/tun": "ok", f"r {nodes}/tun": "EPERM",
    }
    other = "lxc.cgroup2" if driver == "v1" else "lxc.cgroup"
    text = log.read_text()
    assert f"{other}.devices.deny: skipped: the cgroup driver is {driver}" in text
    assert text.count("skipped: the cgroup driver") == 13
    if driver == "v2":
        assert "allowlist with 12 exception(s)" in text
    shutil.rmtree(tmp_path / "nodes")
    assert cgroup_leftovers(name) == []
