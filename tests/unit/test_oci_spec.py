"""config.json -> ContainerConfig (lxcpy.oci.spec) and OCI seccomp JSON -> Policy."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lxcpy.config.seccomp import Action
from lxcpy.oci.spec import SpecError, default_spec, load, to_config


def spec(**changes: object) -> dict:
    s = copy.deepcopy(default_spec(terminal=False))
    s.update(changes)
    return s


def test_default_spec_maps(tmp_path: Path) -> None:
    cfg, extras = to_config(spec(), str(tmp_path))
    assert cfg.rootfs_path == str(tmp_path / "rootfs")
    assert cfg.rootfs_options == "ro"
    assert cfg.init_cmd == ["sh"] and extras.args == ["sh"]
    assert cfg.env_exact and ("TERM", "xterm") in cfg.environment
    assert cfg.uts_name == "runc"
    assert sorted(cfg.namespace_clone) == ["cgroup", "ipc", "mnt", "net", "pid", "uts"]
    assert cfg.wants_netns
    # every mount, in config.json's order, as fstab-style entries made inside the rootfs
    assert cfg.oci_mounts is not None
    assert [(e.target, e.fstype, e.source) for e in cfg.oci_mounts] == [
        ("proc", "proc", "proc"), ("dev", "tmpfs", "tmpfs"), ("dev/pts", "devpts", "devpts"),
        ("dev/shm", "tmpfs", "shm"), ("dev/mqueue", "mqueue", "mqueue"),
        ("sys", "sysfs", "sysfs"), ("sys/fs/cgroup", "cgroup", "cgroup")]
    assert cfg.oci_mounts[1].options == "nosuid,strictatime,mode=755,size=65536k,create=dir"
    assert sorted(cfg.cap_keep) == ["audit_write", "kill", "net_bind_service"]
    assert cfg.cap_sets is not None and "inheritable" not in cfg.cap_sets
    assert sorted(cfg.cap_sets["ambient"]) == ["audit_write", "kill", "net_bind_service"]
    assert cfg.no_new_privs
    assert cfg.prlimits == {"nofile": "1024:1024"}
    assert "/proc/kcore" in cfg.masked_paths and "/proc/sys" in cfg.readonly_paths
    # deny every device, then runc's default allow list, in both cgroup versions
    v1 = [(s.key, s.value) for s in cfg.cgroup_settings if s.version == 1]
    assert v1[0] == ("devices.deny", "a") and ("devices.allow", "c 136:* rwm") in v1
    assert len(v1) == len([s for s in cfg.cgroup_settings if s.version == 2])


def test_no_network_namespace_shares_the_callers(tmp_path: Path) -> None:
    s = spec()
    s["linux"]["namespaces"] = [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]
    cfg, _ = to_config(s, str(tmp_path))
    assert not cfg.wants_netns


def test_no_namespace_listed_makes_none(tmp_path: Path) -> None:
    """runc (linux_ns_itype.t): a type not listed is the runtime's, the mount namespace too
    (lxcpy.runtime.ocimounts roots the process in a detached tree)."""
    s = spec()
    s["linux"]["namespaces"] = []
    del s["hostname"]
    cfg, _ = to_config(s, str(tmp_path))
    assert cfg.namespace_clone == [] and not cfg.wants_netns
    assert set(cfg.namespace_keep) >= {"mnt", "pid", "uts", "ipc", "net", "cgroup"}


def test_namespace_path_is_joined(tmp_path: Path) -> None:
    s = spec()
    s["linux"]["namespaces"] = [{"type": "mount"}, {"type": "uts", "path": "/proc/1/ns/uts"},
                                {"type": "pid", "path": "/proc/1/ns/pid"}]
    cfg, _ = to_config(s, str(tmp_path))  # runc sets the hostname in a joined one too
    assert cfg.uts_name and cfg.namespace_share == {"uts": "/proc/1/ns/uts",
                                                     "pid": "/proc/1/ns/pid"}
    s["linux"]["namespaces"] = [{"type": "mount", "path": "/proc/1/ns/mnt"}]
    del s["hostname"]
    cfg, _ = to_config(s, str(tmp_path))
    assert cfg.namespace_share == {"mnt": "/proc/1/ns/mnt"}
    s["linux"]["namespaces"] = [{"type": "mount"}, {"type": "user", "path": "/proc/1/ns/user"}]
    cfg, _ = to_config(s, str(tmp_path))  # runc joins it too, before the others
    assert cfg.namespace_share == {"user": "/proc/1/ns/user"}
    s["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    with pytest.raises(SpecError, match="uidMappings: the user namespace is joined by path"):
        to_config(s, str(tmp_path))
    del s["linux"]["uidMappings"]
    s["linux"]["namespaces"] = [{"type": "time", "path": "/proc/1/ns/time"}]
    with pytest.raises(SpecError, match=r"namespaces\[0\].path: joining a time namespace"):
        to_config(s, str(tmp_path))
    s["linux"]["namespaces"] = [{"type": "mount"}, {"type": "network",
                                                    "path": "/proc/1/ns/net"}]
    cfg, _ = to_config(s, str(tmp_path))
    assert cfg.namespace_share == {"net": "/proc/1/ns/net"}
    assert "net" not in cfg.namespace_clone


def test_joined_pid_and_mount_resolve_for_oci_only(tmp_path: Path) -> None:
    """namespaces.resolve(): an OCI config may join pid and mnt by path (the fork joins the
    PID namespace, the mount namespace gets a detached tree); lxc.namespace.share.mnt and
    a config without a mount namespace stay refused for lxc.* configs."""
    from lxcpy.config.model import ContainerConfig
    from lxcpy.errors import LxcError
    from lxcpy.runtime.namespaces import resolve

    s = spec()
    s["linux"]["namespaces"] = [{"type": "mount", "path": "/proc/self/ns/mnt"},
                                {"type": "pid", "path": "/proc/self/ns/pid"},
                                {"type": "uts", "path": "/proc/self/ns/uts"}]
    cfg, _ = to_config(s, str(tmp_path))
    resolve(cfg, str(tmp_path))
    assert sorted(j[0] for j in cfg.namespace_joins) == ["mnt", "pid", "uts"]
    assert {"mnt", "pid", "uts"} <= set(cfg.namespace_keep)
    lxc = ContainerConfig(path="config")
    lxc.namespace_share = {"mnt": "/proc/self/ns/mnt"}
    with pytest.raises(LxcError, match="joining another container's mnt namespace"):
        resolve(lxc, str(tmp_path))
    lxc = ContainerConfig(path="config")
    lxc.namespace_keep = ["mnt"]
    with pytest.raises(LxcError, match="needs a mount namespace of the container's own"):
        resolve(lxc, str(tmp_path))


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s["linux"]["namespaces"].append({"type": "bogus"}),
     "linux.namespaces[6].type: unknown namespace type 'bogus'"),
    (lambda s: s["linux"]["namespaces"].append({"type": "pid"}), "listed twice"),
    (lambda s: s["linux"].update(namespaces=[{"type": "pid"}]),
     "hostname: cannot set the hostname without a uts namespace"),
    (lambda s: s["linux"].update(namespaces=[{"type": "uts"}], rootfsPropagation="slave"),
     "linux.rootfsPropagation: needs a new mount namespace"),
    (lambda s: s["linux"]["namespaces"].append({"type": "pid", "path": "/x"}),
     "listed twice"),
    (lambda s: s.update(ociVersion="0.9"), "ociVersion"),
    (lambda s: s.update(bogus=1), "bogus: not supported"),
    (lambda s: s["linux"].update(intelRdt={}), "linux.intelRdt: not supported"),
    (lambda s: s["linux"].update(mountLabel="x"), "linux.mountLabel: SELinux"),
    (lambda s: s["process"].update(selinuxLabel="x"), "process.selinuxLabel"),
    (lambda s: s["process"].update(apparmorProfile="x"), "process.apparmorProfile"),
    (lambda s: s["process"].update(args=[]), "process.args"),
    (lambda s: s["process"].update(cwd="rel"), "process.cwd"),
    (lambda s: s["process"].update(env=["NOEQUALS"]), "process.env"),
    (lambda s: s["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "soft": 1,
                                               "hard": 1}), "RLIMIT_BOGUS"),
    (lambda s: s["linux"].update(rootfsPropagation="bogus"), "rootfsPropagation"),
    (lambda s: s.update(hooks={"prestart": [{"path": "rel"}]}), "not absolute"),
    (lambda s: s.update(hooks={"bogus": []}), "hooks.bogus"),
    (lambda s: s.update(domainname="x"), "domainname"),
    (lambda s: s["linux"].update(uidMappings=[{"containerID": 0, "hostID": 1000,
                                               "size": 1}]), "need a user namespace"),
    (lambda s: s["linux"]["namespaces"].append({"type": "user"}), "uidMappings"),
    (lambda s: s["linux"]["resources"].update(network={"classID": 1}), "net_cls"),
    (lambda s: s.update(root={"path": 3}), "root.path: expected a string"),
    (lambda s: s.update(mounts=[]), "needs a proc mount on /proc"),
    (lambda s: s["linux"].update(devices=[{"path": "/dev/x", "type": "x"}]),
     "linux.devices[0].type: 'x' is not c, b, u or p"),
    (lambda s: s["linux"].update(devices=[{"path": "dev/x", "type": "c"}]),
     "not an absolute path"),
    (lambda s: s["linux"].update(seccomp={"defaultAction": "SCMP_ACT_NOTIFY"}),
     "linux.seccomp.defaultAction"),
])
def test_refused_with_one_line(tmp_path: Path, mutate, message: str) -> None:  # noqa: ANN001
    s = spec()
    mutate(s)
    with pytest.raises(SpecError) as info:
        to_config(s, str(tmp_path))
    text = str(info.value)
    assert text.startswith("config.json: ") and "\n" not in text
    assert message in text


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(SpecError, match="not JSON"):
        load(str(tmp_path))
    (tmp_path / "config.json").write_text("[]")
    with pytest.raises(SpecError, match="not a JSON object"):
        load(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps(spec()))
    assert load(str(tmp_path))["ociVersion"].startswith("1.")


def test_process_user_and_capabilities(tmp_path: Path) -> None:
    s = spec()
    s["process"]["user"] = {"uid": 1000, "gid": 100, "additionalGids": [5, 6]}
    s["process"]["capabilities"] = {"bounding": []}
    s["process"]["oomScoreAdj"] = 100
    cfg, _ = to_config(s, str(tmp_path))
    assert (cfg.init_uid, cfg.init_gid, cfg.init_groups) == (1000, 100, [5, 6])
    assert cfg.cap_keep == ["none"]
    assert cfg.proc == {"oom_score_adj": "100"}


def test_mounts_bind_and_options(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    s = spec(mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "bind", "source": str(tmp_path),
         "options": ["rbind", "ro"]},
        {"destination": "/etc/x", "source": str(f), "options": ["bind"]},
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "size=1m"]},
    ])
    cfg, _ = to_config(s, str(tmp_path))
    assert cfg.oci_mounts is not None
    e = {m.target: m for m in cfg.oci_mounts}
    assert e["data"].options == "rbind,ro,create=dir" and e["data"].source == str(tmp_path)
    assert e["etc/x"].options == "bind,create=file" and e["etc/x"].fstype == "none"
    assert e["run"].fstype == "tmpfs" and e["run"].options == "nosuid,size=1m,create=dir"


def test_resources_v1_and_v2(tmp_path: Path) -> None:
    s = spec()
    s["linux"]["resources"] = {
        "memory": {"limit": 1 << 28, "swap": 1 << 29},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 64},
        "blockIO": {"weight": 500},
        "unified": {"memory.high": "1000000"},
    }
    cfg, _ = to_config(s, str(tmp_path))
    got = {(c.version, c.key): c.value for c in cfg.cgroup_settings}
    assert got[(1, "memory.limit_in_bytes")] == str(1 << 28)
    assert got[(2, "memory.max")] == str(1 << 28)
    assert got[(2, "memory.swap.max")] == str(1 << 28)
    assert got[(1, "cpu.cfs_quota_us")] == "50000"
    assert got[(2, "cpu.max")] == "50000 100000"
    assert got[(2, "cpu.weight")] == "39"
    assert got[(1, "pids.max")] == got[(2, "pids.max")] == "64"
    assert got[(2, "memory.high")] == "1000000"
    assert got[(1, "cpuset.cpus")] == "0"


def test_seccomp_json_to_policy(tmp_path: Path) -> None:
    s = spec()
    s["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["mkdir", "nosuchcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},  # = default: dropped
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 255, "valueTwo": 8,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
        ],
    }
    cfg, _ = to_config(s, str(tmp_path), known_syscall=lambda n: n != "nosuchcall")
    policy = cfg.seccomp
    assert policy is not None and policy.default == Action("allow")
    assert [r.syscall for r in policy.rules] == ["mkdir", "personality"]
    assert policy.rules[0].action == Action("errno", 13)
    assert policy.rules[0].arches == ("x86_64",)
    arg = policy.rules[1].args[0]
    assert (arg.op, arg.value, arg.mask) == ("MASKED_EQ", 8, 255)
    assert policy.rules[1].action == Action("errno", 1)  # EPERM when no errnoRet


def test_devices_are_made_and_allowed(tmp_path: Path) -> None:
    s = spec()
    s["linux"]["devices"] = [{"path": "/dev/test1", "type": "c", "major": 10, "minor": 666,
                              "fileMode": 0o660, "uid": 1, "gid": 2},
                             {"path": "/dev/fifo", "type": "p"}]
    cfg, _ = to_config(s, str(tmp_path))
    assert cfg.oci_devices == [("/dev/test1", "c", 10, 666, 0o660, 1, 2),
                               ("/dev/fifo", "p", 0, 0, 0o666, 0, 0)]
    v1 = [(c.key, c.value) for c in cfg.cgroup_settings if c.version == 1]
    assert ("devices.allow", "c 10:666 rwm") in v1
