"""lxcpy-oci's command line against the real kernel, on a bundle made from busybox-static."""

from __future__ import annotations

import array
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lxcpy.oci.spec import default_spec
from tests.integration.helpers import cgroup_mounts, tool, unique, wait_until

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
pytestmark = [pytest.mark.root, pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(BUSYBOX), reason="needs root and busybox")]


def oci(root: Path, *args: str, timeout: float = 60,
        **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run lxcpy-oci; its output through files, not pipes: the container's process gets
    the caller's stdio (as with runc), so a pipe would not see EOF while it runs."""
    argv = [tool("lxcpy-oci"), "--root", str(root), *args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run(argv, stdout=out, stderr=err, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read())


def make_bundle(path: Path, args: list[str], **process: object) -> Path:
    rootfs = path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    for d in ("proc", "dev", "sys", "tmp"):
        (rootfs / d).mkdir()
    shutil.copy(BUSYBOX, rootfs / "bin" / "busybox")
    for applet in ("sh", "sleep", "cat", "echo", "id", "hostname", "ls", "true"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    spec = default_spec(terminal=False)
    spec["process"]["args"] = args
    spec["process"].update(process)
    (path / "config.json").write_text(json.dumps(spec))
    return path


def write_spec(bundle: Path, change) -> None:  # noqa: ANN001
    spec = json.loads((bundle / "config.json").read_text())
    change(spec)
    (bundle / "config.json").write_text(json.dumps(spec))


def leftovers(cid: str) -> list[str]:
    """Cgroups named after the container, anywhere in any hierarchy."""
    found = []
    for mount in cgroup_mounts():
        found += [str(p) for p in mount.glob(f"lxc.payload.{cid}*")]
    return found


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "state"
    yield root
    if root.exists():  # anything a failed test left: force-delete it
        for cid in os.listdir(root):
            oci(root, "delete", "--force", cid)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "bundle", ["sleep", "1000"])


def status(root: Path, cid: str) -> str:
    out = oci(root, "state", cid)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["status"]


# ---- bad input: one line, runc's exit code (1), nothing left behind ------------------------
def test_bad_input(tmp_path: Path, root: Path, bundle: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    notjson = tmp_path / "notjson"
    notjson.mkdir()
    (notjson / "config.json").write_text("{oops")
    badns = make_bundle(tmp_path / "badns", ["true"])
    write_spec(badns, lambda s: s["linux"]["namespaces"].append({"type": "bogus"}))
    cid = unique("o")
    cases = [
        (["create", "--bundle", str(empty), cid], "config.json: no such file"),
        (["create", "--bundle", str(notjson), cid], "not JSON"),
        (["create", "--bundle", str(badns), cid], "unknown namespace type 'bogus'"),
        (["create", "--bundle", str(bundle), "a/b"], "invalid container id format: a/b"),
        (["start", cid], f"container does not exist: {cid}"),
        (["state", cid], f"container does not exist: {cid}"),
        (["kill", cid], f"container does not exist: {cid}"),
        (["delete", cid], f"container does not exist: {cid}"),
        (["bogus-command"], "invalid choice"),
    ]
    for args, message in cases:
        out = oci(root, *args)
        assert out.returncode == 1, (args, out)
        assert out.stdout == "", args
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and message in lines[0], (args, out.stderr)
        assert not (root / cid).exists() and not (root / "a").exists()
        assert leftovers(cid) == []
    assert oci(root, "delete", "--force", cid).returncode == 0  # runc: gone is fine


def test_id_in_use_and_start_twice(root: Path, bundle: Path) -> None:
    cid = unique("o")
    assert oci(root, "create", "--bundle", str(bundle), cid).returncode == 0
    out = oci(root, "create", "--bundle", str(bundle), cid)
    assert (out.returncode, out.stderr) == (1, f"container with id exists: {cid}\n")
    assert status(root, cid) == "created"
    assert oci(root, "start", cid).returncode == 0
    out = oci(root, "start", cid)
    assert (out.returncode, out.stderr) == (1, "cannot start an already running container\n")
    out = oci(root, "delete", cid)
    assert out.returncode == 1
    assert out.stderr == f"cannot delete container {cid} that is not stopped: running\n"
    assert oci(root, "delete", "--force", cid).returncode == 0
    assert not (root / cid).exists() and leftovers(cid) == []


# ---- the life cycle -------------------------------------------------------------------------
def test_create_start_state_kill_delete(tmp_path: Path, root: Path, bundle: Path) -> None:
    cid = unique("o")
    pid_file = tmp_path / "pid"
    out = oci(root, "create", "--bundle", str(bundle), "--pid-file", str(pid_file), cid)
    assert out.returncode == 0, out.stderr
    state = json.loads(oci(root, "state", cid).stdout)
    assert state["status"] == "created" and state["id"] == cid
    assert state["bundle"] == str(bundle) and state["ociVersion"].startswith("1.")
    pid = int(pid_file.read_text())
    assert state["pid"] == pid
    # created: set up, but not yet the program (the init waits before its exec)
    assert "sleep" not in Path(f"/proc/{pid}/cmdline").read_text()
    cgroups = leftovers(cid)
    assert cgroups and all(str(pid) in Path(c, "cgroup.procs").read_text().split()
                           for c in cgroups)
    assert oci(root, "start", cid).returncode == 0
    assert status(root, cid) == "running"
    assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"1000"]
    listed = json.loads(oci(root, "list", "--format", "json").stdout)
    assert [(s["id"], s["status"]) for s in listed] == [(cid, "running")]
    assert json.loads(oci(root, "ps", "--format", "json", cid).stdout) == [pid]
    assert oci(root, "kill", cid, "KILL").returncode == 0
    assert wait_until(lambda: status(root, cid) == "stopped")
    out = oci(root, "kill", cid)
    assert (out.returncode, out.stderr) == (1, "container not running\n")
    assert oci(root, "delete", cid).returncode == 0
    assert not (root / cid).exists() and leftovers(cid) == []


def test_run_exit_status_and_environment(tmp_path: Path, root: Path) -> None:
    b = make_bundle(tmp_path / "b", ["sh", "-c", "echo $FOO $(hostname) $(id -u); exit 7"],
                    env=["FOO=bar", "PATH=/bin"])
    cid = unique("o")
    out = oci(root, "run", "--bundle", str(b), cid)
    assert out.returncode == 7, out.stderr
    assert out.stdout == "bar runc 0\n"
    assert not (root / cid).exists() and leftovers(cid) == []


def test_confinement_of_the_init(tmp_path: Path, root: Path) -> None:
    """The default spec's capabilities, no_new_privs, masked and read-only paths."""
    b = make_bundle(tmp_path / "b", ["sh", "-c",
                                     "grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status; "
                                     "cat /proc/kcore | wc -c; "
                                     "echo x > /proc/sys/kernel/hostname || echo ro-sys; "
                                     "touch /newfile || echo ro-root"])
    out = oci(root, "run", "--bundle", str(b), unique("o"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert "0000000020000420" in lines  # CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE
    assert lines[lines.index("NoNewPrivs:") + 1] == "1"
    assert "ro-sys" in lines and "ro-root" in lines
    assert lines[lines.index("NoNewPrivs:") + 2] == "0"  # /proc/kcore is /dev/null


def test_exec_and_detached_exec(tmp_path: Path, root: Path, bundle: Path) -> None:
    cid = unique("o")
    assert oci(root, "run", "--detach", "--bundle", str(bundle), cid).returncode == 0
    out = oci(root, "exec", cid, "--", "sh", "-c", "cat /proc/1/cmdline; echo; exit 5")
    assert out.returncode == 5 and out.stdout.startswith("sleep\x001000"), out
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["sleep", "500"], "cwd": "/tmp",
                                   "env": ["PATH=/bin"], "user": {"uid": 1, "gid": 1}}))
    pid_file = tmp_path / "exec.pid"
    out = oci(root, "exec", "--detach", "--process", str(process), "--pid-file",
              str(pid_file), cid)
    assert out.returncode == 0, out.stderr
    pid = int(pid_file.read_text())
    assert os.stat(f"/proc/{pid}").st_uid == 1
    assert os.readlink(f"/proc/{pid}/cwd").endswith("/tmp")
    assert pid in json.loads(oci(root, "ps", "--format", "json", cid).stdout)
    out = oci(root, "exec", cid, "/nonexistent")
    assert out.returncode == 1 and "/nonexistent" in out.stderr
    assert oci(root, "delete", "--force", cid).returncode == 0
    assert not os.path.exists(f"/proc/{pid}/status") or "Z" in \
        Path(f"/proc/{pid}/status").read_text().splitlines()[2]
    assert leftovers(cid) == []


def test_pause_and_resume(root: Path, bundle: Path) -> None:
    cid = unique("o")
    assert oci(root, "run", "-d", "--bundle", str(bundle), cid).returncode == 0
    assert oci(root, "pause", cid).returncode == 0
    assert status(root, cid) == "paused"
    out = oci(root, "exec", cid, "true")
    assert out.returncode == 1 and "paused" in out.stderr
    out = oci(root, "pause", cid)
    assert out.returncode == 1
    assert oci(root, "resume", cid).returncode == 0
    assert status(root, cid) == "running"
    out = oci(root, "resume", cid)
    assert (out.returncode, out.stderr) == (1, "container not paused\n")
    assert oci(root, "delete", "--force", cid).returncode == 0
    assert leftovers(cid) == []


def ns_of(pid: int | str, ns: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{ns}")


def mounts_under(pid: int | str, path: Path) -> list[str]:
    """Mounts at or below ``path`` in the mount table of ``pid``'s mount namespace (others
    come and go there: tests of other tools run beside us)."""
    lines = Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
    return [line for line in lines
            if (line.split()[4] + "/").startswith(str(path) + "/")]


def test_hooks_get_the_state_on_stdin_where_the_spec_says(tmp_path: Path, root: Path,
                                                         bundle: Path) -> None:
    """createRuntime, prestart, poststart, poststop: the runtime's namespaces; createContainer:
    the container's mount (and PID) namespace before pivot_root (/ is still the host's);
    startContainer: inside the container (/ is the rootfs) before the exec."""
    (bundle / "rootfs" / "marker").write_text("rootfs")
    (bundle / "rootfs" / "bin" / "readlink").symlink_to("busybox")
    log = bundle / "rootfs" / "tmp" / "hooks.log"  # /tmp/hooks.log inside
    hooks = {}
    for kind in ("prestart", "createRuntime", "createContainer", "startContainer",
                 "poststart", "poststop"):
        inside = kind == "startContainer"
        where = "/tmp/hooks.log" if inside else str(log)
        script = (f"read -r s; echo \"{kind} $(readlink /proc/self/ns/mnt) "
                  f"$(readlink /proc/self/ns/pid) $(test -e /marker && echo rootfs || "
                  f"echo host) $(pwd) $s\" >> {where}")
        hooks[kind] = [{"path": "/bin/sh", "args": ["sh", "-c", script]}]
    write_spec(bundle, lambda s: s.update(hooks=hooks, root={"path": "rootfs"}))
    cid = unique("o")
    out = oci(root, "create", "--bundle", str(bundle), cid)
    assert out.returncode == 0, out.stderr
    pid = json.loads(oci(root, "state", cid).stdout)["pid"]
    inside_mnt, inside_pid = ns_of(pid, "mnt"), ns_of(pid, "pid")
    assert oci(root, "start", cid).returncode == 0
    # startContainer runs in the container once `start` released it, beside poststart
    assert wait_until(lambda: "startContainer" in log.read_text())
    assert oci(root, "delete", "--force", cid).returncode == 0
    rows = [line.split(" ", 5) for line in log.read_text().splitlines()]
    kinds = [r[0] for r in rows]
    assert kinds[:3] == ["createRuntime", "createContainer", "prestart"]
    assert sorted(kinds[3:5]) == ["poststart", "startContainer"] and kinds[5:] == ["poststop"]
    seen = {r[0]: (r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows}
    host = (ns_of("self", "mnt"), ns_of("self", "pid"))
    for kind in ("createRuntime", "prestart", "poststart", "poststop"):
        assert seen[kind][:3] == (*host, "host"), kind
    assert seen["createContainer"][:3] == (inside_mnt, inside_pid, "host")
    assert seen["createContainer"][3] == str(bundle / "rootfs")  # runc: cwd is the rootfs
    assert seen["startContainer"][:3] == (inside_mnt, inside_pid, "rootfs")
    states = {kind: v[4] for kind, v in seen.items()}
    assert all(s["id"] == cid and s["bundle"] == str(bundle) for s in states.values())
    assert states["createRuntime"]["status"] == "creating"
    assert states["createRuntime"]["pid"] == pid
    assert states["createContainer"]["status"] == "creating"
    assert states["createContainer"]["pid"] == 1  # its own PID, as runc's init reports it
    assert states["prestart"]["status"] == "created" and states["prestart"]["pid"] == pid
    assert states["startContainer"]["status"] == "created"
    assert states["poststop"]["status"] == "stopped"


def test_failing_container_hook_undoes_the_create(root: Path, bundle: Path) -> None:
    write_spec(bundle, lambda s: s.update(hooks={"createContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo no >&2; exit 3"]}]}))
    cid = unique("o")
    out = oci(root, "create", "--bundle", str(bundle), cid)
    assert (out.returncode, out.stderr) == (1, "createContainer hook /bin/sh exited with "
                                               "status 3: no\n")
    assert not (root / cid).exists() and leftovers(cid) == []


def test_failing_hook_undoes_the_create(tmp_path: Path, root: Path, bundle: Path) -> None:
    write_spec(bundle, lambda s: s.update(hooks={"prestart": [{"path": "/bin/false"}]}))
    cid = unique("o")
    out = oci(root, "create", "--bundle", str(bundle), cid)
    assert out.returncode == 1
    assert out.stderr == "prestart hook /bin/false exited with status 1\n"
    assert not (root / cid).exists() and leftovers(cid) == []


def test_console_socket_gets_the_pty_master(tmp_path: Path, root: Path) -> None:
    b = make_bundle(tmp_path / "b", ["sh", "-c", "tty; echo done"], terminal=True)
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    cid = unique("o")
    try:
        proc = subprocess.Popen([tool("lxcpy-oci"), "--root", str(root), "create", "--bundle",
                                 str(b), "--console-socket", path, cid],
                                stderr=subprocess.PIPE, text=True)
        conn, _ = server.accept()
        fds = array.array("i")
        msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
        conn.close()
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        fds.frombytes(anc[0][2][:fds.itemsize])
        master = fds[0]
        assert stat.S_ISCHR(os.fstat(master).st_mode)
        assert oci(root, "start", cid).returncode == 0
        data = b""
        while b"done" not in data:
            try:
                chunk = os.read(master, 1024)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        os.close(master)
        assert b"/dev/console" in data or b"/dev/pts/" in data, data
    finally:
        server.close()
        if proc.stderr:
            proc.stderr.close()
        oci(root, "delete", "--force", cid)
    assert leftovers(cid) == []


def test_terminal_without_console_socket_is_refused(tmp_path: Path, root: Path) -> None:
    b = make_bundle(tmp_path / "b", ["sh"], terminal=True)
    cid = unique("o")
    out = oci(root, "create", "--bundle", str(b), cid)
    assert out.returncode == 1 and "console socket" in out.stderr
    assert not (root / cid).exists() and leftovers(cid) == []


def test_spec_features_version(tmp_path: Path, root: Path) -> None:
    out = oci(root, "spec", cwd=str(tmp_path))
    assert out.returncode == 0
    assert json.loads((tmp_path / "config.json").read_text())["process"]["args"] == ["sh"]
    out = oci(root, "spec", cwd=str(tmp_path))
    assert out.returncode == 1 and "exists" in out.stderr
    features = json.loads(oci(root, "features").stdout)
    assert "network" in features["linux"]["namespaces"]
    assert oci(root, "--version").stdout.startswith("lxcpy-oci version ")
    out = oci(root, "--systemd-cgroup", "list")
    assert out.returncode == 1 and out.stderr.startswith("--systemd-cgroup is not supported")


def test_devices_are_made_and_allowed(tmp_path: Path, root: Path) -> None:
    b = make_bundle(tmp_path / "b", ["sh", "-c", "ls -ln /dev/test1; "
                                     "echo x > /dev/test1 2>/dev/null || echo open-refused; "
                                     "echo x > /dev/null && echo null-ok"])
    write_spec(b, lambda s: s["linux"].update(devices=[
        {"path": "/dev/test1", "type": "c", "major": 10, "minor": 666, "fileMode": 0o640,
         "uid": 3, "gid": 4}]))
    out = oci(root, "run", "--bundle", str(b), unique("o"))
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0].split()
    assert first[0] == "crw-r-----" and first[2:6] == ["3", "4", "10,", "666"]
    # allowed in the device cgroup (there is no such driver: the open fails with ENXIO)
    assert "null-ok" in out.stdout


def test_uid_mappings(root: Path) -> None:
    """A user namespace: root inside is host uid 1000; the start gate stays writable."""
    base = Path(tempfile.mkdtemp(prefix="lxcpy-oci-userns-"))
    try:
        base.chmod(0o755)  # the mapped root must reach its rootfs
        b = make_bundle(base / "b", ["sh", "-c", "id -u; cat /proc/self/uid_map"])
        b.chmod(0o755)

        def userns(spec: dict) -> None:
            spec["linux"]["namespaces"].append({"type": "user"})
            spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 2000}]
            spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 2000}]

        write_spec(b, userns)
        out = oci(root, "run", "--bundle", str(b), unique("o"))
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["0", "0", "1000", "2000"]
    finally:
        shutil.rmtree(base)


def test_seccomp_json_profile_binds_init_and_exec(tmp_path: Path, root: Path) -> None:
    """linux.seccomp (OCI JSON): mkdir fails with the profile's errno in the container's
    process and in a process exec'd later (exec loads the very same filter)."""
    b = make_bundle(tmp_path / "b", ["sleep", "1000"])
    (b / "rootfs" / "bin" / "mkdir").symlink_to("busybox")
    write_spec(b, lambda s: s["linux"].update(seccomp={
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 13}]}))
    cid = unique("o")
    assert oci(root, "run", "-d", "--bundle", str(b), cid).returncode == 0
    try:
        pid = json.loads(oci(root, "state", cid).stdout)["pid"]
        status_lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        assert "Seccomp:\t2" in status_lines
        out = oci(root, "exec", cid, "sh", "-c", "mkdir /tmp/x || echo denied; "
                  "ls /proc/self/fd | wc -l")
        assert out.returncode == 0
        assert "Permission denied" in out.stdout + out.stderr and "denied" in out.stdout
        assert not (b / "rootfs" / "tmp" / "x").exists()
        # only stdin, stdout, stderr (and ls's own directory fd) reach an exec'd process
        assert out.stdout.split()[-1] == "4"
    finally:
        oci(root, "delete", "--force", cid)
    assert leftovers(cid) == []


def test_preserve_fds_and_ps_table(tmp_path: Path, root: Path) -> None:
    b = make_bundle(tmp_path / "b", ["sh", "-c", "cat <&3; sleep 1000"])
    data = tmp_path / "data"
    data.write_text("passed-on\n")
    cid = unique("o")
    # fd 3 of lxcpy-oci only (a shell redirection), passed on with --preserve-fds 1
    argv = [tool("lxcpy-oci"), "--root", str(root), "run", "-d", "--preserve-fds", "1",
            "--bundle", str(b), cid]
    log = tmp_path / "out"
    with open(log, "w") as out_file:
        rc = subprocess.run(["sh", "-c", f'exec "$@" 3<"{data}"', "sh", *argv],
                            stdout=out_file, stderr=out_file, stdin=subprocess.DEVNULL,
                            timeout=60).returncode
    out = subprocess.CompletedProcess(argv, rc, log.read_text(), log.read_text())
    try:
        assert out.returncode == 0, out.stderr
        assert wait_until(lambda: "sleep" in oci(root, "ps", cid).stdout)
        table = oci(root, "ps", cid).stdout.splitlines()
        assert table[0].split()[:2] == ["UID", "PID"]
        assert any("sleep 1000" in line for line in table[1:])
        assert wait_until(lambda: "passed-on" in log.read_text())  # the container read fd 3
    finally:
        oci(root, "delete", "--force", cid)


# ---- linux.namespaces: joined by path, or not listed (the runtime's) ---------------------
@pytest.fixture
def holder() -> Iterator[int]:
    """A process in new ipc, mount, network, PID and uts namespaces, to join by path: the
    PID of `unshare` (its child is PID 1 of the new PID namespace; --kill-child ends it)."""
    proc = subprocess.Popen(["unshare", "--ipc", "--mount", "--net", "--pid", "--uts",
                             "--fork", "--kill-child", "sh", "-c", "echo ready; exec sleep 1000"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    yield proc.pid
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_join_every_namespace_by_path(tmp_path: Path, root: Path, bundle: Path,
                                      holder: int) -> None:
    """runc's linux_ns_path.t: mnt and pid too, and the hostname set in the joined uts
    namespace (runc does). The joined mount namespace's own mount table is left as it was:
    the rootfs is a detached tree the container is rooted in."""
    (bundle / "rootfs" / "marker").write_text("rootfs")
    (bundle / "rootfs" / "bin" / "readlink").symlink_to("busybox")
    joined = {"ipc": "ipc", "mount": "mnt", "network": "net", "uts": "uts"}
    spaces = [{"type": t, "path": f"/proc/{holder}/ns/{ns}"} for t, ns in joined.items()]
    spaces.append({"type": "pid", "path": f"/proc/{holder}/ns/pid_for_children"})
    spaces.append({"type": "cgroup"})

    def change(spec: dict) -> None:
        spec["linux"]["namespaces"] = spaces
        spec["hostname"] = "joined"
    write_spec(bundle, change)
    cid = unique("o")
    out = oci(root, "create", "--bundle", str(bundle), cid)
    assert out.returncode == 0, out.stderr
    pid = json.loads(oci(root, "state", cid).stdout)["pid"]
    for ns in joined.values():
        assert ns_of(pid, ns) == ns_of(holder, ns), ns
    assert ns_of(pid, "pid") == ns_of(holder, "pid_for_children")
    nspid = [line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
             if line.startswith("NSpid:")][0].split()
    assert len(nspid) == 3 and nspid[2] != "1"  # the holder's sleep is PID 1 there
    uts = subprocess.run(["nsenter", "-t", str(holder), "-u", "hostname"],
                         capture_output=True, text=True)
    assert uts.stdout == "joined\n"
    assert Path(f"/proc/{pid}/root/marker").read_text() == "rootfs"
    assert mounts_under(holder, bundle) == []  # runc mounts the rootfs, /proc, ... there
    assert oci(root, "start", cid).returncode == 0
    # exec joins the init's namespaces and its root (the tree, not the namespace's /)
    out = oci(root, "exec", cid, "sh", "-c", "cat /marker; readlink /proc/self/ns/mnt")
    assert out.stdout == f"rootfs{ns_of(holder, 'mnt')}\n", out.stderr
    assert oci(root, "delete", "--force", cid).returncode == 0
    assert mounts_under(holder, bundle) == []


def test_no_namespace_listed_is_the_runtimes(tmp_path: Path, root: Path) -> None:
    """runc's linux_ns_itype.t: every namespace inherited, the mount namespace too. runc
    then mounts the rootfs, /proc, /dev, ... in the runtime's mount namespace (left behind
    on the host); lxcpy-oci roots the process in a detached tree: the host's mount table
    never changes, and the process still sees only its rootfs."""
    bundle = make_bundle(tmp_path / "bundle", ["sh", "-c", "ls / > /tmp/seen"])
    (bundle / "rootfs" / "marker").write_text("rootfs")

    def change(spec: dict) -> None:
        spec["linux"]["namespaces"] = []
        del spec["hostname"]
        spec["root"]["readonly"] = False
    write_spec(bundle, change)
    cid = unique("o")
    out = oci(root, "create", "--bundle", str(bundle), cid)
    assert out.returncode == 0, out.stderr
    pid = json.loads(oci(root, "state", cid).stdout)["pid"]
    for ns in ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts"):
        assert ns_of(pid, ns) == ns_of("self", ns), ns
    assert Path(f"/proc/{pid}/root/marker").read_text() == "rootfs"
    assert mounts_under("self", bundle) == []  # runc mounts the rootfs, /proc, ... here
    assert oci(root, "start", cid).returncode == 0
    assert wait_until(lambda: status(root, cid) == "stopped")
    seen = (bundle / "rootfs" / "tmp" / "seen").read_text().split()
    assert "marker" in seen and "proc" in seen and "pytest" not in " ".join(seen)
    assert oci(root, "delete", cid).returncode == 0
    assert mounts_under("self", bundle) == []


def test_hostname_needs_a_uts_namespace(root: Path, bundle: Path) -> None:
    """runc's validator refuses it too: it would rename the host."""
    write_spec(bundle, lambda s: s["linux"].update(namespaces=[{"type": "mount"},
                                                               {"type": "pid"}]))
    cid = unique("o")
    out = oci(root, "create", "--bundle", str(bundle), cid)
    assert out.returncode == 1
    assert out.stderr.startswith("config.json: hostname: cannot set the hostname without")
    assert out.stderr.count("\n") == 1 and not (root / cid).exists()


def test_join_a_user_namespace_by_path(root: Path, bundle: Path) -> None:
    """runc joins a user namespace given by path first; the namespaces made then are owned
    by it, the PID namespace too (the init is PID 1 there and mounts its /proc)."""
    proc = subprocess.Popen(["unshare", "--user", "sh", "-c", "echo ready; exec sleep 1000"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        for kind in ("uid", "gid"):  # all of it mapped: devpts's gid=5 must exist there
            Path(f"/proc/{proc.pid}/{kind}_map").write_text("0 0 65536\n")
        write_spec(bundle, lambda s: s["linux"]["namespaces"].append(
            {"type": "user", "path": f"/proc/{proc.pid}/ns/user"}))
        cid = unique("o")
        out = oci(root, "create", "--bundle", str(bundle), cid)
        assert out.returncode == 0, out.stderr
        pid = json.loads(oci(root, "state", cid).stdout)["pid"]
        assert ns_of(pid, "user") == ns_of(proc.pid, "user")
        status_lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        nspid = [line for line in status_lines if line.startswith("NSpid:")][0].split()
        assert nspid[-1] == "1"
        assert oci(root, "start", cid).returncode == 0
        out = oci(root, "exec", cid, "sh", "-c", "cat /proc/self/uid_map; ls /proc/1/ns")
        assert out.returncode == 0, out.stderr
        assert out.stdout.split()[:3] == ["0", "0", "65536"] and "pid" in out.stdout
        assert oci(root, "delete", "--force", cid).returncode == 0
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
