"""lxcpy-oci update's flags and cgroup mapping, and events' stats, on cgroup v1 and v2
directories made of plain files (the kernel side is tests/integration/test_oci_commands.py;
this host has no v2 controllers, so v2 is checked here)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lxcpy.oci import events, update
from lxcpy.oci.args import Usage, parse
from lxcpy.oci.state import StateError


def test_sizes_as_runc_reads_them() -> None:
    assert update.ram_in_bytes("100m") == 100 << 20
    assert update.ram_in_bytes("1g") == 1 << 30
    assert update.ram_in_bytes("512KiB") == 512 << 10
    assert update.ram_in_bytes("4096") == 4096
    assert update.ram_in_bytes("-1") == -1
    with pytest.raises(ValueError, match="invalid size: 'abc'"):
        update.ram_in_bytes("abc")


def test_flags_become_resources_and_bad_values_are_refused() -> None:
    args = parse(["update", "--memory", "64m", "--memory-swap", "-1", "--cpu-quota", "-1",
                  "--cpuset-cpus", "0-1", "--pids-limit", "9", "c1"])
    assert update.from_flags(args) == {"memory": {"limit": 64 << 20, "swap": -1},
                                       "cpu": {"quota": -1, "cpus": "0-1"},
                                       "pids": {"limit": 9}}
    for flags, text in ((["--memory", "x"], "invalid value for memory"),
                        (["--cpu-period", "-5"], "invalid value for cpu-period"),
                        (["--l3-cache-schema", "L3:0=f"], "Intel RDT")):
        with pytest.raises(StateError, match=text):
            update.from_flags(parse(["update", *flags, "c1"]))
    with pytest.raises(StateError, match="minimum allowed cpu-shares is 2"):
        update.check({"cpu": {"shares": 1}})
    with pytest.raises(StateError, match="cannot be changed"):
        update.check({"devices": {}})
    with pytest.raises(StateError, match="is not an integer"):
        update.check({"memory": {"limit": "1g"}})


def test_v1_and_v2_files_from_one_table() -> None:
    res = {"memory": {"limit": 100, "swap": 300}, "cpu": {"shares": 1024, "quota": 5000},
           "pids": {"limit": 0}}
    v1 = update.settings_for(res, res, 1)
    assert ("memory.limit_in_bytes", "100") in v1
    assert ("memory.memsw.limit_in_bytes", "300") in v1
    assert ("cpu.shares", "1024") in v1 and ("cpu.cfs_quota_us", "5000") in v1
    assert not any(k == "pids.max" for k, _ in v1)  # 0: left as it is (runc)
    merged = {"memory": {"limit": 100}, "cpu": {"period": 20000}}
    v2 = dict(update.settings_for({"memory": {"swap": 300}, "cpu": {"quota": 5000}},
                                  merged, 2))
    assert v2 == {"memory.swap.max": "200",  # the spec's swap is memory + swap
                  "cpu.max": "5000 20000"}  # the period in force is kept


def test_update_writes_the_v2_files_of_the_record(tmp_path: Path) -> None:
    cg = tmp_path / "unified" / "c1"
    cg.mkdir(parents=True)
    for name in ("cgroup.controllers", "memory.max", "pids.max", "cpu.max"):
        (cg / name).write_text("")
    rec = SimpleNamespace(cgroup_paths=[str(cg)], resources={"pids": {"limit": 5}})
    merged = update.apply(rec, {"memory": {"limit": 4096}, "pids": {"limit": -1}})  # type: ignore[arg-type]
    assert (cg / "memory.max").read_text() == "4096"
    assert (cg / "pids.max").read_text() == "max"
    assert merged == {"memory": {"limit": 4096}, "pids": {"limit": -1}}
    with pytest.raises(StateError, match="has no cpuset cgroup controller"):
        update.apply(rec, {"cpu": {"cpus": "0"}})  # type: ignore[arg-type]


def _files(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)


def test_stats_of_a_v2_cgroup(tmp_path: Path) -> None:
    cg = tmp_path / "c1"
    _files(cg, {"cgroup.controllers": "cpu memory pids io\n",
                "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
                            "nr_periods 4\nnr_throttled 1\nthrottled_usec 7\n",
                "memory.current": "8192\n", "memory.max": "max\n", "memory.peak": "9000\n",
                "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
                "memory.swap.current": "0\n", "memory.swap.max": "max\n",
                "memory.stat": "anon 4096\nfile 4096\n",
                "pids.current": "2\n", "pids.max": "10\n",
                "io.stat": "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"})
    data = events.stats([str(cg)])
    assert data["cpu"] == {"usage": {"total": 1_500_000, "kernel": 500_000, "user": 1_000_000},
                           "throttling": {"periods": 4, "throttledPeriods": 1,
                                          "throttledTime": 7000}}
    assert data["memory"]["usage"] == {"limit": 0, "usage": 8192, "max": 9000, "failcnt": 3}
    assert data["memory"]["raw"] == {"anon": 4096, "file": 4096}
    assert data["pids"] == {"current": 2, "limit": 10}
    assert data["blkio"]["ioServiceBytesRecursive"] == [
        {"major": 8, "op": "Read", "value": 10}, {"major": 8, "op": "Write", "value": 20}]
    assert events.event("oom", "c1") == '{"type":"oom","id":"c1"}'


def test_stats_of_v1_hierarchies(tmp_path: Path) -> None:
    _files(tmp_path / "cpuacct" / "c1", {"cpuacct.usage": "300\n",
                                         "cpuacct.usage_percpu": "100 200 \n",
                                         "cpuacct.stat": "user 2\nsystem 1\n"})
    _files(tmp_path / "memory" / "c1", {"memory.usage_in_bytes": "4096\n",
                                        "memory.limit_in_bytes": "65536\n",
                                        "memory.max_usage_in_bytes": "8192\n",
                                        "memory.failcnt": "0\n",
                                        "memory.stat": "cache 12\nrss 4084\n"})
    _files(tmp_path / "pids" / "c1", {"pids.current": "1\n", "pids.max": "max\n"})
    _files(tmp_path / "cpuset" / "c1", {"cpuset.cpus": "0-2,5\n", "cpuset.mems": "0\n"})
    paths = [str(tmp_path / c / "c1") for c in ("cpuacct", "memory", "pids", "cpuset")]
    data = events.stats(paths)
    assert data["cpu"]["usage"] == {"total": 300, "percpu": [100, 200],
                                    "kernel": 10_000_000, "user": 20_000_000}
    assert data["memory"]["cache"] == 12
    assert data["memory"]["usage"] == {"limit": 65536, "usage": 4096, "max": 8192,
                                       "failcnt": 0}
    assert data["pids"] == {"current": 1}  # "max": no limit, left out as runc's omitempty
    assert data["cpuset"]["cpus"] == [0, 1, 2, 5] and data["cpuset"]["mems"] == [0]


def test_the_command_line_grammar() -> None:
    args = parse(["--root", "/r", "exec", "-t", "--cap", "CAP_KILL", "c1", "sh", "-c", "x"])
    assert (args.root, args.command, args.tty, args.cap, args.id, args.args) == \
        ("/r", "exec", True, ["CAP_KILL"], "c1", ["sh", "-c", "x"])
    args = parse(["--log-format=json", "delete", "c1", "--force"])
    assert (args.log_format, args.force, args.id) == ("json", True, "c1")
    assert parse(["kill", "c1"]).signal is None
    for argv, text in ((["bogus"], "invalid choice"), (["state"], "required: id"),
                       (["state", "a", "b"], "unrecognized arguments: b"),
                       (["list", "--format", "xml"], "invalid choice"),
                       (["--nope"], "flag provided but not defined: --nope"),
                       (["create", "--preserve-fds", "x", "c"], "invalid value")):
        with pytest.raises(Usage, match=text):
            parse(argv)
