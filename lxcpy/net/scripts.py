"""``lxc.net.N.script.up`` / ``script.down``: run on the host with LXC's arguments."""

from __future__ import annotations

import os
import subprocess

from lxcpy.errors import NetworkError
from lxcpy.net.names import error

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from typing import Any

    from lxcpy.config.model import NetConfig

SCRIPT_TIMEOUT = 60.0


def script_command(net: NetConfig, rec: dict[str, Any] | None, container_name: str,
                   phase: str, script: str) -> tuple[list[str], dict[str, str]]:
    """argv and extra environment for one script: ``script NAME net up TYPE HOSTIFNAME``.

    HOSTIFNAME is the host end of a veth, else the link (macvlan, vlan, phys); ``empty``
    has none. LXC runs the value through a shell, so ``script.up = /x --flag`` works.
    """
    ifname = None
    if rec is not None and net.type == "veth":
        ifname = rec.get("host")
    elif net.type in ("macvlan", "vlan", "phys"):
        ifname = net.link
    args = [container_name, "net", phase, str(net.type)]
    if ifname:
        args.append(ifname)
    argv = ["/bin/sh", "-c", f'{script} "$@"', script, *args]
    env = {"LXC_NAME": container_name, "LXC_NET_TYPE": str(net.type),
           "LXC_HOOK_TYPE": phase, "LXC_HOOK_SECTION": "net"}
    if net.link:
        env["LXC_NET_PARENT"] = net.link
    if net.type == "veth" and ifname:
        env["LXC_NET_PEER"] = ifname
    return argv, env


def run_scripts(networks: list[NetConfig], records: list[dict[str, Any]],
                container_name: str, phase: str) -> None:
    """Every interface's ``script.<phase>`` in config order.

    ``up``: the first failure raises. ``down``: every script runs; then the first
    failure raises (the caller logs it and goes on tearing down).
    """
    if phase not in ("up", "down"):
        raise ValueError(f"phase must be 'up' or 'down', not {phase!r}")
    by_index = {r.get("index"): r for r in records}
    first: NetworkError | None = None
    for net in networks:
        script = net.script_up if phase == "up" else net.script_down
        if not script:
            continue
        argv, extra = script_command(net, by_index.get(net.index), container_name, phase,
                                     script)
        problem = _run(argv, {**os.environ, **extra})
        if problem is None:
            continue
        exc = error(net, f"script.{phase} '{script}' {problem}")
        if phase == "up":
            raise exc
        first = first or exc
    if first is not None:
        raise first


def _run(argv: list[str], env: dict[str, str]) -> str | None:
    """None on success, else why it failed (with the script's last stderr line)."""
    try:
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=SCRIPT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f"did not finish within {SCRIPT_TIMEOUT:g} s"
    except OSError as exc:
        return f"cannot run: {exc.strerror}"
    out = proc.stdout.decode(errors="replace").strip()
    err = proc.stderr.decode(errors="replace").strip()
    if out or err:
        from lxcpy.log import log

        log.debug("%s: stdout %r stderr %r", argv[3], out, err)
    if proc.returncode == 0:
        return None
    status = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
              else f"failed with exit status {proc.returncode}")
    last = err.splitlines()[-1] if err else ""
    return f"{status}: {last}" if last else status
