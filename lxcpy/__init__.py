"""lxcpy: the classic LXC toolsuite in Python.

Data flows one way: cli -> container -> (config, runtime) -> (kernel, cgroups, net, rootfs).

``import lxcpy as lxc`` is python3-lxc's API (``lxc.Container``, ``lxc.list_containers``,
``lxc.attach_run_command``, the ``LXC_ATTACH_*``/``CLONE_*`` constants, ...), loaded from
lxcpy.api on first use so that the commands never pay for it.
"""

__version__ = "0.1.0"

# python3-lxc's module names (lxcpy.api); anything else (e.g. a submodule not imported yet,
# which `from lxcpy import kernel` probes for) must not load the API
_API = frozenset((
    "Container", "ContainerNetwork", "ContainerNetworkList", "list_containers",
    "attach_run_command", "attach_run_shell", "arch_to_personality", "get_global_config_item",
    "default_config_path", "version", "CLONE_NEWNS", "CLONE_NEWCGROUP", "CLONE_NEWUTS",
    "CLONE_NEWIPC", "CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWNET", "LXC_ATTACH_KEEP_ENV",
    "LXC_ATTACH_CLEAR_ENV", "LXC_ATTACH_MOVE_TO_CGROUP", "LXC_ATTACH_DROP_CAPABILITIES",
    "LXC_ATTACH_SET_PERSONALITY", "LXC_ATTACH_LSM_EXEC", "LXC_ATTACH_REMOUNT_PROC_SYS",
    "LXC_ATTACH_LSM_NOW", "LXC_ATTACH_DEFAULT", "LXC_CLONE_KEEPNAME", "LXC_CLONE_KEEPMACADDR",
    "LXC_CLONE_SNAPSHOT", "LXC_CLONE_KEEPBDEVTYPE", "LXC_CLONE_MAYBE_SNAPSHOT",
    "LXC_CREATE_QUIET"))


def __getattr__(name: str) -> object:
    if name in _API:
        import importlib

        return getattr(importlib.import_module("lxcpy.api"), name)
    raise AttributeError(f"module 'lxcpy' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
