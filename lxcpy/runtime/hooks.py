"""lxc.hook.*: run each hook like LXC (``sh -c 'HOOK NAME lxc TYPE'`` with LXC_* variables)."""

from __future__ import annotations

import os
import shlex
import subprocess

from lxcpy.config.model import ContainerConfig
from lxcpy.errors import LxcError

TYPE_CHECKING = False  # no typing at run time (the container's first process imports us)
if TYPE_CHECKING:
    from typing import Any


def hook_env(name: str, cfg: ContainerConfig, hook: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "LXC_NAME": name,
        "LXC_HOOK_TYPE": hook,
        "LXC_HOOK_SECTION": "lxc",
        "LXC_HOOK_VERSION": str(cfg.hook_version),
        "LXC_CONFIG_FILE": cfg.path or "",
        "LXC_ROOTFS_PATH": cfg.rootfs_path or cfg.chroot or "",
        "LXC_ROOTFS_MOUNT": cfg.rootfs_path or cfg.chroot or "",
    })
    if cfg.log_level:
        env["LXC_LOG_LEVEL"] = cfg.log_level
    return env


def run_hook(name: str, cfg: ContainerConfig, hook: str, commands: list[str],
             args: list[str] | tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
    """Run every command of one hook type; the first failure raises (and aborts a start).
    ``args``: appended to each command line, after LXC's three (lxc-copy's clone hooks);
    ``env``: variables that replace hook_env's."""
    env = {**hook_env(name, cfg, hook), **(env or {})}
    if hook not in ("pre-mount", "mount", "autodev", "start"):  # the container's have no log
        from lxcpy.log import log

        log.info("Running %s hooks of \"%s\"", hook, name)
    for command in commands:
        if cfg.hook_version == 1:
            line = command  # version 1: arguments only in the environment
        else:
            line = f"{command} {shlex.quote(name)} lxc {hook}"
        line += "".join(f" {shlex.quote(arg)}" for arg in args)  # LXC: in both versions
        try:
            result = subprocess.run(["/bin/sh", "-c", line], env=env, stdin=subprocess.DEVNULL,
                                    close_fds=True, check=False)
        except OSError as exc:
            raise LxcError(f"lxc.hook.{hook}: cannot run '{command}': {exc.strerror}") from None
        if result.returncode != 0:
            raise LxcError(f"lxc.hook.{hook}: '{command}' failed with status "
                           f"{result.returncode}")


# ---- OCI hooks (lxcpy-oci): config.json's, with the container's state on stdin ----------

def run_oci_hooks(kind: str, hooks: list[dict[str, Any]], state: dict[str, Any],
                  cwd: str | None = None) -> None:
    """OCI hooks of one kind, in order, each with the state JSON on stdin, in the namespaces
    of whoever calls this (the runtime's, or the container's for createContainer and
    startContainer); the first failure raises LxcError."""
    from lxcpy import jsonlite as json

    data = json.dumps(state).encode()
    for hook in hooks:
        path = str(hook["path"])
        args = [str(a) for a in hook.get("args") or [path]]
        env = dict(str(e).split("=", 1) for e in hook.get("env") or [] if "=" in str(e))
        timeout = hook.get("timeout")
        try:
            proc = subprocess.run(args, executable=path, input=data, env=env, cwd=cwd,
                                  timeout=timeout, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, close_fds=True)
        except subprocess.TimeoutExpired:
            raise LxcError(f"{kind} hook {path}: timed out after {timeout}s") from None
        except OSError as exc:
            raise LxcError(f"{kind} hook {path}: {exc.strerror}") from None
        if proc.returncode != 0:
            why = proc.stderr.decode(errors="replace").strip().splitlines()
            raise LxcError(f"{kind} hook {path} exited with status {proc.returncode}"
                           + (f": {why[-1]}" if why else ""))


def container_hooks(cfg: ContainerConfig, kind: str, status: str, cwd: str | None = None
                    ) -> None:
    """createContainer / startContainer, run by the container's first process: the state
    says its PID as it sees itself (runc's os.Getpid() there)."""
    hooks = cfg.oci_hooks.get(kind)
    if hooks:
        state = dict(cfg.oci_state, status=status, pid=os.getpid())
        run_oci_hooks(kind, hooks, state, cwd)
