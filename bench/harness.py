"""Benchmark lxcpy against the C LXC, inside a throwaway network namespace.

Run by bench/run.sh under ``unshare --net --mount`` + bench/netns-wrap.sh; never run it
in the host's network namespace (it refuses). Writes one JSON summary (and hyperfine's
raw JSON files); bench/report.py turns that into bench/RESULTS.md.

Cases (the same config files for both implementations; names differ by one letter,
``lbC-*`` for the C LXC and ``lbP-*`` for lxcpy, because both name their cgroups
``lxc.payload.<name>`` in the same hierarchies):

1. ``lxc-execute -n X -- /bin/true`` without network, beside the floors;
2. the same with one veth on a bridge;
3. ``lxc-info -s`` (and lxcpy's ``lxc-state``) on a running and on a stopped container;
4. freeze + unfreeze round trip of a container with 100 processes;
5. 20 parallel ``lxc-execute -d`` until all RUNNING, and 20 parallel ``lxc-stop -k``;
6. lxcpy's ``lxc-ps`` with 20 running containers, beside the C LXC's ``lxc-ls -f``;
7. PSS of the supervisor (lxcpy) / ``[lxc monitor]`` (C LXC) of each running container.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

WARMUP = 3
RUNS = 20
PARALLEL = 20
PARALLEL_ROUNDS = 5
FREEZE_PROCS = 100
BRIDGE = "lxcpybr0"
BRIDGE_ADDR = "10.213.0.1/24"
CT_ADDR = "10.213.0.2/24"
C_BIN = "/usr/bin"

APP_CONF = """\
lxc.uts.name = {name}
lxc.console.path = none
lxc.tty.max = 0
lxc.pty.max = 0
lxc.net.0.type = empty
"""
NET_CONF = """\
lxc.uts.name = {name}
lxc.console.path = none
lxc.tty.max = 0
lxc.pty.max = 0
lxc.net.0.type = veth
lxc.net.0.link = {bridge}
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.ipv4.address = {addr}
"""


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def netns_inode(pid: int | str = "self") -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def host_netns() -> int:
    """The network namespace bench/run.sh was started in (we must never work there)."""
    value = os.environ.get("LXCPYBENCH_HOST_NETNS", "")
    if not value.isdigit():
        raise SystemExit("harness.py: LXCPYBENCH_HOST_NETNS is not set (run bench/run.sh)")
    return int(value)


class Impl:
    def __init__(self, key: str, bindir: str, lxcpath: Path, tag: str, env: dict[str, str]):
        self.key, self.bindir, self.lxcpath, self.tag, self.env = key, bindir, lxcpath, tag, env

    def name(self, short: str) -> str:
        return f"lb{self.tag}-{short}"

    def argv(self, tool: str, *args: str) -> list[str]:
        return [f"{self.bindir}/{tool}", "-P", str(self.lxcpath), *args]

    def cmdline(self, tool: str, *args: str) -> str:
        return shlex.join(self.argv(tool, *args))

    def run(self, tool: str, *args: str, timeout: float = 60, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(self.argv(tool, *args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout, env=self.env)
        if check and p.returncode != 0:
            raise RuntimeError(f"{self.key}: {tool} {' '.join(args)} -> rc {p.returncode}: "
                               f"{(p.stderr or p.stdout).strip()[-500:]}")
        return p

    def state(self, name: str) -> str:
        p = self.run("lxc-info", "-n", name, "-s", check=False, timeout=20)
        out = p.stdout.strip().split()
        return out[-1] if p.returncode == 0 and out else f"?rc={p.returncode}"

    def init_pid(self, name: str) -> int:
        p = self.run("lxc-info", "-n", name, "-p", "-H", check=False, timeout=20)
        try:
            return int(p.stdout.strip().split()[-1])
        except (ValueError, IndexError):
            return -1


# ---- measuring helpers ------------------------------------------------------------------

def hyperfine(label: str, command: str, raw: Path, env: dict[str, str] | None = None,
              runs: int = RUNS, warmup: int = WARMUP) -> dict:
    """One hyperfine -N run; returns {'median','mean','min','max','stddev'} in ms or error."""
    out = raw / (label.replace("/", "_").replace(" ", "_") + ".json")
    argv = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs), "--style",
            "basic", "--export-json", str(out), "--command-name", label, command]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       env=env or os.environ.copy(), timeout=600)
    if p.returncode != 0:
        err = (p.stderr.strip() or p.stdout.strip())[-400:]
        log(f"hyperfine failed for {label}: {err}")
        return {"command": command, "error": err}
    r = json.loads(out.read_text())["results"][0]
    res = {"command": command, "median": r["median"] * 1e3, "mean": r["mean"] * 1e3,
           "min": r["min"] * 1e3, "max": r["max"] * 1e3, "stddev": (r["stddev"] or 0) * 1e3,
           "runs": len(r["times"]),
           # CPU (user + sys, hyperfine's mean): far less stretched than wall time when
           # other work shares the VM
           "cpu_ms": ((r.get("user") or 0) + (r.get("system") or 0)) * 1e3}
    log(f"{label}: median {res['median']:.2f} ms, CPU {res['cpu_ms']:.2f} ms")
    return res


def summarize(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "mean": statistics.fmean(samples),
            "min": min(samples), "max": max(samples), "runs": len(samples),
            "samples": [round(s, 3) for s in samples]}


def smaps_rollup(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def proc_ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def proc_cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace").strip()


# ---- the bench ---------------------------------------------------------------------------

class Bench:
    def __init__(self, work: Path, lxcpy_bin: str, raw: Path, python: str):
        self.work, self.raw, self.python = work, raw, python
        self.results: dict = {"cases": {}, "errors": [], "notes": []}
        env = {k: v for k, v in os.environ.items()}
        self.c = Impl("lxc", C_BIN, work / "lp-lxc", "C", env)
        self.p = Impl("lxcpy", lxcpy_bin, work / "lp-lxcpy", "P", env)
        self.impls = [self.c, self.p]
        self.ok = {"lxc": False, "lxcpy": False}
        self.created: dict[str, list[str]] = {"lxc": [], "lxcpy": []}

    # -- set-up --
    def setup(self) -> None:
        for impl in self.impls:
            impl.lxcpath.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", BRIDGE_ADDR, "dev", BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
        self.ready_dir = self.work / "ready"
        self.ready_dir.mkdir(exist_ok=True)

    def conf(self, name: str, net: bool) -> Path:
        path = self.work / f"{name}.conf"
        text = (NET_CONF if net else APP_CONF).format(name=name, bridge=BRIDGE, addr=CT_ADDR)
        path.write_text(text)
        return path

    def create(self, impl: Impl, short: str, net: bool = False) -> str:
        name = impl.name(short)
        conf = self.conf(name, net)
        impl.run("lxc-create", "-n", name, "-t", "none", "-f", str(conf))
        self.created[impl.key].append(name)
        return name

    def sanity(self, impl: Impl) -> None:
        try:
            name = self.create(impl, "c")
            self.create(impl, "net", net=True)
            p = impl.run("lxc-execute", "-n", name, "--", "/bin/true", check=False, timeout=60)
            if p.returncode != 0:
                raise RuntimeError(f"lxc-execute /bin/true -> rc {p.returncode}: "
                                   f"{p.stderr.strip()[-400:]}")
            self.ok[impl.key] = True
        except Exception as exc:  # noqa: BLE001
            msg = f"{impl.key} does not work here yet: {exc}"
            log(msg)
            self.results["errors"].append(msg)

    def start_d(self, impl: Impl, name: str, argv: list[str]) -> subprocess.CompletedProcess:
        return impl.run("lxc-execute", "-d", "-n", name, "--", *argv, check=False,
                        timeout=120)

    def stop_k(self, impl: Impl, name: str) -> subprocess.CompletedProcess:
        return impl.run("lxc-stop", "-k", "-n", name, check=False, timeout=120)

    # -- case 1 and 2 --
    def case_execute(self) -> None:
        py = self.python
        floors = {
            "python -c pass": f"{py} -c pass",
            # what lxcpy's launchers run as: the floor of every lxcpy command
            "python -IS -c pass": f"{py} -IS -c pass",
            "python -c 'import click'": f"{py} -c 'import click'",
            "unshare -fpmui --mount-proc /bin/true": "unshare -fpmui --mount-proc /bin/true",
        }
        case = {"floors": {k: hyperfine(k, v, self.raw) for k, v in floors.items()}}
        for impl in self.impls:
            if self.ok[impl.key]:
                case[impl.key] = hyperfine(
                    f"{impl.key} lxc-execute", impl.cmdline("lxc-execute", "-n", impl.name("c"),
                                                            "--", "/bin/true"), self.raw)
        self.results["cases"]["execute"] = case

        floors_net = {
            "python -c 'import pyroute2'": f"{py} -c 'import pyroute2'",
            "python -c 'import click, pyroute2'": f"{py} -c 'import click, pyroute2'",
        }
        case = {"floors": {k: hyperfine(k, v, self.raw) for k, v in floors_net.items()}}
        case["floors"]["unshare -fpmuin --mount-proc /bin/true"] = hyperfine(
            "unshare -fpmuin --mount-proc /bin/true", "unshare -fpmuin --mount-proc /bin/true",
            self.raw)
        for impl in self.impls:
            if self.ok[impl.key]:
                p = impl.run("lxc-execute", "-n", impl.name("net"), "--", "/bin/true",
                             check=False, timeout=60)
                if p.returncode != 0:
                    msg = (f"{impl.key}: lxc-execute with veth -> rc {p.returncode}: "
                           f"{p.stderr.strip()[-300:]}")
                    log(msg)
                    self.results["errors"].append(msg)
                    continue
                case[impl.key] = hyperfine(
                    f"{impl.key} lxc-execute veth",
                    impl.cmdline("lxc-execute", "-n", impl.name("net"), "--", "/bin/true"),
                    self.raw)
        self.results["cases"]["execute_veth"] = case

    # -- case 3 --
    def case_info(self) -> None:
        case: dict = {}
        for impl in self.impls:
            if not self.ok[impl.key]:
                continue
            run = self.create(impl, "run")
            p = self.start_d(impl, run, ["sleep", "1000"])
            if p.returncode != 0 or impl.state(run) != "RUNNING":
                msg = f"{impl.key}: lxc-execute -d failed: rc {p.returncode} {p.stderr[-300:]}"
                log(msg)
                self.results["errors"].append(msg)
                continue
            res = {
                "info_running": hyperfine(f"{impl.key} lxc-info -s running",
                                          impl.cmdline("lxc-info", "-n", run, "-s"), self.raw),
                "info_stopped": hyperfine(f"{impl.key} lxc-info -s stopped",
                                          impl.cmdline("lxc-info", "-n", impl.name("c"), "-s"),
                                          self.raw),
            }
            if impl.key == "lxcpy":
                res["state_running"] = hyperfine(f"{impl.key} lxc-state running",
                                                 impl.cmdline("lxc-state", "-n", run), self.raw)
                res["state_stopped"] = hyperfine(
                    f"{impl.key} lxc-state stopped",
                    impl.cmdline("lxc-state", "-n", impl.name("c")), self.raw)
            case[impl.key] = res
            self.stop_k(impl, run)
        self.results["cases"]["info"] = case

    # -- case 4 --
    def case_freeze(self) -> None:
        case: dict = {}
        for impl in self.impls:
            if not self.ok[impl.key]:
                continue
            name = self.create(impl, "frz")
            marker = self.ready_dir / name
            script = (f"i=0; while [ $i -lt {FREEZE_PROCS} ]; do sleep 1000 & i=$((i+1)); done;"
                      f" touch {marker}; wait")
            p = self.start_d(impl, name, ["/bin/sh", "-c", script])
            deadline = time.monotonic() + 30
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            if p.returncode != 0 or not marker.exists():
                msg = f"{impl.key}: freeze container did not start: {p.stderr[-300:]}"
                log(msg)
                self.results["errors"].append(msg)
                self.stop_k(impl, name)
                continue
            try:
                impl.run("lxc-freeze", "-n", name)
                frozen = impl.state(name)
                impl.run("lxc-unfreeze", "-n", name)
                thawed = impl.state(name)
                if frozen != "FROZEN" or thawed != "RUNNING":
                    raise RuntimeError(f"states after freeze/unfreeze: {frozen}/{thawed}")
                fr, un, rt = [], [], []
                for i in range(WARMUP + RUNS):
                    t0 = time.perf_counter()
                    impl.run("lxc-freeze", "-n", name)
                    t1 = time.perf_counter()
                    impl.run("lxc-unfreeze", "-n", name)
                    t2 = time.perf_counter()
                    if i >= WARMUP:
                        fr.append((t1 - t0) * 1e3)
                        un.append((t2 - t1) * 1e3)
                        rt.append((t2 - t0) * 1e3)
                pid = impl.init_pid(name)
                nprocs = self.count_descendants(pid) + 1 if pid > 0 else None
                case[impl.key] = {"freeze": summarize(fr), "unfreeze": summarize(un),
                                  "round_trip": summarize(rt), "container_processes": nprocs}
                if impl.key == "lxcpy":
                    case[impl.key]["inside"] = self.inside_case(impl, name)
                median = case[impl.key]["round_trip"]["median"]
                log(f"{impl.key} freeze+unfreeze: median {median:.2f} ms ({nprocs} processes)")
            except Exception as exc:  # noqa: BLE001
                msg = f"{impl.key}: freeze case failed: {exc}"
                log(msg)
                self.results["errors"].append(msg)
            finally:
                self.stop_k(impl, name)
        self.results["cases"]["freeze"] = case

    def inside_case(self, impl: Impl, name: str) -> dict:
        """lxcpy only ("beyond C LXC"): freeze and thaw as the supervisor does them, from
        its own state events (CLOCK_MONOTONIC send times: FREEZING -> FROZEN, THAWED ->
        RUNNING), and lxc-monitor's latency: from the supervisor's send to lxc-monitor's
        line arriving on our pipe. Rounds of its own, after case 4's timed ones."""
        import threading

        from lxcpy.runtime.monitor import Listener

        lines: list[int] = []  # arrival times (monotonic ns) of lxc-monitor's lines
        mon = subprocess.Popen(impl.argv("lxc-monitor", "-n", f"^{name}$"),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=impl.env)

        def read() -> None:
            assert mon.stdout is not None
            for line in iter(mon.stdout.readline, b""):
                if b"changed state to" in line:
                    lines.append(time.monotonic_ns())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        received: list = []  # our own listener's events: read as they come (a unix datagram
        stop = threading.Event()  # socket queues only net.unix.max_dgram_qlen of them)

        def listen(listener: Listener) -> None:
            while not stop.is_set():
                received.extend(ev for ev in listener.events(timeout=0.05)
                                if ev.name == name and ev.kind == "state")

        try:
            with Listener([str(impl.lxcpath)]) as listener:
                listening = threading.Thread(target=listen, args=(listener,), daemon=True)
                listening.start()
                # lxc-monitor is listening once it reports a warm-up round
                deadline = time.monotonic() + 10
                while len(lines) < 4 and time.monotonic() < deadline:
                    impl.run("lxc-freeze", "-n", name)
                    impl.run("lxc-unfreeze", "-n", name)
                    time.sleep(0.05)
                time.sleep(0.2)  # the warm-up's last lines and events are in by now
                base, first = len(lines), len(received)
                for _ in range(RUNS):
                    impl.run("lxc-freeze", "-n", name)
                    impl.run("lxc-unfreeze", "-n", name)
                deadline = time.monotonic() + 5
                while ((len(lines) < base + 4 * RUNS or len(received) < first + 4 * RUNS)
                       and time.monotonic() < deadline):
                    time.sleep(0.01)
                stop.set()
                listening.join(timeout=5)
        finally:
            stop.set()
            mon.terminate()
            mon.wait(timeout=10)
        events = received[first:]
        sent = {ev.value: [] for ev in events}
        for ev in events:
            sent[ev.value].append(ev.sent_ns)
        def spans(first: str, second: str) -> list[float]:
            return [(b - a) / 1e6 for a, b in zip(sent.get(first, []), sent.get(second, []),
                                                 strict=False)]

        freeze, thaw = spans("FREEZING", "FROZEN"), spans("THAWED", "RUNNING")
        arrived = lines[base:base + len(events)]
        latency = [(t - ev.sent_ns) / 1e6 for ev, t in zip(events, arrived, strict=False)]
        res = {"freeze_inside": summarize(freeze) if freeze else None,
               "thaw_inside": summarize(thaw) if thaw else None,
               "monitor_latency": summarize(latency) if latency else None,
               "events": len(events), "monitor_lines": len(arrived)}
        shown = {k: f"{v['median']:.3f} ms" if v else "n/a" for k, v in res.items()
                 if k.endswith(("inside", "latency"))}
        log(f"lxcpy inside the supervisor: {shown}")
        return res

    @staticmethod
    def count_descendants(pid: int) -> int:
        children: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    children.setdefault(proc_ppid(int(d)), []).append(int(d))
                except (OSError, ValueError):
                    pass
        n, todo = 0, [pid]
        while todo:
            for c in children.get(todo.pop(), []):
                n += 1
                todo.append(c)
        return n

    # -- case 5, 6, 7 --
    def case_parallel(self) -> None:
        case: dict = {}
        for impl in self.impls:
            if not self.ok[impl.key]:
                continue
            names = [self.create(impl, f"p{i:02d}") for i in range(PARALLEL)]
            starts, stops = [], []
            res: dict = {}
            try:
                for rnd in range(PARALLEL_ROUNDS):
                    with ThreadPoolExecutor(PARALLEL) as pool:
                        t0 = time.perf_counter()
                        done = list(pool.map(
                            lambda n, impl=impl: self.start_d(impl, n, ["sleep", "1000"]),
                            names))
                        t1 = time.perf_counter()
                    bad = [f"{n}: rc {p.returncode} {p.stderr.strip()[-200:]}"
                           for n, p in zip(names, done, strict=True) if p.returncode != 0]
                    states = [impl.state(n) for n in names]
                    if bad or any(s != "RUNNING" for s in states):
                        raise RuntimeError(f"parallel start failed: {bad[:3]} states {states}")
                    starts.append((t1 - t0) * 1e3)
                    if rnd == PARALLEL_ROUNDS - 1:
                        res["ps"] = self.ps_case(impl)
                        res["memory"] = self.memory_case(impl, names)
                    with ThreadPoolExecutor(PARALLEL) as pool:
                        t0 = time.perf_counter()
                        done = list(pool.map(lambda n, impl=impl: self.stop_k(impl, n),
                                             names))
                        t1 = time.perf_counter()
                    stops.append((t1 - t0) * 1e3)
                    states = [impl.state(n) for n in names]
                    if any(s != "STOPPED" for s in states):
                        raise RuntimeError(f"parallel stop left states {states}")
                res["start"] = summarize(starts)
                res["stop"] = summarize(stops)
                log(f"{impl.key} 20 parallel starts: median {res['start']['median']:.1f} ms,"
                    f" stops {res['stop']['median']:.1f} ms")
            except Exception as exc:  # noqa: BLE001
                msg = f"{impl.key}: parallel case failed: {exc}"
                log(msg)
                self.results["errors"].append(msg)
                for n in names:
                    self.stop_k(impl, n)
                if starts:
                    res["start"] = summarize(starts)
                if stops:
                    res["stop"] = summarize(stops)
            case[impl.key] = res
        self.results["cases"]["parallel"] = case

    def ps_case(self, impl: Impl) -> dict:
        if impl.key == "lxc":
            # LXC 5 has no lxc-ps; its one-command overview of all containers is lxc-ls -f
            return {"lxc-ls -f": hyperfine("lxc lxc-ls -f (20 running)",
                                           impl.cmdline("lxc-ls", "-f"), self.raw)}
        return {"lxc-ps": hyperfine("lxcpy lxc-ps (20 running)", impl.cmdline("lxc-ps"),
                                    self.raw),
                # one container's rows (the same 20 running): lxc-ps's per-container cost
                "lxc-ps -n one": hyperfine("lxcpy lxc-ps -n p00 (20 running)",
                                           impl.cmdline("lxc-ps", "-n", impl.name("p00")),
                                           self.raw),
                "lxc-ls -f": hyperfine("lxcpy lxc-ls -f (20 running)",
                                       impl.cmdline("lxc-ls", "-f"), self.raw)}

    def memory_case(self, impl: Impl, names: list[str]) -> dict:
        pss, rss, uss, cmds, init_pss = [], [], [], set(), []
        for n in names:
            init = impl.init_pid(n)
            if init <= 0:
                continue
            init_pss.append(smaps_rollup(init).get("Pss", 0))  # the container's PID 1
            sup = proc_ppid(init)
            r = smaps_rollup(sup)
            pss.append(r.get("Pss", 0))
            rss.append(r.get("Rss", 0))
            uss.append(r.get("Private_Clean", 0) + r.get("Private_Dirty", 0))
            cmds.add(proc_cmdline(sup).replace(str(impl.lxcpath), "LXCPATH").replace(n, "NAME"))
        res = {"pss_kib": summarize(pss) if pss else None,
               "rss_kib": summarize(rss) if rss else None,
               "uss_kib": summarize(uss) if uss else None,
               "init_pss_kib": summarize(init_pss) if init_pss else None,
               "pss_total_kib": sum(pss), "supervisors": len(pss),
               "supervisor_cmdline": sorted(cmds)}
        if pss:
            log(f"{impl.key} supervisor PSS median {res['pss_kib']['median']} KiB "
                f"({sorted(cmds)})")
        return res

    # -- profile --
    def _importtime(self, argv: list[str]) -> tuple[int, list[tuple[int, int, str]]]:
        p = subprocess.run([self.python, "-X", "importtime", *argv], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        rows = []
        for line in p.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            try:
                _, rest = line.split(":", 1)
                self_us, cum_us, mod = rest.split("|", 2)
                rows.append((int(self_us), int(cum_us), mod.rstrip()))
            except ValueError:
                continue
        return p.returncode, rows

    def profile(self) -> None:
        prof: dict = {}
        bindir, lxcpath = self.p.bindir, str(self.p.lxcpath)
        cases = (
            ("execute", [f"{bindir}/lxc-execute", "-P", lxcpath, "-n", self.p.name("c"), "--",
                         "/bin/true"], "import click"),
            ("execute_veth", [f"{bindir}/lxc-execute", "-P", lxcpath, "-n", self.p.name("net"),
                              "--", "/bin/true"], "import click, pyroute2"),
            ("state", [f"{bindir}/lxc-state", "-P", lxcpath, "-n", self.p.name("c")],
             "import click"),
        )
        for label, argv, floor_code in cases:
            rc, rows = self._importtime(argv)
            _, floor_rows = self._importtime(["-c", floor_code])
            # what the command imports beyond its floor: lxcpy's own share of the start-up
            in_floor = {r[2].strip() for r in floor_rows}
            extra = [r for r in rows if r[2].strip() not in in_floor]
            total_self = sum(r[0] for r in rows)
            top_level = [r for r in rows if not r[2].startswith("  ")]
            prof[label] = {
                "rc": rc,
                "modules": len(rows),
                "total_self_ms": total_self / 1e3,
                "floor": floor_code,
                "floor_modules": len(floor_rows),
                "floor_self_ms": sum(r[0] for r in floor_rows) / 1e3,
                "extra_modules": len(extra),
                "extra_self_ms": sum(r[0] for r in extra) / 1e3,
                "lxcpy_self_ms": sum(r[0] for r in rows
                                     if r[2].strip().split(".")[0] == "lxcpy") / 1e3,
                "top_extra": [[r[2].strip(), r[0] / 1e3, r[1] / 1e3]
                              for r in sorted(extra, key=lambda r: -r[0])[:15]],
                "top_self": [[r[2].strip(), r[0] / 1e3, r[1] / 1e3]
                             for r in sorted(rows, key=lambda r: -r[0])[:15]],
                "top_cumulative": [[r[2].strip(), r[0] / 1e3, r[1] / 1e3]
                                   for r in sorted(top_level, key=lambda r: -r[1])[:15]],
            }
        self.results["profile"] = prof

    # -- clean-up --
    def cleanup(self) -> None:
        for impl in self.impls:
            for name in self.created[impl.key]:
                try:
                    if impl.state(name) not in ("STOPPED",):
                        self.stop_k(impl, name)
                except Exception:  # noqa: BLE001
                    pass
        kill_stragglers()
        for impl in self.impls:
            for name in self.created[impl.key]:
                try:
                    impl.run("lxc-destroy", "-n", name, check=False, timeout=30)
                except Exception:  # noqa: BLE001
                    pass


def kill_stragglers(ours: int | None = None) -> None:
    """SIGKILL whatever we started that still lives: processes in this (private) network
    namespace (or in the one with inode ``ours``) other than this process and its
    ancestors, and their descendants."""
    me = os.getpid()
    ours = ours or netns_inode()
    if ours == host_netns():
        return  # never in the host's network namespace
    ancestors = set()
    pid = me
    while pid > 1:
        ancestors.add(pid)
        try:
            pid = proc_ppid(pid)
        except OSError:
            break
    children: dict[int, list[int]] = {}
    seeds = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            children.setdefault(proc_ppid(pid), []).append(pid)
            if pid not in ancestors and netns_inode(pid) == ours:
                seeds.append(pid)
        except (OSError, ValueError):
            continue
    victims, todo = set(), list(seeds)
    while todo:
        pid = todo.pop()
        if pid in victims or pid in ancestors:
            continue
        victims.add(pid)
        todo.extend(children.get(pid, []))
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if victims:
        log(f"killed {len(victims)} leftover processes of this run")
        time.sleep(0.5)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work")
    ap.add_argument("--lxcpy-bin")
    ap.add_argument("--python")
    ap.add_argument("--raw")
    ap.add_argument("--out")
    ap.add_argument("--only", default="", help="comma list: execute,info,freeze,parallel,profile")
    ap.add_argument("--kill-netns", type=int, default=0,
                    help="only kill what is left in the network namespace with this inode")
    args = ap.parse_args()
    if args.kill_netns:
        kill_stragglers(args.kill_netns)
        return 0
    if netns_inode() == host_netns():
        print("harness.py: refusing to run in the host's network namespace", file=sys.stderr)
        return 1
    (Path(args.work) / "netns-inode").write_text(str(netns_inode()))

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(f"harness.py: signal {signum}, cleaning up")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    raw = Path(args.raw)
    raw.mkdir(parents=True, exist_ok=True)
    b = Bench(Path(args.work), args.lxcpy_bin, raw, args.python)
    only = set(filter(None, args.only.split(",")))
    t0 = time.monotonic()
    b.results["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    try:
        b.setup()
        for impl in b.impls:
            b.sanity(impl)
        steps = [("execute", b.case_execute), ("info", b.case_info),
                 ("freeze", b.case_freeze), ("parallel", b.case_parallel)]
        if b.ok["lxcpy"]:
            steps.append(("profile", b.profile))
        for key, fn in steps:
            if only and key not in only:
                continue
            try:
                fn()
            except Exception as exc:  # noqa: BLE001
                msg = f"case {key} failed: {exc.__class__.__name__}: {exc}"
                log(msg)
                traceback.print_exc()
                b.results["errors"].append(msg)
    finally:
        b.cleanup()
        b.results["ok"] = b.ok
        b.results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        b.results["seconds"] = round(time.monotonic() - t0, 1)
        Path(args.out).write_text(json.dumps(b.results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
