"""The supervisor's and the container init's memory, 20 running (issue 18; bench case 7 alone).

Not a test: a probe to compare installs. For each install (``LABEL=BINDIR``; ``c`` for
C LXC's /usr/bin) it starts 20 ``lxc-execute -d -- sleep 1000`` in parallel in a throwaway
lxcpath, reads /proc/PID/smaps_rollup of every supervisor (the init's parent) and init,
prints the medians of PSS/USS/RSS (KiB) at RUNNING and again after ``--req N`` rounds of
``lxc-info`` per container and one ``lxc-ps`` (bench case 7 runs after case 6's requests),
then stops them. Installs are measured one at a time (PSS splits shared pages among the
running processes), in a shuffled order each round. ``--floor`` adds the interpreter's
floors: 20 forks whose parent exits (the supervisor's shape), 20 pairs of a daemon and its
child (supervisor + init), and 20 such pairs after importing what a start imports.
``--extra FILE`` appends config lines (e.g. a rootfs) to every container's config.

Run as root in a network namespace of its own:
    unshare --net -- sh -c 'ip link set lo up && exec python3 bench/footprint.py \\
        --rounds 3 --req 5 --floor before=/tmp/v1/bin after=/tmp/v2/bin C=c'
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from harness import smaps_rollup  # bench/ is this script's directory

N = 20
CONF = ("lxc.uts.name = {name}\nlxc.console.path = none\nlxc.tty.max = 0\nlxc.pty.max = 0\n"
        "lxc.net.0.type = empty\n")
KEYS = ("Pss", "Uss", "Rss")
# what a daemonised lxc-execute holds when it forks the init (the floor's third line)
START_IMPORTS = ("lxcpy.cli.execute", "lxcpy.container", "lxcpy.config.parser",
                 "lxcpy.runtime.supervisor", "lxcpy.runtime.daemon", "lxcpy.runtime.commands",
                 "lxcpy.runtime.child", "lxcpy.runtime.init", "lxcpy.rootfs.mounts",
                 "lxcpy.runtime.process", "lxcpy.cgroups.v1", "lxcpy.cgroups.v2")


def rollup(pid: int) -> dict[str, int]:
    out = smaps_rollup(pid)
    out["Uss"] = out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)
    return out


def ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=120)
    if check and p.returncode:
        raise RuntimeError(f"{' '.join(argv)}: rc {p.returncode}: {p.stderr.strip()[-400:]}")
    return p


def med(values: list[int]) -> int:
    return int(statistics.median(values)) if values else -1


def measure(label: str, bindir: str, work: str, req: int, extra: str) -> dict:
    b = "/usr/bin" if bindir == "c" else bindir
    lp = os.path.join(work, label)
    os.makedirs(lp, exist_ok=True)
    # C LXC and lxcpy name their cgroups alike: names differ by implementation and install
    names = [f"fp{'C' if bindir == 'c' else 'P'}{label[:6]}{i:02d}" for i in range(N)]
    for n in names:
        if not os.path.exists(os.path.join(lp, n, "config")):
            conf = os.path.join(work, n + ".conf")
            with open(conf, "w") as f:
                f.write(CONF.format(name=n) + extra)
            run([f"{b}/lxc-create", "-P", lp, "-n", n, "-t", "none", "-f", conf])

    def snap(inits: list[int]) -> dict[str, tuple[int, int]]:
        sups = [rollup(ppid(p)) for p in inits]
        own = [rollup(p) for p in inits]
        return {k: (med([x[k] for x in sups]), med([x[k] for x in own])) for k in KEYS}

    res: dict = {}
    try:
        with ThreadPoolExecutor(N) as pool:
            done = list(pool.map(lambda n: run([f"{b}/lxc-execute", "-P", lp, "-d", "-n", n,
                                                "--", "sleep", "1000"], False), names))
        failed = [p.stderr.strip() for p in done if p.returncode]
        if failed:
            raise RuntimeError(f"{label}: start failed: {failed[0][-400:]}")
        inits = [int(run([f"{b}/lxc-info", "-P", lp, "-n", n, "-p", "-H"]).stdout.split()[-1])
                 for n in names]
        time.sleep(0.5)
        res["running"] = snap(inits)
        if req:
            for _ in range(req):
                for n in names:
                    run([f"{b}/lxc-info", "-P", lp, "-n", n], False)
            if bindir != "c":
                run([f"{b}/lxc-ps", "-P", lp], False)
            res[f"after {req} lxc-info + lxc-ps"] = snap(inits)
    finally:
        with ThreadPoolExecutor(N) as pool:
            list(pool.map(lambda n: run([f"{b}/lxc-stop", "-P", lp, "-k", "-n", n], False),
                          names))
    return res


FLOOR_FORK = ("import os, sys, time\n"
              "{imports}\n"
              "if os.fork() == 0:\n"
              "    {pair}\n"
              "    print(os.getpid(), flush=True); sys.stdout.close(); os.close(1)\n"
              "    time.sleep(100)\n")


def floor(python: str, pair: bool, imports: str = "") -> dict[str, int]:
    """20 bare interpreters forked as the supervisor is (the parent exits); with ``pair``
    each forks once more, both idle (supervisor + init); PSS/USS/RSS medians."""
    code = FLOOR_FORK.format(imports=imports, pair="os.fork()" if pair else "pass")
    r, w = os.pipe()
    procs = [subprocess.Popen([python, "-I", "-S", "-c", code], stdout=w) for _ in range(N)]
    os.close(w)
    want = N * (2 if pair else 1)
    data = b""
    with os.fdopen(r, "rb") as reader:
        while data.count(b"\n") < want:
            chunk = reader.read1(4096)
            if not chunk:
                break
            data += chunk
    pids = [int(x) for x in data.split()]
    try:
        time.sleep(0.5)
        rows = [rollup(p) for p in pids]
        return {k: med([x[k] for x in rows]) for k in KEYS}
    finally:
        for pid in pids:  # ours: the forks we started (the parents exited already)
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        for p in procs:
            p.wait()


def start_imports(python: str) -> str:
    site = subprocess.run([python, "-c", "import lxcpy, os; "
                           "print(os.path.dirname(os.path.dirname(lxcpy.__file__)))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return f"sys.path.insert(0, {site!r})\n" + "\n".join(f"import {m}" for m in START_IMPORTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--req", type=int, default=0, help="lxc-info rounds before a 2nd reading")
    ap.add_argument("--floor", action="store_true")
    ap.add_argument("--extra", help="a file of config lines added to every container")
    ap.add_argument("installs", nargs="+", metavar="LABEL=BINDIR")
    args = ap.parse_args()
    import socket

    if [n for _, n in socket.if_nameindex() if n != "lo"]:
        sys.exit("footprint.py: run it in a network namespace of its own (unshare --net)")
    extra = open(args.extra).read() if args.extra else ""  # noqa: SIM115
    installs = [tuple(a.split("=", 1)) for a in args.installs]
    work = tempfile.mkdtemp(prefix="lxcpy-footprint.")
    results: dict[str, list[dict]] = {label: [] for label, _ in installs}
    try:
        for rnd in range(args.rounds):
            order = installs[:]
            random.shuffle(order)
            for label, bindir in order:
                res = measure(label, bindir, work, args.req, extra)
                results[label].append(res)
                print(f"round {rnd} {label}: " + "; ".join(
                    f"{phase}: " + " ".join(f"{k} {v[0]}/{v[1]}" for k, v in row.items())
                    for phase, row in res.items()), flush=True)
        if args.floor:
            for label, bindir in installs:
                if bindir == "c":
                    continue
                py = os.path.join(bindir, "python")
                print(f"floor {label}: one fork (parent exits) {floor(py, False)}; "
                      f"pair, each {floor(py, True)}; pair after a start's imports, each "
                      f"{floor(py, True, start_imports(py))}", flush=True)
        print("== medians over the rounds, KiB, supervisor/init")
        for label, rows in results.items():
            for phase in rows[0]:
                print(f"{label:10s} {phase:28s} " + "  ".join(
                    f"{k} {med([r[phase][k][0] for r in rows])}/"
                    f"{med([r[phase][k][1] for r in rows])}" for k in KEYS))
    finally:
        for label, bindir in installs:
            if bindir == "c":  # C LXC's lock directory of the throwaway lxcpath
                shutil.rmtree(f"/run/lxc/lock{os.path.join(work, label)}", ignore_errors=True)
                continue
            # lxcpy's run directory of the throwaway lxcpath (/run/lxcpy/HASH)
            p = subprocess.run([os.path.join(bindir, "python"), "-c",
                                "import sys; from lxcpy.paths import lxcpath_rundir; "
                                "print(lxcpath_rundir(sys.argv[1]))",
                                os.path.join(work, label)], capture_output=True, text=True)
            if p.returncode == 0 and p.stdout.strip():
                shutil.rmtree(p.stdout.strip(), ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        try:
            os.removedirs(f"/run/lxc/lock{work}")
        except OSError:
            pass


if __name__ == "__main__":
    main()
