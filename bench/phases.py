"""Where `lxc-execute -n NAME -- /bin/true` spends its time, phase by phase (medians).

    python bench/phases.py LXCPATH NAME [ROUNDS]     # as root, in a throwaway netns
    python bench/phases.py LXCPATH NAME ROUNDS PYTHON2 NAME2 ...   # interleaved columns

Each round is a fresh interpreter (this file re-run with --one) that first imports every
module lxc-execute would import (the "imports" phase), then runs lxc-execute's main with
the supervisor's steps wrapped in timers. The interpreter's own start is measured apart
(`python -IS -c pass`). Timers only: nothing else is changed.

With more (PYTHON, NAME) pairs (other installs: a "before" venv's python and a container
made by it), each round runs every install once, in a shuffled order, and the medians
are printed side by side: the only comparison that holds on a shared, loaded machine.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time

STEPS = ["_setup_cgroup", "_spawn"]  # Supervisor methods timed on their own


def one(lxcpath: str, name: str, modules: list[str]) -> dict[str, float]:
    t0 = time.perf_counter()
    try:  # as lxc-execute does before its imports: the kernel's cgroup wait meanwhile
        from lxcpy.cgroups import warm

        warm.start()
    except ImportError:
        pass
    for m in modules:
        try:
            __import__(m)
        except ImportError:
            pass
    t1 = time.perf_counter()
    from lxcpy.cli import execute
    from lxcpy.runtime import supervisor as sv

    marks: list[tuple[str, float]] = [("imports", t1)]

    def timed(label: str, fn):  # noqa: ANN001, ANN202
        def wrapper(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            marks.append((f"before {label}", time.perf_counter()))
            try:
                return fn(*a, **kw)
            finally:
                marks.append((label, time.perf_counter()))
        return wrapper

    for step in STEPS:
        setattr(sv.Supervisor, step, timed(step, getattr(sv.Supervisor, step)))
    expect = sv.Supervisor._expect

    def timed_expect(self, *names, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        out = expect(self, *names, **kw)
        marks.append((f"child reached {'/'.join(map(str, names))}", time.perf_counter()))
        return out

    sv.Supervisor._expect = timed_expect
    sys.argv = ["lxc-execute", "-P", lxcpath, "-n", name, "--", "/bin/true"]
    import lxcpy.cli.common as common

    common.exit_now = lambda code=0: None  # type: ignore[assignment]  # stay to report
    try:
        execute.main()
    except SystemExit:
        pass
    end = time.perf_counter()
    phases: dict[str, float] = {}
    last = t0
    for label, t in marks + [("teardown and exit status", end)]:
        key = label if not label.startswith("before ") else f"between steps ({label[7:]})"
        phases[key] = phases.get(key, 0.0) + (t - last) * 1e3
        last = t
    return phases


def modules_of(python: str, lxcpath: str, name: str) -> str:
    """The modules a real lxc-execute of this install imports (one run of it)."""
    probe = ("import sys, runpy; sys.argv = ['lxc-execute', '-P', %r, '-n', %r, '--', "
             "'/bin/true']\nimport lxcpy.cli.common as c\nc.exit_now = lambda code=0: None\n"
             "from lxcpy.cli import execute\ntry:\n    execute.main()\nexcept SystemExit:\n"
             "    pass\nprint(','.join(sorted(m for m in sys.modules if m != '__main__')))")
    return subprocess.run([python, "-c", probe % (lxcpath, name)], check=True,
                          env=_env(python), capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def _env(python: str) -> dict[str, str]:
    env = dict(os.environ)
    if python == sys.executable:
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    else:
        env.pop("PYTHONPATH", None)  # another install: its own site-packages
    return env


def main() -> int:
    if sys.argv[1] == "--one":
        lxcpath, name, mods = sys.argv[2], sys.argv[3], sys.argv[4].split(",")
        print(json.dumps(one(lxcpath, name, mods)))
        return 0
    lxcpath, name = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    others = sys.argv[4:]
    installs = [(sys.executable, name), *zip(others[::2], others[1::2], strict=True)]
    py = [sys.executable, "-IS"] if "site" not in sys.modules else [sys.executable]
    mods = [modules_of(python, lxcpath, n) for python, n in installs]
    runs: list[list[dict[str, float]]] = [[] for _ in installs]
    bare: list[float] = []
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run([*py, "-c", "pass"], check=True)
        bare.append((time.perf_counter() - t) * 1e3)
        order = list(range(len(installs)))
        random.shuffle(order)
        for i in order:
            python, n = installs[i]
            out = subprocess.run([python, __file__, "--one", lxcpath, n, mods[i]],
                                 env=_env(python), check=True, capture_output=True,
                                 text=True).stdout
            runs[i].append(json.loads(out.strip().splitlines()[-1]))
    print(f"interpreter start (`python -IS -c pass`, whole process): "
          f"{statistics.median(bare):.2f} ms")
    if len(installs) > 1:
        print("phase (ms):" + "".join(f"  [{i}] {p} {n}" for i, (p, n) in enumerate(installs)))

    def row(label: str, values: list[float]) -> None:
        if len(values) == 1:
            print(f"{label}: {values[0]:.2f} ms")
        else:
            print(f"{label:42s}" + "".join(f"{v:10.2f}" for v in values))

    for key in runs[0][0]:
        row(key, [statistics.median(r.get(key, 0.0) for r in rs) for rs in runs])
    row("after the imports", [statistics.median(sum(v for k, v in r.items() if k != "imports")
                                                for r in rs) for rs in runs])
    totals = [statistics.median(sum(r.values()) for r in rs) for rs in runs]
    if len(installs) == 1:
        print(f"total after the interpreter's start: {totals[0]:.2f} ms ({rounds} rounds)")
    else:
        row(f"total after the interpreter's start ({rounds} rounds)", totals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
