"""Turn bench/results/*.json into bench/RESULTS.md (called by bench/run.sh).

    report.py --annotate latest.json --install-mode TEXT --seconds N
    report.py --latest latest.json --before before.json --output RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CLICK = "python -c 'import click'"


def sh(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def annotate(path: Path, install_mode: str, seconds: int) -> None:
    data = json.loads(path.read_text()) if path.exists() else {"cases": {}, "errors": []}
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    venv_py = ROOT / "bench/.venv-bench/bin/python"
    versions = sh(str(venv_py), "-c",
                  "import os, sys, click, importlib.metadata as m; print(sys.version.split()[0], "
                  "m.version('click'), m.version('pyroute2'), m.version('python-prctl'), "
                  "os.path.realpath(sys._base_executable))").split()
    debian = Path("/etc/debian_version").read_text().strip() if Path(
        "/etc/debian_version").exists() else "?"
    ref = os.environ.get("BENCH_REF", "")  # run.sh --ref: a commit, uncommitted edits left out
    commit = sh("git", "-C", str(ROOT), "rev-parse", "--short", ref or "HEAD")
    dirty = "" if ref else sh("git", "-C", str(ROOT), "status", "--porcelain", "--", "lxcpy")
    data["meta"] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu, "vcpus": os.cpu_count(), "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(), "debian": debian,
        "python": versions[0] if versions else "?",
        "click": versions[1] if len(versions) > 1 else "?",
        "interpreter": versions[4] if len(versions) > 4 else "?",
        "pyroute2": versions[2] if len(versions) > 2 else "?",
        "python_prctl": versions[3] if len(versions) > 3 else "?",
        "lxc": sh("/usr/bin/lxc-execute", "--version"),
        "hyperfine": sh("hyperfine", "--version"),
        "git": f"{commit}{' + uncommitted changes in lxcpy/' if dirty else ''}",
        "install_mode": install_mode,
        "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
        "run_seconds": seconds,
    }
    path.write_text(json.dumps(data, indent=1) + "\n")


# ---- reading results ----------------------------------------------------------------------

def get(d: dict | None, *keys: str) -> float | None:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d if isinstance(d, (int, float)) else None


def measurements(data: dict) -> list[tuple[str, str, float | None, float | None, str]]:
    """(id, label, LXC median, lxcpy median, unit) rows."""
    c = data.get("cases", {})
    ex, net, info = c.get("execute", {}), c.get("execute_veth", {}), c.get("info", {})
    fr, par = c.get("freeze", {}), c.get("parallel", {})
    rows = [
        ("1", "`lxc-execute -n c -- /bin/true`, no network",
         get(ex, "lxc", "median"), get(ex, "lxcpy", "median"), "ms"),
        ("2", "`lxc-execute` with one veth on a bridge",
         get(net, "lxc", "median"), get(net, "lxcpy", "median"), "ms"),
        ("3a", "`lxc-info -s`, running",
         get(info, "lxc", "info_running", "median"),
         get(info, "lxcpy", "info_running", "median"), "ms"),
        ("3b", "`lxc-info -s`, stopped",
         get(info, "lxc", "info_stopped", "median"),
         get(info, "lxcpy", "info_stopped", "median"), "ms"),
        ("3c", "lxcpy `lxc-state`, running (vs LXC `lxc-info -s`)",
         get(info, "lxc", "info_running", "median"),
         get(info, "lxcpy", "state_running", "median"), "ms"),
        ("3d", "lxcpy `lxc-state`, stopped (vs LXC `lxc-info -s`)",
         get(info, "lxc", "info_stopped", "median"),
         get(info, "lxcpy", "state_stopped", "median"), "ms"),
        ("4", "freeze + unfreeze round trip, 100 processes",
         get(fr, "lxc", "round_trip", "median"), get(fr, "lxcpy", "round_trip", "median"), "ms"),
        ("4a", "  of which `lxc-freeze`",
         get(fr, "lxc", "freeze", "median"), get(fr, "lxcpy", "freeze", "median"), "ms"),
        ("4b", "  of which `lxc-unfreeze`",
         get(fr, "lxc", "unfreeze", "median"), get(fr, "lxcpy", "unfreeze", "median"), "ms"),
        ("4c", "freeze inside the supervisor, 100 processes (its FREEZING -> FROZEN events)",
         None, get(fr, "lxcpy", "inside", "freeze_inside", "median"), "ms"),
        ("4d", "thaw inside the supervisor, 100 processes (THAWED -> RUNNING)",
         None, get(fr, "lxcpy", "inside", "thaw_inside", "median"), "ms"),
        ("4e", "`lxc-monitor` latency: the supervisor's send to its line on a pipe",
         None, get(fr, "lxcpy", "inside", "monitor_latency", "median"), "ms"),
        ("5a", "20 parallel `lxc-execute -d` until all RUNNING (wall)",
         get(par, "lxc", "start", "median"), get(par, "lxcpy", "start", "median"), "ms"),
        ("5b", "20 parallel `lxc-stop -k` (wall)",
         get(par, "lxc", "stop", "median"), get(par, "lxcpy", "stop", "median"), "ms"),
        ("6", "lxcpy `lxc-ps` vs LXC `lxc-ls -f`, 20 running",
         get(par, "lxc", "ps", "lxc-ls -f", "median"), get(par, "lxcpy", "ps", "lxc-ps", "median"),
         "ms"),
        ("6c", "lxcpy `lxc-ps -n ONE` vs LXC `lxc-ls -f`, 20 running (a container's share)",
         get(par, "lxc", "ps", "lxc-ls -f", "median"),
         get(par, "lxcpy", "ps", "lxc-ps -n one", "median"), "ms"),
        ("6b", "`lxc-ls -f`, 20 running (both)",
         get(par, "lxc", "ps", "lxc-ls -f", "median"),
         get(par, "lxcpy", "ps", "lxc-ls -f", "median"), "ms"),
        ("7", "supervisor PSS per running container (LXC: `[lxc monitor]`)",
         get(par, "lxc", "memory", "pss_kib", "median"),
         get(par, "lxcpy", "memory", "pss_kib", "median"), "KiB"),
        ("7c", "the container's init PSS (LXC: `lxc-init`), 20 running",
         get(par, "lxc", "memory", "init_pss_kib", "median"),
         get(par, "lxcpy", "memory", "init_pss_kib", "median"), "KiB"),
        ("7b", "supervisor RSS per running container",
         get(par, "lxc", "memory", "rss_kib", "median"),
         get(par, "lxcpy", "memory", "rss_kib", "median"), "KiB"),
    ]
    return rows


def cpu_measurements(data: dict) -> list[tuple[str, str, float | None, float | None]]:
    """(id, label, LXC CPU ms, lxcpy CPU ms) for the hyperfine cases that recorded it."""
    out = []
    for rid, label, _a, _b, _unit in measurements(data):
        key = {"1": ("execute",), "2": ("execute_veth",), "3a": ("info", "info_running"),
               "3b": ("info", "info_stopped"), "3c": ("info", "info_running", "state_running"),
               "3d": ("info", "info_stopped", "state_stopped")}.get(rid)
        if key is None:
            continue
        c = data.get("cases", {}).get(key[0], {})
        lxc_keys = key[1:2]
        py_keys = key[2:3] or key[1:2]
        a = get(c, "lxc", *lxc_keys, "cpu_ms")
        b = get(c, "lxcpy", *py_keys, "cpu_ms")
        if a is not None or b is not None:
            out.append((rid, label, a, b))
    return out


def fmt(v: float | None, unit: str = "ms") -> str:
    if v is None:
        return "n/a"
    if unit == "KiB":
        return f"{v:,.0f} KiB"
    return f"{v:.1f} ms" if v >= 100 else f"{v:.2f} ms"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == 0:
        return "n/a"
    return f"{b / a:.2f}x"


def floor(data: dict, case: str, label: str) -> float | None:
    return get(data.get("cases", {}).get(case, {}), "floors", label, "median")


# issue 18's goals: same-run ratios lxcpy/LXC (the VM's speed drifts; only ratios count)
RATIO_GOALS = (
    ("`lxc-execute -- /bin/true` (no network)", ("execute",), ("execute",), 3.5),
    ("`lxc-state`, running, vs LXC's `lxc-info -s`", ("info", "info_running"),
     ("info", "state_running"), 7.0),
    ("`lxc-state`, stopped, vs LXC's `lxc-info -s`", ("info", "info_stopped"),
     ("info", "state_stopped"), 7.0),
    ("`lxc-info -s`, running", ("info", "info_running"), ("info", "info_running"), 7.0),
    ("`lxc-info -s`, stopped", ("info", "info_stopped"), ("info", "info_stopped"), 7.0),
    ("freeze + unfreeze", ("freeze", "round_trip"), ("freeze", "round_trip"), 7.0),
    ("20 parallel starts", ("parallel", "start"), ("parallel", "start"), 4.0),
    ("20 parallel stops", ("parallel", "stop"), ("parallel", "stop"), 3.0),
    ("`lxc-execute` with one veth", ("execute_veth",), ("execute_veth",), 1.3),
)


def goals(data: dict) -> list[tuple[str, str, float | None, str]]:
    """(goal, measured text, ratio, verdict)."""
    c = data.get("cases", {})
    rows = []
    for label, lxc_key, py_key, limit in RATIO_GOALS:
        a = get(c.get(lxc_key[0], {}), "lxc", *lxc_key[1:], "median")
        b = get(c.get(py_key[0], {}), "lxcpy", *py_key[1:], "median")
        r = b / a if a and b is not None else None
        verdict = "n/a" if r is None else ("met" if r <= limit else "missed")
        rows.append((f"{label} at most {limit:g}x LXC", f"{ratio(a, b)} ({fmt(b)} vs {fmt(a)})",
                     r, verdict))
    par = c.get("parallel", {}).get("lxcpy", {})
    for label, key in (("supervisor", "pss_kib"), ("container's init", "init_pss_kib")):
        v = get(par, "memory", key, "median")
        verdict = "n/a" if v is None else ("met" if v <= 2.5 * 1024 else "missed")
        rows.append((f"{label} PSS at most 2.5 MiB (20 running)", fmt(v, "KiB"), v, verdict))
    inside = c.get("freeze", {}).get("lxcpy", {}).get("inside")
    for label, key, limit in (
            ("freeze inside the supervisor (100 processes)", "freeze_inside", 1.0),
            ("thaw inside the supervisor (100 processes)", "thaw_inside", 1.0),
            ("`lxc-monitor` latency, median", "monitor_latency", 2.0)):
        v = get(inside, key, "median")
        verdict = "n/a" if v is None else ("met" if v <= limit else "missed")
        rows.append((f"{label} at most {limit:g} ms (beyond C LXC)", fmt(v), v, verdict))
    one = get(par, "ps", "lxc-ps -n one", "median")
    all_ = get(par, "ps", "lxc-ps", "median")
    verdict = "n/a" if one is None or all_ is None else ("met" if all_ <= 2 * one else "missed")
    rows.append(("`lxc-ps` with 20 running at most 2x its cost for one (`-n ONE`)",
                 f"{ratio(one, all_)} ({fmt(all_)} vs {fmt(one)})", None, verdict))
    return rows


def obstacles(data: dict) -> list[str]:
    """What stands in the way: written by hand in bench/NOTES.md from the measurements."""
    return []


# ---- writing the report ---------------------------------------------------------------------

def render(latest: dict, before: dict | None) -> str:
    m = latest.get("meta", {})
    L: list[str] = []
    w = L.append
    w("# lxcpy vs LXC 5.0.2 — benchmark results")
    w("")
    w("Generated by `bash bench/run.sh` (do not edit by hand; `bash bench/run.sh --report-only`"
      " re-renders it from `bench/results/*.json`).")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| date | {m.get('date', '?')} |")
    w(f"| machine | {m.get('cpu', '?')}, {m.get('vcpus', '?')} vCPU, {m.get('mem_gib', '?')} GiB |")
    w(f"| kernel / OS | Linux {m.get('kernel', '?')}, Debian {m.get('debian', '?')} |")
    w(f"| C LXC | Debian's lxc {m.get('lxc', '?')} (`/usr/bin/lxc-*`) |")
    w(f"| lxcpy | git {m.get('git', '?')}; Python {m.get('python', '?')} "
      f"(`{m.get('interpreter', '?')}`), click "
      f"{m.get('click', '?')}, pyroute2 {m.get('pyroute2', '?')}, python-prctl "
      f"{m.get('python_prctl', '?')} |")
    w(f"| install mode | {m.get('install_mode', '?')}. The environment sets "
      f"`PYTHONDONTWRITEBYTECODE={m.get('pythondontwritebytecode', '')}`, which stops Python "
      "from *writing* bytecode caches but not from reading them; the editable install in "
      "`.venv` never gets caches and is not what is measured |")
    w(f"| tools | hyperfine {m.get('hyperfine', '?').replace('hyperfine ', '')} (`-N`, warmup 3,"
      " runs 20) for cases 1-3 and 6; a Python harness (`bench/harness.py`, 3 warm-up + 20 "
      "rounds; 5 rounds for case 5) for 4, 5 and 7 |")
    w(f"| where | a private network namespace (`unshare --net --mount`, fresh sysfs on /sys, host "
      "cgroup tree bound back), throwaway lxcpaths under /tmp; run took "
      f"{m.get('run_seconds', '?')} s; load average (1/5/15 min) at start "
      f"{latest.get('loadavg_start', '?')}, at end {latest.get('loadavg_end', '?')} — other "
      "engineers share this VM, so a loaded run is noisier |")
    if before:
        bm = before.get("meta", {})
        w(f"| \"before\" column | run of {bm.get('date', '?')} at git {bm.get('git', '?')}, "
          "before the start-up optimisations listed below |")
    w("")
    w("Configs (the same file for both implementations): no rootfs, `lxc.console.path = none`, "
      "`lxc.tty.max = 0`, `lxc.pty.max = 0`, and `lxc.net.0.type = empty` — or, for case 2, "
      "`lxc.net.0.type = veth`, `link = lxcpybr0` (a bridge in the namespace), `flags = up`, "
      "`name = eth0`, `ipv4.address = 10.213.0.2/24`. stdin is /dev/null.")
    w("")
    errors = latest.get("errors") or []
    if errors:
        w("**Problems in this run:**")
        w("")
        for e in errors:
            w(f"- {e}")
        w("")

    w("## Medians")
    w("")
    rows_now = measurements(latest)
    rows_before = {r[0]: r for r in measurements(before)} if before else {}
    if before:
        w("| # | measurement | LXC 5.0.2 | lxcpy before | lxcpy now | lxcpy/LXC before | "
          "lxcpy/LXC now |")
        w("|---|---|---|---|---|---|---|")
    else:
        w("| # | measurement | LXC 5.0.2 | lxcpy | lxcpy/LXC |")
        w("|---|---|---|---|---|")
    for rid, label, a, b, unit in rows_now:
        if before:
            rb = rows_before.get(rid)
            bb = rb[3] if rb else None
            w(f"| {rid} | {label} | {fmt(a, unit)} | {fmt(bb, unit)} | {fmt(b, unit)} | "
              f"{ratio(rb[2] if rb else None, bb)} | {ratio(a, b)} |")
        else:
            w(f"| {rid} | {label} | {fmt(a, unit)} | {fmt(b, unit)} | {ratio(a, b)} |")
    w("")
    w("Case 6: LXC 5 has no `lxc-ps` (reference §0: \"ps → `lxc-attach -n N -- ps` or "
      "cgroup.procs\"). The one-command overview of all containers LXC 5 does have is "
      "`lxc-ls -f` (state, IPs of every container), so row 6 compares lxcpy's `lxc-ps` (which "
      "also runs `ps` on the PIDs of each container) with it, and row 6b compares like with "
      "like.")
    w("")
    w("Case 7: PSS (`/proc/PID/smaps_rollup`) of the process that supervises each container — "
      "the parent of the container's init — with 20 containers running (so shared pages are "
      "split 20+ ways). For LXC that is `[lxc monitor] LXCPATH NAME`.")
    w("")
    for impl in ("lxc", "lxcpy"):
        mem = get_dict(latest, "parallel", impl, "memory")
        if mem and mem.get("pss_kib"):
            w(f"- {impl}: {mem.get('supervisors')} supervisors, PSS median "
              f"{mem['pss_kib']['median']:,} KiB (total {mem.get('pss_total_kib', 0):,} KiB), "
              f"RSS median {mem['rss_kib']['median']:,} KiB, private (USS) median "
              f"{mem['uss_kib']['median']:,} KiB; process: "
              f"`{'`, `'.join(mem.get('supervisor_cmdline', []))}`")
    fz = latest.get("cases", {}).get("freeze", {})
    nprocs = [f"{k}: {v.get('container_processes')}" for k, v in fz.items() if isinstance(v, dict)]
    if nprocs:
        w(f"- case 4 container processes counted under init, init included ({', '.join(nprocs)}).")
    w("")

    cpu_rows = cpu_measurements(latest)
    if cpu_rows:
        w("## CPU time (same run)")
        w("")
        w("user + sys of the command's whole process tree (hyperfine's mean), for the cases "
          "hyperfine times: the work itself, far less stretched than wall time when other "
          "processes share the VM.")
        w("")
        w("| # | measurement | LXC 5.0.2 CPU | lxcpy CPU | lxcpy/LXC |")
        w("|---|---|---|---|---|")
        for rid, label, a, b in cpu_rows:
            w(f"| {rid} | {label} | {fmt(a)} | {fmt(b)} | {ratio(a, b)} |")
        w("")

    w("## Floors (same run)")
    w("")
    w("| command | median | mean | min | max |")
    w("|---|---|---|---|---|")
    for case in ("execute", "execute_veth"):
        for label, r in latest.get("cases", {}).get(case, {}).get("floors", {}).items():
            if "median" in r:
                w(f"| `{label}` | {fmt(r['median'])} | {fmt(r['mean'])} | {fmt(r['min'])} | "
                  f"{fmt(r['max'])} |")
    w("")
    w("`python` is bench/.venv-bench/bin/python, the interpreter lxcpy's commands run with.")
    w("")

    w("## Goals")
    w("")
    g_now = goals(latest)
    g_before = {g[0]: g for g in goals(before)} if before else {}
    if before:
        w("| goal | before | now | verdict now |")
        w("|---|---|---|---|")
        for text, measured, _v, verdict in g_now:
            gb = g_before.get(text)
            w(f"| {text} | {gb[1] + ' (' + gb[3] + ')' if gb else 'n/a'} | {measured} | "
              f"**{verdict}** |")
    else:
        w("| goal | measured | verdict |")
        w("|---|---|---|")
        for text, measured, _v, verdict in g_now:
            w(f"| {text} | {measured} | **{verdict}** |")
    w("")
    w("Issue 18's goals, each a ratio of medians measured in the same interleaved run (the "
      "shared VM's speed drifts between runs; a loaded run stretches the longer Python "
      "processes more than C's, so ratios move with the load too: see the load average above).")
    w("")

    prof = latest.get("profile", {})
    if prof:
        w("## Profile: `python -X importtime` of lxcpy's `lxc-execute` (this run)")
        w("")
        for label, title in (("execute_veth", "with one veth (the slowest case)"),
                             ("execute", "no network"),
                             ("state", "`lxc-state`, stopped")):
            p = prof.get(label)
            if not p:
                continue
            w(f"### {title}: {p['modules']} modules, {p['total_self_ms']:.1f} ms of import time "
              f"(exit {p['rc']})")
            w("")
            if "top_extra" in p:
                w(f"Beyond its floor (`python -c '{p['floor']}'`: {p['floor_modules']} modules, "
                  f"{p['floor_self_ms']:.1f} ms): {p['extra_modules']} more modules, "
                  f"{p['extra_self_ms']:.1f} ms of import time, of which lxcpy's own modules "
                  f"{p['lxcpy_self_ms']:.1f} ms (importtime's numbers include its own overhead). "
                  "Top 15 of those by self time:")
                w("")
                w("| module | self ms | cumulative ms |")
                w("|---|---|---|")
                for mod, sm, cum in p["top_extra"]:
                    w(f"| `{mod}` | {sm:.2f} | {cum:.2f} |")
                w("")
            if label == "state":
                continue
            w("Top 15 by own (self) time:")
            w("")
            w("| module | self ms | cumulative ms |")
            w("|---|---|---|")
            for mod, s, cum in p["top_self"]:
                w(f"| `{mod}` | {s:.2f} | {cum:.2f} |")
            w("")
            w("Top 15 top-level imports by cumulative time:")
            w("")
            w("| module | self ms | cumulative ms |")
            w("|---|---|---|")
            for mod, s, cum in p["top_cumulative"]:
                w(f"| `{mod}` | {s:.2f} | {cum:.2f} |")
            w("")
    blockers = obstacles(latest)
    if blockers:
        w("## What stands in the way of the missed goals (this run's numbers)")
        w("")
        L.extend(blockers)
        w("")
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        w(notes.read_text().rstrip())
        w("")
    w("## Reproduce")
    w("")
    w("    bash bench/run.sh                # as root; under 15 minutes; writes this file")
    w("    bash bench/run.sh --save-before  # also keep the run as the \"before\" column")
    w("")
    w("Raw hyperfine JSON: `bench/results/raw/`; the summaries: `bench/results/latest.json`, "
      "`bench/results/before.json`.")
    return "\n".join(L) + "\n"


def get_dict(data: dict, *keys: str) -> dict | None:
    d = data.get("cases", {})
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d if isinstance(d, dict) else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotate")
    ap.add_argument("--install-mode", default="?")
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--latest")
    ap.add_argument("--before")
    ap.add_argument("--output")
    a = ap.parse_args()
    if a.annotate:
        annotate(Path(a.annotate), a.install_mode, a.seconds)
        return 0
    latest = json.loads(Path(a.latest).read_text())
    before = None
    if a.before and Path(a.before).exists():
        before = json.loads(Path(a.before).read_text())
    Path(a.output).write_text(render(latest, before))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
